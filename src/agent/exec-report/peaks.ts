// Peaks of a process tree's sum, from samples each process takes at its own times. Pure code; runs in the
// exec report's output worker.

/** A sample: seconds (any origin shared by all series) and a value. */
export type Sample = readonly [timeS: number, value: number];

/**
 * The highest sum of levels (resident memory, say): each series holds a sample's value from that sample to
 * its next one, and counts no more after its last.
 */
export function peakOfLevels(series: ReadonlyArray<readonly Sample[]>): number | undefined {
  const events: Array<{ t: number; series: number; value: number; last: boolean }> = [];
  series.forEach((samples, i) => samples.forEach(([t, value], k) => events.push({ t, series: i, value, last: k === samples.length - 1 })));
  events.sort((a, b) => a.t - b.t);
  const level = new Float64Array(series.length);
  let total = 0;
  let peak: number | undefined;
  for (let i = 0; i < events.length; ) {
    const t = events[i]!.t;
    let j = i;
    for (; j < events.length && events[j]!.t === t; j++) {
      const e = events[j]!;
      total += e.value - level[e.series]!;
      level[e.series] = e.value;
    }
    peak = peak === undefined ? total : Math.max(peak, total);
    for (let k = i; k < j; k++) {
      const e = events[k]!;
      if (!e.last) continue;
      total -= level[e.series]!;
      level[e.series] = 0;
    }
    i = j;
  }
  return peak;
}

/**
 * The highest sum of rates (CPU seconds per second, say): each sample after a series' first is the amount
 * used since the previous one, at a steady rate over that interval. Evaluated where intervals end.
 */
export function peakOfRates(series: ReadonlyArray<readonly Sample[]>): number | undefined {
  // An interval (from, to] opens after `from` and counts up to `to` included.
  const events: Array<{ t: number; rate: number; open: boolean }> = [];
  for (const samples of series) {
    for (let k = 1; k < samples.length; k++) {
      const [from] = samples[k - 1]!;
      const [to, amount] = samples[k]!;
      if (to <= from) continue;
      const rate = amount / (to - from);
      events.push({ t: from, rate, open: true }, { t: to, rate, open: false });
    }
  }
  events.sort((a, b) => a.t - b.t);
  let total = 0;
  let peak: number | undefined;
  for (let i = 0; i < events.length; ) {
    const t = events[i]!.t;
    let j = i;
    while (j < events.length && events[j]!.t === t) j++;
    const group = events.slice(i, j);
    if (group.some((e) => !e.open)) peak = peak === undefined ? total : Math.max(peak, total);
    for (const e of group) total += e.open ? e.rate : -e.rate;
    i = j;
  }
  return peak;
}
