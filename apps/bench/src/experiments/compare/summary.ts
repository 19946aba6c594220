// The comparison's summary over seeds: what the report renders and the published tables sit beside.

export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly values: number[];
}

export interface SummaryEntry {
  readonly setting: string;
  readonly method: string;
  readonly model: string;
  readonly d: number;
  readonly n: number;
  readonly seeds: number[];
  readonly prepare: { readonly seconds: Stat; readonly bytes: number };
  readonly perDeletion: {
    readonly m: number;
    readonly distance: Stat;
    /** Over the seeds where that retrain ran (none: values is empty, mean NaN). */
    readonly distanceCode: Stat;
    /** distance / distance of the original model (the shift retraining makes), per seed. */
    readonly ratio: Stat;
    readonly seconds: Stat;
    readonly accuracy: { readonly test: Stat; readonly forget: Stat; readonly remain: Stat };
  }[];
}
