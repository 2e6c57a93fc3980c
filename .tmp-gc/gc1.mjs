import { tapResponse, openaiExtractor } from '/work/main/instrumentations/common/dist/index.js';
import { trace } from '@opentelemetry/api';
const span = trace.getTracer('x').startSpan('s');
async function check(label, make) {
  const [reader, ref] = make();
  await reader.read();
  for (let i = 0; i < 20; i++) { await new Promise(r => setTimeout(r, 5)); gc(); await new Promise(r => setTimeout(r, 5)); if (!ref.deref()) break; }
  console.log(label, ref.deref() === undefined ? 'collected' : 'alive');
}
await check('plain string', () => { const r = new Response('data: x\n\n'); return [r.body.getReader(), new WeakRef(r)]; });
await check('plain stream', () => { const r = new Response(new ReadableStream({pull(c){c.enqueue(new Uint8Array([1]))}})); return [r.body.getReader(), new WeakRef(r)]; });
await check('tapped string', () => { const r = tapResponse(new Response('data: x\n\n'), span, openaiExtractor); return [r.body.getReader(), new WeakRef(r)]; });
await check('tapped nobody', () => { const r = tapResponse(new Response('data: x\n\n'), span, openaiExtractor); const b = r.body; return [{read: async()=>{}}, new WeakRef(r)]; });
