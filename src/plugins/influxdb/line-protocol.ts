// InfluxDB line protocol as the Rust influxdb plugin writes it: one line per point, the metric name as the
// measurement, the resource and consumer as tags, the attributes as tags or fields, the value as field
// `value`, the timestamp in nanoseconds. On top of that, what a server would refuse or silently lose is
// counted instead of sent: NaN and infinite values (line protocol has no such numbers), u64 values beyond a
// signed 64-bit integer for InfluxDB 1.x, and points that share their series and timestamp with another
// point (InfluxDB keeps one of them). Pure (no I/O); the output element (worker thread) and the tests use it.

import { U64, type AttrValue, type Batch, type MetricInfo } from '../../protocol/element-api.js';
import { ByteSink } from '../shared/byte-sink.js';
import { formatAttrValue, formatF64, formatU64Words } from '../shared/rust-format.js';

export interface LineOptions {
  /** Where attributes go unless listed in the exceptions. */
  readonly attributesAs: 'field' | 'tag';
  /** Attributes written as tags although `attributesAs` is `field`. */
  readonly asTags: ReadonlySet<string>;
  /** Attributes written as fields although `attributesAs` is `tag`. */
  readonly asFields: ReadonlySet<string>;
  /**
   * Unsigned integers as `<n>u` (InfluxDB 2 and later). InfluxDB 1.x has none: u64 values are then written
   * `<n>i`, and a point with one beyond 2^63 − 1 is skipped.
   */
  readonly unsigned: boolean;
}

/** Why a point was not written, or was written differently from what was measured. */
export type NoteKind = 'not-finite' | 'beyond-i64' | 'rewritten-name' | 'collapsed';

/** The first case of each kind met in one write, described for a warning. */
export interface Note {
  readonly kind: NoteKind;
  readonly text: string;
}

/** Timestamps written (`sec.nsec`), by series (measurement and sorted tags), with the line of each point. */
export type Written = Map<string, Map<string, SeriesLine>>;

export interface EncodedWrite {
  /**
   * The lines in UTF-8, joined by `\n`, with no trailing line break (as the Rust plugin sends them); a view
   * of the encoder's buffer, valid until its next `encode`.
   */
  readonly body: Uint8Array;
  readonly lines: number;
  /** Points not written: a NaN or infinite value, or a u64 InfluxDB 1.x cannot hold. */
  readonly skipped: number;
  /** Points written that InfluxDB will store as one with a later line of the same series and timestamp. */
  readonly collapsed: number;
  readonly notes: readonly Note[];
  /** What this write holds, to find the next write's points that would overwrite it. */
  readonly written: Written;
}

/** What every point of one (metric, resource, consumer, attributes) has in common. */
interface SeriesLine {
  readonly metric: string;
  /** `measurement,tag=value,… attr_field=…,` (up to `value=`) in UTF-8; undefined when the point cannot be written. */
  readonly head: Uint8Array | undefined;
  /** Measurement and tags, tags sorted: how InfluxDB identifies the series. */
  readonly series: string;
  /** Attribute fields (the attribute's key, and `key=value` as written), for the collision warning. */
  readonly fields: ReadonlyArray<{ readonly key: string; readonly text: string }>;
  /** Why its points cannot be written (an attribute field InfluxDB cannot hold). */
  readonly unwritable?: Note;
  readonly rewritten?: Note;
}

const RESOURCE_TAGS = ['resource_kind', 'resource_id', 'resource_consumer_kind', 'resource_consumer_id'];
/** Attribute names that would hide a tag or the value: the Rust plugin's renaming. */
const RENAMED_PREFIX = 'alumet_attribute__';
const I64_MAX = 9223372036854775807n;
const MAX_KNOWN_SERIES = 100_000;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const SIGNED = 0x69; // i
const UNSIGNED = 0x75; // u
const VALUE_IS = Buffer.from('value=');

