// The points of a SendMeasurements body read straight into a batch, as the Rust server reads them: each
// metric id translated to this agent's id for the metric, each resource and consumer parsed (a point whose
// resource or consumer is refused is dropped, and said why), and the attribute `relay_client = <sender>`
// added after the point's own. Worker thread (the relay-server's connections) and tests.

import { Batch, F64, U64, type AttrValue, type Attributes } from '../../protocol/element-api.js';
import { DecodeError, type PostcardReader } from '../shared/postcard.js';
import { MAX_METRIC_ID, TypedValueTag } from '../shared/relay-messages.js';
import { ByteCache } from './byte-cache.js';
import { consumerIdRule, idRefusal, resourceIdRule, u32Id, type IdRule } from './resources.js';

/** The bytes a point takes at least: id, secs, nanos, value tag and a 1-byte varint, 4 empty strings, no attributes. */
const MIN_POINT_BYTES = 10;
/** Distinct strings and attribute lists remembered per connection (a client that sends ever new ones cannot grow them further). */
const MAX_CACHED = 4096;

export const RELAY_CLIENT_ATTRIBUTE = 'relay_client';

export interface DecodedMeasurements {
  readonly batch: Batch;
  /** Points dropped because their resource or consumer was refused. */
  readonly dropped: number;
  /** Why the first of them was dropped. */
  readonly firstDropReason: string | undefined;
}

/** This agent's id for a client's metric id, or undefined for an id the client has not registered. */
export type MetricLookup = (clientId: number) => number | undefined;

/**
 * What follows a point's value: its resource, consumer and attributes, checked (`refusal` says why the
 * Rust server would refuse the point) and ready for the batch. Points of one series share one.
 */
interface Tail {
  readonly resKind: Text;
  /** The id as stored: the text, or the u32 it holds in decimal; undefined when refused. */
  readonly resId: Text | string | undefined;
  readonly consKind: Text;
  readonly consId: Text | string | undefined;
  readonly attributes: Attributes;
  readonly refusal: string | undefined;
}

/** A string of the messages, decoded and checked once per connection, with what was worked out about it. */
interface Text {
  readonly text: string;
  /** The batch it was last interned in, and its index there. */
  batch: Batch | undefined;
  index: number;
  /** As a kind: the rule of its resource ids, of its consumer ids. */
  resourceRule?: IdRule;
  consumerRule?: IdRule;
  /** As an id: the u32 it holds, in decimal, or null if it holds none. */
  u32?: string | null;
}

/**
 * Reads SendMeasurements bodies of one connection. The strings and attribute lists it has seen are found
 * again by their bytes, so that a repeated one costs no decoding, and the points of a series share one
 * attribute list (stored once by the batch).
 */
export class MeasurementDecoder {
  #sender: string | undefined;
  readonly #texts = new ByteCache<Text>(MAX_CACHED);
  #attributeLists = new ByteCache<Attributes>(MAX_CACHED);
  #tails = new ByteCache<Tail>(MAX_CACHED);
  /**
   * The last tail of each metric (by the client's id) and its bytes: the points of a metric mostly repeat
   * the tail of its previous point (one series per metric), which a comparison finds without hashing.
   */
  #lastTails: Array<{ bytes: Uint8Array; tail: Tail } | undefined> = [];
  #noAttributes: Attributes = [];

