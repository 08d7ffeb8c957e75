// SendMeasurements messages written straight from a batch's columns: each distinct string and attribute set
// of the batch is encoded once, then copied for every point that uses it. Worker thread (the relay-client
// output) and tests.

import { U64, type AttrValue, type Batch } from '../../protocol/element-api.js';
import { encodedStr, PostcardWriter } from '../shared/postcard.js';
import { TypedValueTag, Variant, finishMessage, startMessage } from '../shared/relay-messages.js';

/** Appends one attribute value as a TypedValue. */
export function writeAttrValue(w: PostcardWriter, v: AttrValue): void {
  if (typeof v === 'string') {
    w.varint(TypedValueTag.Str);
    w.str(v);
  } else if (typeof v === 'number') {
    w.varint(TypedValueTag.F64);
    w.f64(v);
  } else if (typeof v === 'bigint') {
    w.varint(TypedValueTag.U64);
    w.varintBig(v);
  } else if (typeof v === 'boolean') {
    w.varint(TypedValueTag.Bool);
    w.bool(v);
  } else {
    w.varint(TypedValueTag.ListU64);
    w.varint(v.length);
    for (const x of v) w.varintBig(x);
  }
}

/** The bytes of one attribute `(key, value)` pair, to append to the attributes of some points. */
export function encodedAttribute(key: string, value: AttrValue): Buffer {
  const w = new PostcardWriter(key.length + 32);
  w.str(key);
  writeAttrValue(w, value);
  return Buffer.from(w.bytes());
}

/**
 * The framed SendMeasurements message holding every point of `batch`, sent as `sender`. Metric ids are the
 * agent's own (the ids the client registered them under). `extraAttribute(metric)` gives a pair (see
 * `encodedAttribute`) that the points of that metric carry after their own attributes, or undefined.
 */
export function encodeMeasurements(sender: string, batch: Batch, extraAttribute: (metric: number) => Uint8Array | undefined): Buffer {
  const n = batch.length;
  const w = startMessage(sender, Variant.SendMeasurements);
  w.reserve(n * 48);
  w.varint(n);
  const tails = new PointTails(batch);
  const words = batch.valueWords;
  for (let i = 0; i < n; i++) {
    const metric = batch.metric[i]!;
    w.varint(metric);
    w.varint(Math.max(0, batch.tsSec[i]!));
    w.varint(batch.tsNsec[i]!);
    if (batch.type[i] === U64) {
      w.varint(TypedValueTag.U64);
      w.varintWords(words[2 * i]!, words[2 * i + 1]!);
    } else {
      w.varint(TypedValueTag.F64);
      // The f64's own bits, so that a NaN payload crosses unchanged.
      w.f64Words(words[2 * i]!, words[2 * i + 1]!);
    }
    const extra = extraAttribute(metric);
    if (extra === undefined) w.raw(tails.of(i));
    else {
      // A custom unit's attribute goes after the point's own: the count and the pairs, written apart.
      w.raw(tails.strings(i));
      const attrs = tails.attributes(batch.attrs[i]!);
      w.varint(attrs.count + 1);
      w.raw(attrs.pairs);
      w.raw(extra);
    }
  }
  return finishMessage(w);
}

/**
 * The bytes that follow a point's value — resource kind and id, consumer kind and id, attributes — encoded
 * once per batch for each series (points of one attribute set and the same four strings), not per point.
 */
class PointTails {
  readonly #batch: Batch;
  readonly #strings: Array<Buffer | undefined>;
  readonly #attrSets: Array<{ count: number; pairs: Buffer } | undefined>;
  /** The last tail built for each attribute set, with the four string indexes it was built for. */
  readonly #tails: Array<{ rk: number; ri: number; ck: number; ci: number; bytes: Buffer } | undefined>;

  constructor(batch: Batch) {
    this.#batch = batch;
    this.#strings = new Array(batch.strings.length);
    this.#attrSets = new Array(batch.attrSets.length + 1);
    this.#tails = new Array(batch.attrSets.length + 1);
  }

  /** The whole tail of point `i`. */
  of(i: number): Buffer {
    const b = this.#batch;
    const set = b.attrs[i]!;
    const rk = b.resKind[i]!;
    const ri = b.resId[i]!;
    const ck = b.consKind[i]!;
    const ci = b.consId[i]!;
    const tail = this.#tails[set];
    if (tail !== undefined && tail.rk === rk && tail.ri === ri && tail.ck === ck && tail.ci === ci) return tail.bytes;
    const attrs = this.attributes(set);
    const w = new PostcardWriter(64 + attrs.pairs.length);
    w.raw(this.strings(i));
    w.varint(attrs.count);
    w.raw(attrs.pairs);
    const bytes = Buffer.from(w.bytes());
    this.#tails[set] = { rk, ri, ck, ci, bytes };
    return bytes;
  }

  /** The four strings of point `i`. */
  strings(i: number): Buffer {
    const b = this.#batch;
    return Buffer.concat([this.#str(b.resKind[i]!), this.#str(b.resId[i]!), this.#str(b.consKind[i]!), this.#str(b.consId[i]!)]);
  }

  /** The attribute pairs of attribute set `set` (0: none), and how many. */
  attributes(set: number): { count: number; pairs: Buffer } {
    return (this.#attrSets[set] ??= encodeAttrSet(set === 0 ? [] : this.#batch.attrSets[set - 1]!));
  }

  #str(index: number): Buffer {
    return (this.#strings[index] ??= encodedStr(this.#batch.strings[index]!));
  }
}

function encodeAttrSet(attrs: ReadonlyArray<readonly [string, AttrValue]>): { count: number; pairs: Buffer } {
  const w = new PostcardWriter(16 + attrs.length * 32);
  for (const [k, v] of attrs) {
    w.str(k);
    writeAttrValue(w, v);
  }
  return { count: attrs.length, pairs: Buffer.from(w.bytes()) };
}