const MEASUREMENT_SPECIAL = /[, \n]/g;
const KEY_SPECIAL = /[,= \n]/g;
const NEEDS_WORK_MEASUREMENT = /[, \n]|\\$/;
const NEEDS_WORK_KEY = /[,= \n]|\\$/;
const STRING_SPECIAL = /["\\]/g;

/**
 * A measurement, tag key, tag value or field key: `,` and space (and `=` outside measurements) escaped
 * with a backslash. Line protocol cannot carry two things the Rust plugin would write raw, breaking the
 * line: a line break, written here as the two characters `\n`, and a final backslash (it would escape the
 * separator after it), left out. `rewritten` says whether either happened.
 */
export function escapeName(name: string, measurement = false): { text: string; rewritten: boolean } {
  if (!(measurement ? NEEDS_WORK_MEASUREMENT : NEEDS_WORK_KEY).test(name)) return { text: name, rewritten: false };
  const trimmed = name.replace(/\\+$/, '');
  const rewritten = trimmed.length !== name.length || trimmed.includes('\n');
  const text = trimmed.replace(measurement ? MEASUREMENT_SPECIAL : KEY_SPECIAL, (c) => (c === '\n' ? '\\n' : `\\${c}`));
  return { text, rewritten };
}

/** A string field value: quoted, with `"` and `\` escaped; line breaks are fine inside the quotes. */
export function quoteString(s: string): string {
  return `"${s.replace(STRING_SPECIAL, '\\$&')}"`;
}

export class LineEncoder {
  readonly #options: LineOptions;
  readonly #metrics: ReadonlyMap<number, MetricInfo>;
  /** Escaped measurement by metric id (a metric's name never changes). */
  readonly #measurements = new Map<number, { text: string; rewritten: boolean }>();
  /**
   * Series lines by what they are made of, across writes: a batch's string indexes are its own, but the
   * same series come back in every write, and working one out (escaping, sorting) costs more than finding it.
   */
  readonly #known = new Map<string, SeriesLine>();
  /** Where the lines of a write are made; its bytes are the body until the next `encode`. */
  readonly #sink = new ByteSink();

  constructor(options: LineOptions, metrics: ReadonlyMap<number, MetricInfo>) {
    this.#options = options;
    this.#metrics = metrics;
  }

  /**
   * The line protocol of `batch`. `previous` is what the write before it held (accepted by the server): a
   * point of the same series and timestamp here overwrites one there, and is counted collapsed too.
   */
  encode(batch: Batch, previous: Written | undefined): EncodedWrite {
    const sink = this.#sink;
    sink.clear();
    const written: Written = new Map();
    const notes = new Map<NoteKind, Note>();
    const note = (n: Note | undefined): void => {
      if (n !== undefined && !notes.has(n.kind)) notes.set(n.kind, n);
    };
    // Points of a batch share few (metric, resource, consumer, attributes) tuples: look each up once, by a
    // number made of the tuple's indexes when it fits in a double's 53 bits (as good as always), else by text.
    const lines = new Map<number | string, SeriesLine>();
    const { metric, resKind, resId, consKind, consId, attrs, type, value, valueWords, tsSec, tsNsec } = batch;
    const S = batch.strings.length;
    const A = batch.attrSets.length + 1;
    const metricBound = this.#metrics.size + 1;
    const numeric = metricBound * S * S * S * S * A < Number.MAX_SAFE_INTEGER;
    const unsigned = this.#options.unsigned;
    let count = 0;
    let skipped = 0;
    let collapsed = 0;
    for (let i = 0; i < batch.length; i++) {
      const m = metric[i]!;
      const tuple =
        numeric && m < metricBound
          ? ((((m * S + resKind[i]!) * S + resId[i]!) * S + consKind[i]!) * S + consId[i]!) * A + attrs[i]!
          : `${m},${resKind[i]},${resId[i]},${consKind[i]},${consId[i]},${attrs[i]}`;
      let line = lines.get(tuple);
      if (line === undefined) {
        line = this.#lineOf(batch, i);
        lines.set(tuple, line);
        note(line.rewritten);
      }
      if (line.head === undefined) {
        skipped++;
        note(line.unwritable);
        continue;
      }
      const u64 = type[i] === U64;
      const lo = valueWords[2 * i]!;
      const hi = valueWords[2 * i + 1]!;
      const x = value[i]!;
      if (u64 ? !unsigned && hi >= 0x80000000 : !Number.isFinite(x)) {
        skipped++;
        note(
          u64
            ? { kind: 'beyond-i64', text: `${line.metric}: ${formatU64Words(lo, hi)} is beyond the largest integer InfluxDB 1.x holds (2^63 - 1)` }
            : { kind: 'not-finite', text: `${line.metric}: ${formatF64(x)} (line protocol has no NaN or infinity)` },
        );
        continue;
      }
      const sec = tsSec[i]!;
      const nsec = tsNsec[i]!;
      const ts = `${sec}.${nsec}`;
      let times = written.get(line.series);
      if (times === undefined) written.set(line.series, (times = new Map()));
      const earlier = times.get(ts) ?? previous?.get(line.series)?.get(ts);
      if (earlier !== undefined) {
        collapsed++;
        if (!notes.has('collapsed')) note(collision(line, earlier));
      }
      times.set(ts, line);
      if (count++ > 0) sink.byte(NEWLINE);
      sink.bytes(line.head);
      sink.bytes(VALUE_IS);
      if (u64) {
        if (hi < 0x200000) sink.uint(hi * 4294967296 + lo);
        else sink.text(formatU64Words(lo, hi));
        sink.byte(unsigned ? UNSIGNED : SIGNED);
      } else if (x > 0 && x < 9007199254740992 && Number.isInteger(x)) sink.uint(x);
      else sink.text(formatF64(x));
      sink.byte(SPACE);
      // Nanoseconds since the epoch: the seconds, then nine digits.
      if (sec === 0) sink.uint(nsec);
      else {
        sink.uint(sec);
        sink.padded(nsec, 9);
      }
    }
    return { body: sink.buf.subarray(0, sink.length), lines: count, skipped, collapsed, notes: [...notes.values()], written };
  }

  /** The series line of point `i`: known from an earlier write, or worked out now. */
  #lineOf(batch: Batch, i: number): SeriesLine {
    const content = contentKey(batch, i);
    let line = this.#known.get(content);
    if (line === undefined) {
      // Bounded: series come and go (one per process); beyond the bound they are worked out again.
      if (this.#known.size >= MAX_KNOWN_SERIES) this.#known.clear();
      line = this.#seriesLine(batch, i);
      this.#known.set(content, line);
    }
    return line;
  }

  #measurement(id: number): { text: string; rewritten: boolean } {
    let m = this.#measurements.get(id);
    if (m === undefined) {
      m = escapeName(this.#metrics.get(id)?.name ?? `unknown_metric_${id}`, true);
      this.#measurements.set(id, m);
    }
    return m;
  }

  #seriesLine(batch: Batch, i: number): SeriesLine {
    const o = this.#options;
    const metricName = this.#metrics.get(batch.metric[i]!)?.name ?? `unknown_metric_${batch.metric[i]}`;
    const measurement = this.#measurement(batch.metric[i]!);
    const rewrites: string[] = measurement.rewritten ? [JSON.stringify(metricName)] : [];
    const name = (s: string): string => {
      const e = escapeName(s);
      if (e.rewritten) rewrites.push(JSON.stringify(s));
      return e.text;
    };
    const tags: string[] = [];
    const addTag = (key: string, v: string): void => {
      // An empty tag value is left out, as the Rust plugin does (InfluxDB refuses it).
      if (v !== '') tags.push(`${name(key)}=${name(v)}`);
    };
    const s = batch.strings;
    addTag('resource_kind', s[batch.resKind[i]!]!);
    addTag('resource_id', s[batch.resId[i]!]!);
    addTag('resource_consumer_kind', s[batch.consKind[i]!]!);
    addTag('resource_consumer_id', s[batch.consId[i]!]!);
    const fields: Array<{ key: string; text: string }> = [];
    let unwritable: Note | undefined;
    const set = batch.attrs[i]!;
    for (const [key, v] of set === 0 ? [] : batch.attrSets[set - 1]!) {
      // An attribute with an empty key is left out, as a tag with an empty value is: it has no name to go by.
      if (key === '') continue;
      const asTag = o.attributesAs === 'tag' ? !o.asFields.has(key) : o.asTags.has(key);
      if (asTag) {
        addTag(RESOURCE_TAGS.includes(key) ? RENAMED_PREFIX + key : key, formatAttrValue(v));
        continue;
      }
      const field = fieldValue(v, o.unsigned);
      if (typeof field !== 'string') {
        unwritable ??= { kind: field.kind, text: `${metricName}: attribute ${key} = ${formatAttrValue(v)} ${field.why}` };
        continue;
      }
      fields.push({ key, text: `${name(key === 'value' ? RENAMED_PREFIX + key : key)}=${field}` });
    }
    const sorted = tags.length > 1 ? [...tags].sort() : tags;
    const tagText = tags.length === 0 ? '' : `,${tags.join(',')}`;
    const fieldText = fields.length === 0 ? '' : `${fields.map((f) => f.text).join(',')},`;
    return {
      metric: metricName,
      head: unwritable === undefined ? Buffer.from(`${measurement.text}${tagText} ${fieldText}`) : undefined,
      series: sorted.length === 0 ? measurement.text : `${measurement.text},${sorted.join(',')}`,
      fields,
      ...(unwritable === undefined ? {} : { unwritable }),
      ...(rewrites.length === 0 ? {} : { rewritten: { kind: 'rewritten-name' as const, text: `${metricName}: ${rewrites.join(', ')}` } }),
    };
  }
}

