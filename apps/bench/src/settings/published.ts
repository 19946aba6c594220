// The authors' published tabular results (their rebuttal of Qiao et al., ICLR 2025; quoted in
// docs/method.md): L2 distance to their retrain (which divides by |B \ U|), mean and std over
// their 6 seeds; times in seconds on their GPU server; storage in MB.

export interface PublishedRow {
  readonly deletions: number;
  /** As compare names the method. */
  readonly method: 'hessian-free' | 'newton' | 'jackknife';
  readonly distance: { readonly mean: number; readonly std: number };
  readonly unlearnSeconds: number;
  readonly storageMB: number;
  readonly precomputeSeconds: number;
}

const row = (
  deletions: number,
  method: PublishedRow['method'],
  mean: number,
  std: number,
  unlearnSeconds: number,
  storageMB: number,
  precomputeSeconds: number,
): PublishedRow => ({
  deletions,
  method,
  distance: { mean, std },
  unlearnSeconds,
  storageMB,
  precomputeSeconds,
});

export const PUBLISHED_WINE: readonly PublishedRow[] = [
  row(7, 'jackknife', 1.3287, 2.6848, 0.31, 9.12, 155.01),
  row(7, 'newton', 0.714, 0.6635, 7.55, 9.12, 153.16),
  row(7, 'hessian-free', 0.0426, 0.0131, 0.0004, 1.06, 11.56),
  row(14, 'jackknife', 0.6524, 0.4771, 0.31, 9.12, 155.01),
  row(14, 'newton', 0.8822, 1.6077, 14.34, 9.12, 153.16),
  row(14, 'hessian-free', 0.0874, 0.0229, 0.0004, 1.06, 11.56),
];
