import { mulberry32, gaussianSource } from './test-weights';
it('timing', () => {
  const u = mulberry32(1);
  let t0 = performance.now();
  let s = 0;
  for (let i = 0; i < 1e7; i++) s += u();
  console.log('uniform 1e7', performance.now() - t0);
  t0 = performance.now();
  const g = gaussianSource(1);
  for (let i = 0; i < 1e6; i++) s += g();
  console.log('gauss 1e6', performance.now() - t0);
  t0 = performance.now();
  const a = new Float32Array(1e7);
  for (let i = 0; i < 1e7; i++) a[i] = u();
  console.log('fill 1e7', performance.now() - t0, s > 0);
});
