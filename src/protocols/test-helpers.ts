// Shared by the protocol decoder tests: input cut into pieces at given points, to feed a decoder in any split.
// Not used outside tests.

/** bytes cut at each point (taken modulo length + 1, repeats dropped, in order); empty pieces are kept. */
export function cutAt(bytes: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of sorted) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}
