// Which target pairs are shadow pairs, by content: the attack must not be scored on samples it
// was trained on, and a copy of the shadow arrays is the same samples as the arrays themselves.

/** Target rows whose (original, unlearned) posteriors equal a shadow row's, exactly. */
export function sharedRows(
  shadow: { original: ArrayLike<number>; unlearned: ArrayLike<number> },
  target: { original: ArrayLike<number>; unlearned: ArrayLike<number> },
  classes: number,
): number[] {
  const keys = new Set<string>();
  const rows = (p: typeof shadow) => Math.floor(p.original.length / classes);
  for (let r = 0; r < rows(shadow); r++) {
    if (!saturated(shadow, r, classes)) keys.add(rowKey(shadow, r, classes));
  }
  const shared: number[] = [];
  for (let r = 0; r < rows(target); r++) {
    if (keys.has(rowKey(target, r, classes))) shared.push(r);
  }
  return shared;
}

/**
 * A row of hard 0/1 posteriors can recur in different samples of an overconfident model, so it
 * identifies nothing; every other row, at double precision, is one sample's.
 */
function saturated(
  p: { original: ArrayLike<number>; unlearned: ArrayLike<number> },
  r: number,
  classes: number,
): boolean {
  for (let k = r * classes; k < (r + 1) * classes; k++) {
    for (const v of [p.original[k], p.unlearned[k]]) if (v !== 0 && v !== 1) return false;
  }
  return true;
}

function rowKey(
  p: { original: ArrayLike<number>; unlearned: ArrayLike<number> },
  r: number,
  classes: number,
): string {
  const parts: number[] = [];
  for (let k = r * classes; k < (r + 1) * classes; k++) parts.push(p.original[k]!, p.unlearned[k]!);
  return parts.join(',');
}