  /** Reads the points (the reader is at the message's content) into a new batch. Throws DecodeError. */
  decode(r: PostcardReader, sender: string, metricFor: MetricLookup): DecodedMeasurements {
    if (sender !== this.#sender) {
      this.#sender = sender;
      this.#attributeLists = new ByteCache(MAX_CACHED);
      this.#tails = new ByteCache(MAX_CACHED);
      this.#lastTails = [];
      this.#noAttributes = [[RELAY_CLIENT_ATTRIBUTE, sender]];
    }
    const n = r.length('SendMeasurements.buf', MIN_POINT_BYTES);
    const b = Batch.forWriting(n);
    const words = b.valueWords;
    let dropped = 0;
    let firstDropReason: string | undefined;
    for (let p = 0; p < n; p++) {
      const clientId = r.u64Number("a point's metric_id");
      const metric = metricFor(clientId);
      if (metric === undefined) throw new DecodeError(`a point of metric id ${clientId}, which the client has not registered`);
      const secs = r.u64Number("a point's timestamp.secs");
      const nanos = r.u32("a point's timestamp.nanos");
      const i = b.length;
      const tag = r.u32("a point's value variant");
      if (tag === TypedValueTag.U64) {
        r.varintWords("a point's U64 value");
        b.type[i] = U64;
        words[2 * i] = r.lo;
        words[2 * i + 1] = r.hi;
      } else if (tag === TypedValueTag.F64) {
        // The bits as they came (a NaN payload included), like the client's.
        const at = r.offset;
        if (r.remaining < 8) throw new DecodeError(`the message ends inside a point's F64 value (byte ${at} of ${r.end})`);
        b.type[i] = F64;
        words[2 * i] = r.buf.readUInt32LE(at);
        words[2 * i + 1] = r.buf.readUInt32LE(at + 4);
        r.offset += 8;
      } else {
        throw new DecodeError(`a point's value must be the variant F64 (0) or U64 (1), got ${tag}`);
      }
      const tail = this.#tail(r, sender, clientId);
      if (tail.refusal !== undefined) {
        dropped++;
        firstDropReason ??= tail.refusal;
        continue;
      }
      // Duration::new(secs, nanos) carries whole seconds of the nanoseconds over.
      b.tsSec[i] = secs + Math.floor(nanos / 1e9);
      b.tsNsec[i] = nanos % 1e9;
      b.metric[i] = metric;
      b.resKind[i] = indexIn(b, tail.resKind);
      b.resId[i] = indexIn(b, tail.resId!);
      b.consKind[i] = indexIn(b, tail.consKind);
      b.consId[i] = indexIn(b, tail.consId!);
      b.attrs[i] = b.addAttrSet(tail.attributes);
      b.length = i + 1;
    }
    return { batch: b, dropped, firstDropReason };
  }

  /** The tail of the point of metric `clientId` the reader is at (found again by its bytes, decoded on first sight). */
  #tail(r: PostcardReader, sender: string, clientId: number): Tail {
    const start = r.offset;
    const buf = r.buf;
    const last = this.#lastTails[clientId];
    // Bytes equal to a tail's read as that tail: no need to find where they end first.
    if (last !== undefined && start + last.bytes.length <= r.end && sameBytes(last.bytes, buf, start, start + last.bytes.length)) {
      r.offset = start + last.bytes.length;
      return last.tail;
    }
    r.strRange(TAIL_STRINGS[0]);
    r.strRange(TAIL_STRINGS[1]);
    r.strRange(TAIL_STRINGS[2]);
    r.strRange(TAIL_STRINGS[3]);
    const n = r.length("a point's attributes", 2);
    for (let k = 0; k < n; k++) {
      r.strRange('an attribute key');
      skipTypedValue(r);
    }
    const end = r.offset;
    let tail = this.#tails.get(buf, start, end);
    if (tail === undefined) {
      r.offset = start;
      tail = this.#readTail(r, sender, end);
      this.#tails.set(buf, start, end, tail);
    }
    if (clientId <= MAX_METRIC_ID) this.#lastTails[clientId] = { bytes: buf.slice(start, end), tail };
    return tail;
  }

  /** Reads the tail that ends at `end` (its shape checked already). */
  #readTail(r: PostcardReader, sender: string, end: number): Tail {
    const resKind = this.#text(r, TAIL_STRINGS[0]);
    const resId = this.#text(r, TAIL_STRINGS[1]);
    const consKind = this.#text(r, TAIL_STRINGS[2]);
    const consId = this.#text(r, TAIL_STRINGS[3]);
    const attributes = this.#attributes(r, sender, end);
    const resourceRule = (resKind.resourceRule ??= resourceIdRule(resKind.text));
    const consumerRule = (consKind.consumerRule ??= consumerIdRule(consKind.text));
    const resource = checkedId(resId, resourceRule);
    const consumer = checkedId(consId, consumerRule);
    const refusal =
      resource === undefined
        ? idRefusal('resource', resKind.text, resId.text, resourceRule)
        : consumer === undefined
          ? idRefusal('consumer', consKind.text, consId.text, consumerRule)
          : undefined;
    return { resKind, resId: resource, consKind, consId: consumer, attributes, refusal };
  }

  #text(r: PostcardReader, what: string): Text {
    const start = r.strRange(what);
    const end = r.offset;
    let t = this.#texts.get(r.buf, start, end);
    if (t === undefined) {
      t = { text: r.utf8(start, end, what), batch: undefined, index: 0 };
      this.#texts.set(r.buf, start, end, t);
    }
    return t;
  }

  /** The point's attributes then `relay_client`, the same list for the same bytes (whatever the rest of the tail). */
  #attributes(r: PostcardReader, sender: string, end: number): Attributes {
    const start = r.offset;
    if (r.buf[start] === 0) {
      r.offset++;
      return this.#noAttributes;
    }
    let list = this.#attributeLists.get(r.buf, start, end);
    if (list === undefined) {
      list = readAttributes(r, sender);
      this.#attributeLists.set(r.buf, start, end, list);
    }
    r.offset = end;
    return list;
  }
}

