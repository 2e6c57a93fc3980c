async function check(label, make) {
  const ref = make();
  for (let i = 0; i < 20; i++) { await new Promise(r => setTimeout(r, 5)); gc(); await new Promise(r => setTimeout(r, 5)); if (!ref.deref()) break; }
  console.log(label, ref.deref() === undefined ? 'collected' : 'alive');
}
await check('object', () => new WeakRef({a:1}));
await check('plain untouched', () => new WeakRef(new Response('data: x\n\n')));
await check('plain null body', () => new WeakRef(new Response(null)));
await check('headers', () => new WeakRef(new Headers()));
