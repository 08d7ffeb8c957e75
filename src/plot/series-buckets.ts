// A time series kept in bounded memory however long the file: points fall into buckets of equal width aligned
// on the epoch; when there are too many buckets the width doubles and neighbours merge. Each bucket keeps its
// first, last, lowest and highest point (with their times), so a later pass can draw every peak.

export interface Bucket {
  /** Bucket number: floor(time / width). */
  index: number;
  firstT: number;
  firstV: number;
  lastT: number;
  lastV: number;
  minT: number;
  minV: number;
  maxT: number;
  maxV: number;
}

function bucketOf(index: number, t: number, v: number): Bucket {
  return { index, firstT: t, firstV: v, lastT: t, lastV: v, minT: t, minV: v, maxT: t, maxV: v };
}

/** Folds `b` into `a` (same bucket number, or a coarser one that holds both). */
function merge(a: Bucket, b: Bucket): void {
  if (b.firstT < a.firstT) {
    a.firstT = b.firstT;
    a.firstV = b.firstV;
  }
  if (b.lastT >= a.lastT) {
    a.lastT = b.lastT;
    a.lastV = b.lastV;
  }
  if (b.minV < a.minV) {
    a.minT = b.minT;
    a.minV = b.minV;
  }
  if (b.maxV > a.maxV) {
    a.maxT = b.maxT;
    a.maxV = b.maxV;
  }
}

export class SeriesBuckets {
  /** Bucket width in ms; starts fine enough to keep every point of a 1 kHz source apart. */
  #width = 1;
  #buckets: Bucket[] = [];
  readonly #maxBuckets: number;

  constructor(maxBuckets = 4096) {
    this.#maxBuckets = maxBuckets;
  }

  add(t: number, v: number): void {
    if (!Number.isFinite(v)) return; // NaN and ±inf are gaps, not values to draw
    const index = Math.floor(t / this.#width);
    const last = this.#buckets.at(-1);
    if (last !== undefined && last.index === index) merge(last, bucketOf(index, t, v));
    else this.#buckets.push(bucketOf(index, t, v));
    if (this.#buckets.length > this.#maxBuckets) this.#coarsen();
  }

  /** The buckets in time order. */
  buckets(): readonly Bucket[] {
    this.#compact(this.#width);
    return this.#buckets;
  }

  #coarsen(): void {
    // Double until the series fits in half the budget, so coarsening stays rare.
    let width = this.#width;
    const first = this.#buckets.reduce((m, b) => Math.min(m, b.firstT), Infinity);
    const last = this.#buckets.reduce((m, b) => Math.max(m, b.lastT), -Infinity);
    do width *= 2;
    while ((last - first) / width > this.#maxBuckets / 2);
    this.#width = width;
    this.#compact(width);
  }

  /** Sorts the buckets (rows of one series may come slightly out of order) and merges those of one width. */
  #compact(width: number): void {
    const sorted = this.#buckets.sort((a, b) => a.firstT - b.firstT);
    const out: Bucket[] = [];
    for (const b of sorted) {
      const index = Math.floor(b.firstT / width);
      const prev = out.at(-1);
      if (prev !== undefined && prev.index === index) merge(prev, b);
      else {
        b.index = index;
        out.push(b);
      }
    }
    this.#buckets = out;
  }
}