/** What point `i`'s line is made of, whichever batch it is in: metric, resource, consumer, typed attributes. */
function contentKey(batch: Batch, i: number): string {
  const s = batch.strings;
  let key = `${batch.metric[i]}\u0000${s[batch.resKind[i]!]}\u0000${s[batch.resId[i]!]}\u0000${s[batch.consKind[i]!]}\u0000${s[batch.consId[i]!]}`;
  const set = batch.attrs[i]!;
  if (set !== 0) for (const [k, v] of batch.attrSets[set - 1]!) key += `\u0000${k}\u0001${typeof v}\u0001${Array.isArray(v) ? v.join(',') : String(v)}`;
  return key;
}

/** An attribute as a field value, as the Rust plugin writes it; or why InfluxDB cannot hold it. */
function fieldValue(v: AttrValue, unsigned: boolean): string | { kind: NoteKind; why: string } {
  switch (typeof v) {
    case 'string':
      return quoteString(v);
    case 'number':
      return Number.isFinite(v) ? formatF64(v) : { kind: 'not-finite', why: '(line protocol has no NaN or infinity)' };
    case 'bigint':
      if (unsigned) return `${v}u`;
      return v <= I64_MAX ? `${v}i` : { kind: 'beyond-i64', why: 'is beyond the largest integer InfluxDB 1.x holds (2^63 - 1)' };
    case 'boolean':
      return v ? 'T' : 'F';
    default:
      return quoteString(v.join(','));
  }
}

/** The warning for a point that InfluxDB stores as one with `earlier`, with the remedy when there is one. */
function collision(line: SeriesLine, earlier: SeriesLine): Note {
  const differing = line.fields.filter((f) => !earlier.fields.some((e) => e.text === f.text)).map((f) => f.key);
  const text =
    differing.length > 0
      ? `${line.metric}: points that differ only in the field attribute${differing.length > 1 ? 's' : ''} ${differing.join(', ')} have the same series and timestamp, so InfluxDB keeps only the last one; ` +
        `write ${differing.length > 1 ? 'them' : 'it'} as tag${differing.length > 1 ? 's' : ''}: attributes_as = "tag", or attributes_as_tags = [${differing.map((k) => JSON.stringify(k)).join(', ')}]`
      : `${line.metric}: several points of the same series and timestamp (${line.series}), so InfluxDB keeps only the last one`;
  return { kind: 'collapsed', text };
}
