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
  const strings: Array<Buffer | undefined> = new Array(batch.strings.length);
  const str = (index: number): Buffer => (strings[index] ??= encodedStr(batch.strings[index]!));
  const attrSets: Array<{ count: number; pairs: Buffer } | undefined> = new Array(batch.attrSets.length + 1);
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
    w.raw(str(batch.resKind[i]!));
    w.raw(str(batch.resId[i]!));
    w.raw(str(batch.consKind[i]!));
    w.raw(str(batch.consId[i]!));
    const set = batch.attrs[i]!;
    const attrs = (attrSets[set] ??= encodeAttrSet(set === 0 ? [] : batch.attrSets[set - 1]!));
    const extra = extraAttribute(metric);
    w.varint(attrs.count + (extra === undefined ? 0 : 1));
    w.raw(attrs.pairs);
    if (extra !== undefined) w.raw(extra);
  }
  return finishMessage(w);
}

function encodeAttrSet(attrs: ReadonlyArray<readonly [string, AttrValue]>): { count: number; pairs: Buffer } {
  const w = new PostcardWriter(16 + attrs.length * 32);
  for (const [k, v] of attrs) {
    w.str(k);
    writeAttrValue(w, v);
  }
  return { count: attrs.length, pairs: Buffer.from(w.bytes()) };
}
