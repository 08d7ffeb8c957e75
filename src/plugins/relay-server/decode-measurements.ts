// The points of a SendMeasurements body read straight into a batch, as the Rust server reads them: each
// metric id translated to this agent's id for the metric, each resource and consumer parsed (a point whose
// resource or consumer is refused is dropped, and said why), and the attribute `relay_client = <sender>`
// added after the point's own. Worker thread (the relay-server's connections) and tests.

import { Batch, F64, U64, type AttrValue, type Attributes, type ResourceRef } from '../../protocol/element-api.js';
import { DecodeError, type PostcardReader } from '../shared/postcard.js';
import { TypedValueTag } from '../shared/relay-messages.js';
import { parseConsumer, parseResource } from './resources.js';

/** The bytes a point takes at least: id, secs, nanos, value tag and a 1-byte varint, 4 empty strings, no attributes. */
const MIN_POINT_BYTES = 10;
/** Distinct attribute lists remembered per connection (a client that sends ever new ones cannot grow it further). */
const MAX_CACHED_ATTRIBUTE_LISTS = 4096;

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
 * Reads SendMeasurements bodies of one connection. It remembers the attribute lists it has seen (by their
 * bytes), so that the points of a series share one list: the batch then stores it once.
 */
export class MeasurementDecoder {
  #sender: string | undefined;
  #attributeLists = new Map<string, Attributes>();
  #noAttributes: Attributes = [];

  /** Reads the points (the reader is at the message's content) into a new batch. Throws DecodeError. */
  decode(r: PostcardReader, sender: string, metricFor: MetricLookup): DecodedMeasurements {
    if (sender !== this.#sender || this.#attributeLists.size >= MAX_CACHED_ATTRIBUTE_LISTS) {
      this.#sender = sender;
      this.#attributeLists = new Map();
      this.#noAttributes = [[RELAY_CLIENT_ATTRIBUTE, sender]];
    }
    const n = r.length('SendMeasurements.buf', MIN_POINT_BYTES);
    const b = Batch.forWriting(n);
    const words = b.valueWords;
    let dropped = 0;
    let firstDropReason: string | undefined;
    for (let p = 0; p < n; p++) {
      const clientId = r.u64Number('a point\'s metric_id');
      const metric = metricFor(clientId);
      if (metric === undefined) throw new DecodeError(`a point of metric id ${clientId}, which the client has not registered`);
      const secs = r.u64Number('a point\'s timestamp.secs');
      const nanos = r.u32('a point\'s timestamp.nanos');
      const i = b.length;
      const tag = r.u32('a point\'s value variant');
      if (tag === TypedValueTag.U64) {
        r.varintWords('a point\'s U64 value');
        b.type[i] = U64;
        words[2 * i] = r.lo;
        words[2 * i + 1] = r.hi;
      } else if (tag === TypedValueTag.F64) {
        // The bits as they came (a NaN payload included), like the client's.
        b.type[i] = F64;
        const buf = r.buf;
        const at = r.offset;
        if (r.remaining < 8) throw new DecodeError(`the message ends inside a point's F64 value (byte ${at} of ${r.end})`);
        words[2 * i] = buf.readUInt32LE(at);
        words[2 * i + 1] = buf.readUInt32LE(at + 4);
        r.offset += 8;
      } else {
        throw new DecodeError(`a point's value must be the variant F64 (0) or U64 (1), got ${tag}`);
      }
      const resource = parseResource(r.str('a point\'s resource_kind'), r.str('a point\'s resource_id'));
      const consumer = parseConsumer(r.str('a point\'s consumer_kind'), r.str('a point\'s consumer_id'));
      const attributes = this.#attributes(r, sender);
      if (typeof resource === 'string' || typeof consumer === 'string') {
        dropped++;
        firstDropReason ??= typeof resource === 'string' ? resource : (consumer as string);
        continue;
      }
      // Duration::new(secs, nanos) carries whole seconds of the nanoseconds over.
      b.tsSec[i] = secs + Math.floor(nanos / 1e9);
      b.tsNsec[i] = nanos % 1e9;
      b.metric[i] = metric;
      setRef(b, i, resource, consumer);
      b.attrs[i] = b.addAttrSet(attributes);
      b.length = i + 1;
    }
    return { batch: b, dropped, firstDropReason };
  }

  /** The point's attributes then `relay_client`, the same list for the same bytes. */
  #attributes(r: PostcardReader, sender: string): Attributes {
    const start = r.offset;
    const n = r.length('a point\'s attributes', 2);
    if (n === 0) return this.#noAttributes;
    for (let k = 0; k < n; k++) {
      r.strRange('an attribute key');
      skipTypedValue(r);
    }
    const key = r.buf.toString('latin1', start, r.offset);
    let list = this.#attributeLists.get(key);
    if (list === undefined) {
      const end = r.offset;
      r.offset = start;
      list = readAttributes(r, sender);
      r.offset = end;
      this.#attributeLists.set(key, list);
    }
    return list;
  }
}

function setRef(b: Batch, i: number, resource: ResourceRef, consumer: ResourceRef): void {
  b.resKind[i] = b.intern(resource.kind);
  b.resId[i] = b.intern(resource.id);
  b.consKind[i] = b.intern(consumer.kind);
  b.consId[i] = b.intern(consumer.id);
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
