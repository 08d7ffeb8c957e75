// The Alumet relay protocol, version 2 (plugin-relay 0.6.0, reference/alumet-wire.md §1): each message is a
// 4-byte big-endian body length, then the postcard body `MessageBody { sender, content }`, content being
// one of Greet (0), GreetResponse (1), RegisterMetrics (2) and SendMeasurements (3). This module encodes and
// decodes every message but the points of SendMeasurements, which the client writes straight from a batch
// (relay-client/encode-measurements.ts) and the server reads straight into one
// (relay-server/decode-measurements.ts). Any thread.

import { DecodeError, PostcardReader, PostcardWriter } from './postcard.js';

export const PROTOCOL_VERSION = 2;
/** The versions a Rust agent of this protocol sends; its server reads them and checks neither. */
export const ALUMET_CORE_VERSION = '0.9.5';
export const RELAY_PLUGIN_VERSION = '0.6.0';
/** The Rust server refuses a longer body (and so do we). */
export const MAX_BODY_BYTES = 32_000_000;
export const HEADER_BYTES = 4;
const LENGTH_PLACEHOLDER = new Uint8Array(HEADER_BYTES);

/** MessageEnum variants. */
export const Variant = { Greet: 0, GreetResponse: 1, RegisterMetrics: 2, SendMeasurements: 3 } as const;
export type Variant = (typeof Variant)[keyof typeof Variant];
const VARIANT_NAMES = Object.keys(Variant);

/** TypedValue variants, on the wire for point values (F64 and U64 only) and attribute values. */
export const TypedValueTag = { F64: 0, U64: 1, Bool: 2, Str: 3, ListU64: 4 } as const;

export interface Greet {
  readonly alumetCoreVersion: string;
  readonly relayPluginVersion: string;
  readonly protocolVersion: number;
}

export interface GreetResponse {
  readonly accept: boolean;
  readonly serverAlumetCoreVersion: string;
  readonly serverRelayPluginVersion: string;
  readonly protocolVersion: number;
}

/** A unit as the wire carries it: the unique names of the base unit (`J`, `By`, `1`) and of the prefix (`milli`, `""`). */
export interface WireUnit {
  readonly base: string;
  readonly prefix: string;
}

export interface WireMetric {
  /** The client's id for the metric. */
  readonly id: number;
  readonly name: string;
  readonly valueType: 'F64' | 'U64';
  readonly unit: WireUnit;
}

/**
 * A writer holding the 4-byte placeholder of the length header, the sender and the variant: the caller
 * appends what the variant holds, then `finishMessage` fills the header in.
 */
export function startMessage(sender: string, variant: Variant): PostcardWriter {
  const w = new PostcardWriter();
  w.raw(LENGTH_PLACEHOLDER);
  w.str(sender);
  w.varint(variant);
  return w;
}

/** The framed message of a writer begun with `startMessage` (a view on its buffer: the writer is done with). */
export function finishMessage(w: PostcardWriter): Buffer {
  const bytes = w.bytes();
  bytes.writeUInt32BE(bytes.length - HEADER_BYTES, 0);
  return bytes;
}

export function encodeGreet(sender: string, g: Greet): Buffer {
  const w = startMessage(sender, Variant.Greet);
  w.str(g.alumetCoreVersion);
  w.str(g.relayPluginVersion);
  w.varint(g.protocolVersion);
  return finishMessage(w);
}

export function encodeGreetResponse(sender: string, r: GreetResponse): Buffer {
  const w = startMessage(sender, Variant.GreetResponse);
  w.bool(r.accept);
  w.str(r.serverAlumetCoreVersion);
  w.str(r.serverRelayPluginVersion);
  w.varint(r.protocolVersion);
  return finishMessage(w);
}

export function encodeRegisterMetrics(sender: string, metrics: readonly WireMetric[]): Buffer {
  const w = startMessage(sender, Variant.RegisterMetrics);
  w.varint(metrics.length);
  for (const m of metrics) {
    w.varint(m.id);
    w.str(m.name);
    w.varint(m.valueType === 'F64' ? 0 : 1);
    w.str(m.unit.base);
    w.str(m.unit.prefix);
  }
  return finishMessage(w);
}

/** What a body starts with: its sender and variant; the reader is left at the variant's content. */
export interface MessageStart {
  readonly sender: string;
  readonly variant: Variant;
  readonly reader: PostcardReader;
}

export function readMessageStart(bodyBytes: Buffer): MessageStart {
  const reader = new PostcardReader(bodyBytes);
  const sender = reader.str('the sender');
  const variant = reader.u32('the message variant');
  if (variant > Variant.SendMeasurements) throw new DecodeError(`unknown message variant ${variant} (known: 0 to 3, ${VARIANT_NAMES.join(', ')})`);
  return { sender, variant: variant as Variant, reader };
}

export function variantName(v: Variant): string {
  return VARIANT_NAMES[v]!;
}

export function readGreet(r: PostcardReader): Greet {
  return {
    alumetCoreVersion: r.str('Greet.alumet_core_version'),
    relayPluginVersion: r.str('Greet.relay_plugin_version'),
    protocolVersion: r.u32('Greet.protocol_version'),
  };
}

export function readGreetResponse(r: PostcardReader): GreetResponse {
  return {
    accept: r.bool('GreetResponse.accept'),
    serverAlumetCoreVersion: r.str('GreetResponse.server_alumet_core_version'),
    serverRelayPluginVersion: r.str('GreetResponse.server_relay_plugin_version'),
    protocolVersion: r.u32('GreetResponse.protocol_version'),
  };
}

/** Metric ids above this are refused (the Rust server's rule). */
export const MAX_METRIC_ID = 65535;

export function readRegisterMetrics(r: PostcardReader): WireMetric[] {
  // Each metric takes at least 5 bytes: id, name length, value type, base and prefix lengths.
  const n = r.length('RegisterMetrics.metrics', 5);
  const metrics: WireMetric[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u64Number('Metric.id');
    const name = r.str('Metric.name');
    const type = r.u32('Metric.value_type');
    if (type > 1) throw new DecodeError(`metric ${JSON.stringify(name)}: unknown value type variant ${type} (0 = F64, 1 = U64)`);
    const base = r.str('Metric.unit.base');
    const prefix = r.str('Metric.unit.prefix');
    metrics.push({ id, name, valueType: type === 0 ? 'F64' : 'U64', unit: { base, prefix } });
  }
  return metrics;
}
