import { tapResponse, openaiExtractor } from '../instrumentations/common/dist/index.js';
import { trace } from '@opentelemetry/api';
const span = trace.getTracer('x').startSpan('s');
async function check(label, make) {
  const ref = make();
  for (let i = 0; i < 20; i++) { await new Promise(r => setTimeout(r, 5)); gc(); await new Promise(r => setTimeout(r, 5)); if (!ref.deref()) break; }
  console.log(label, ref.deref() === undefined ? 'collected' : 'alive');
}
await check('plain untouched', () => new WeakRef(new Response('data: x\n\n')));
await check('plain body accessed', () => { const r = new Response('data: x\n\n'); r.body; return new WeakRef(r); });
await check('tapped untouched', () => new WeakRef(tapResponse(new Response('data: x\n\n'), span, openaiExtractor)));
await check('tapped body accessed', () => { const r = tapResponse(new Response('data: x\n\n'), span, openaiExtractor); r.body; return new WeakRef(r); });
await check('plain reader', () => { const r = new Response('data: x\n\n'); r.body.getReader(); return new WeakRef(r); });
