// Prometheus remote-write 1.0 bodies: batches of Alumet points become `prometheus.WriteRequest` time series
// (labels sorted by name, `__name__` included; samples in timestamp order), encoded as protobuf and
// compressed with Snappy's block format. Pure (no I/O); the output element (worker thread) and the tests use it.

import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import { U64, type Batch, type MetricInfo } from '../../protocol/element-api.js';
import { familyName, seriesLabels, type Label } from '../shared/prometheus-naming.js';

/** prometheus/prompb/types.proto and remote.proto, the parts remote write 1.0 uses. */
export const REMOTE_WRITE_PROTO = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
      },
    },
  },
});
export const WriteRequest = REMOTE_WRITE_PROTO.lookupType('prometheus.WriteRequest');

/** Headers of every remote-write 1.0 request (User-Agent is the sender's). */
export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
});

export interface Sample {
  /** Milliseconds since the epoch. */
  timestamp: number;
  value: number;
}

export interface Series {
  /** Sorted by name, `__name__` included. */
  labels: Label[];
  samples: Sample[];
}

export interface SeriesOptions {
  prefix: string;
  suffix: string;
  addAttributesToLabels: boolean;
  /** Added to every series unless the series has a label of that name already (Prometheus does the same). */
  externalLabels: Readonly<Record<string, string>>;
}

/**
 * Turns a batch into remote-write series: one per label set (first seen first), each holding its samples
 * in timestamp order. Family names are worked out once per metric for the life of the output.
 */
export class SeriesEncoder {
  readonly #options: SeriesOptions;
  readonly #metrics: ReadonlyMap<number, MetricInfo>;
  /** Family name by metric id (the unit and name never change for an id). */
  readonly #names = new Map<number, string>();

  constructor(options: SeriesOptions, metrics: ReadonlyMap<number, MetricInfo>) {
    this.#options = options;
    this.#metrics = metrics;
  }

  /** The series of every point of `batch`; the batch may be released afterwards. */
  series(batch: Batch): Series[] {
    const byLabels = new Map<string, Series>();
    // Points of one batch share few distinct (metric, resource, consumer, attributes) tuples: key them once.
    const byTuple = new Map<string, Series>();
    for (let i = 0; i < batch.length; i++) {
      const m = batch.metric[i]!;
      const tuple = `${m}\u0000${batch.resKind[i]}\u0000${batch.resId[i]}\u0000${batch.consKind[i]}\u0000${batch.consId[i]}\u0000${batch.attrs[i]}`;
      let series = byTuple.get(tuple);
      if (series === undefined) {
        const labels = this.#labelsOf(batch, i);
        const key = labels.map(([k, v]) => `${k}\u0000${v}`).join('\u0001');
        series = byLabels.get(key);
        if (series === undefined) {
          series = { labels, samples: [] };
          byLabels.set(key, series);
        }
        byTuple.set(tuple, series);
      }
      const value = batch.type[i] === U64 ? Number(batch.u64At(i)) : batch.value[i]!;
      // Milliseconds, truncated as Prometheus truncates its own nanosecond clock.
      const timestamp = batch.tsSec[i]! * 1000 + Math.floor(batch.tsNsec[i]! / 1e6);
      series.samples.push({ timestamp, value });
    }
    const out = [...byLabels.values()];
    // Stable: samples of one timestamp keep their arrival order.
    for (const s of out) s.samples.sort((a, b) => a.timestamp - b.timestamp);
    return out;
  }

  /** The series' labels, `__name__` included, sorted by name; external labels added where it has none of the name. */
  #labelsOf(batch: Batch, i: number): Label[] {
    const m = batch.metric[i]!;
    let name = this.#names.get(m);
    const info = this.#metrics.get(m);
    if (name === undefined) {
      name = info === undefined ? `unknown_metric_${m}` : familyName(info.name, info.unit, this.#options);
      if (info !== undefined) this.#names.set(m, name);
    }
    const labels = seriesLabels(
      {
        resource: { kind: batch.strings[batch.resKind[i]!]!, id: batch.strings[batch.resId[i]!]! },
        consumer: { kind: batch.strings[batch.consKind[i]!]!, id: batch.strings[batch.consId[i]!]! },
        attributes: batch.attrs[i] === 0 ? [] : batch.attrSets[batch.attrs[i]! - 1]!,
      },
      info,
      { addAttributesToLabels: this.#options.addAttributesToLabels },
    );
    const all: Label[] = [['__name__', name], ...labels];
    for (const [k, v] of Object.entries(this.#options.externalLabels)) if (!all.some((l) => l[0] === k)) all.push([k, v]);
    return all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** The protobuf bytes of a WriteRequest holding `series` (uncompressed). */
export function encodeWriteRequest(series: readonly Series[]): Uint8Array {
  const message = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: s.labels.map(([name, value]) => ({ name, value })),
      samples: s.samples,
    })),
  });
  return WriteRequest.encode(message).finish();
}

/** The body of a remote-write request: the WriteRequest, Snappy-compressed (block format, no framing). */
export function remoteWriteBody(series: readonly Series[]): Uint8Array {
  return compress(encodeWriteRequest(series));
}