const TAIL_STRINGS = ["a point's resource_kind", "a point's resource_id", "a point's consumer_kind", "a point's consumer_id"] as const;

function sameBytes(bytes: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (bytes.length !== end - start) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== buf[start + i]) return false;
  return true;
}

/** The id to store (the text, or its normalised u32), or undefined when the kind's rule refuses it. */
function checkedId(id: Text, rule: IdRule): Text | string | undefined {
  if (rule === 'any') return id;
  if (rule === 'empty') return id.text === '' ? id : undefined;
  const n = (id.u32 ??= u32Id(id.text) ?? null);
  return n === null ? undefined : n === id.text ? id : n;
}

/** The index of a string in the batch's table, interned once per batch. */
function indexIn(b: Batch, t: Text | string): number {
  if (typeof t === 'string') return b.intern(t);
  if (t.batch !== b) {
    t.batch = b;
    t.index = b.intern(t.text);
  }
  return t.index;
}
/** Skips one TypedValue, checking its shape (the bytes are decoded later, once per distinct list). */
function skipTypedValue(r: PostcardReader): void {
  const tag = r.u32('an attribute value variant');
  switch (tag) {
    case TypedValueTag.F64:
      r.f64('an F64 attribute value');
      return;
    case TypedValueTag.U64:
      r.varintWords('a U64 attribute value');
      return;
    case TypedValueTag.Bool:
      r.bool('a Bool attribute value');
      return;
    case TypedValueTag.Str:
      r.strRange('a Str attribute value');
      return;
    case TypedValueTag.ListU64: {
      const m = r.length('a ListU64 attribute value');
      for (let j = 0; j < m; j++) r.varintWords('an item of a ListU64 attribute value');
      return;
    }
    default:
      throw new DecodeError(`unknown attribute value variant ${tag} (known: 0 F64, 1 U64, 2 Bool, 3 Str, 4 ListU64)`);
  }
}

function readTypedValue(r: PostcardReader): AttrValue {
  const tag = r.u32('an attribute value variant');
  switch (tag) {
    case TypedValueTag.F64:
      return r.f64('an F64 attribute value');
    case TypedValueTag.U64:
      return r.u64Big('a U64 attribute value');
    case TypedValueTag.Bool:
      return r.bool('a Bool attribute value');
    case TypedValueTag.Str:
      return r.str('a Str attribute value');
    default: {
      const m = r.length('a ListU64 attribute value');
      const items: bigint[] = [];
      for (let j = 0; j < m; j++) items.push(r.u64Big('an item of a ListU64 attribute value'));
      return items;
    }
  }
}

/** A point's attributes, decoded (their shape was checked by a skim), then `relay_client = sender`. */
function readAttributes(r: PostcardReader, sender: string): Attributes {
  const n = r.length('a point\'s attributes', 2);
  const list: Array<readonly [string, AttrValue]> = [];
  for (let k = 0; k < n; k++) list.push([r.str('an attribute key'), readTypedValue(r)]);
  list.push([RELAY_CLIENT_ATTRIBUTE, sender]);
  return list;
}
