// OTLP metrics export requests from batches, as the Rust opentelemetry plugin builds them: one
// `ExportMetricsServiceRequest` per write, one gauge per metric name, one `as_double` data point per point,
// with the point's own nanosecond timestamp and string attributes sorted by key. The bytes come from the
// OpenTelemetry JS SDK's own OTLP serializer (@opentelemetry/otlp-transformer), fed with the SDK's
// `ResourceMetrics` shape. Pure (no I/O); the output element (worker thread), the tests and the bench use it.

import type { Attributes as OtlpAttributes, HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type GaugeMetricData, type ResourceMetrics, type ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { unitDisplayName, unitUniqueName, type Batch, type MetricInfo } from '../../protocol/element-api.js';
import { formatAttrValue } from '../shared/rust-format.js';

/** The Rust plugin's resource: its service name says gRPC, and stays so over HTTP, so dashboards match either. */
export const RESOURCE_ATTRIBUTES = Object.freeze({ 'service.name': 'alumet-otlp-grpc' });
export const SCOPE_NAME = 'alumet';
export const SCOPE_ATTRIBUTES = Object.freeze({ tool: 'alumet' });
/** OpenTelemetry refuses empty attribute values, so the Rust plugin writes this instead (a local machine's id). */
export const EMPTY_VALUE = 'empty';

export interface EncoderOptions {
  readonly prefix: string;
  readonly suffix: string;
  readonly useUnitDisplayName: boolean;
  readonly addAttributesToLabels: boolean;
  /** The plugin's version, sent as the scope's version. */
  readonly version: string;
}

/** The serializer writes a scope's attributes, which the SDK's metrics type does not declare. */
type ScopeWithAttributes = ScopeMetrics['scope'] & { readonly attributes: OtlpAttributes };

const NO_START: HrTime = [0, 0];

/** The four keys every data point has, before the attributes. */
const RESOURCE_KEYS = ['resource_kind', 'resource_id', 'resource_consumer_kind', 'resource_consumer_id'] as const;

export class RequestEncoder {
  readonly #options: EncoderOptions;
  readonly #metrics: ReadonlyMap<number, MetricInfo>;
  readonly #resource = resourceFromAttributes(RESOURCE_ATTRIBUTES);
  readonly #scope: ScopeWithAttributes;
  /** Name, description and unit by metric id (they never change for an id). */
  readonly #descriptors = new Map<number, GaugeMetricData['descriptor']>();

  constructor(options: EncoderOptions, metrics: ReadonlyMap<number, MetricInfo>) {
    this.#options = options;
    this.#metrics = metrics;
    this.#scope = { name: SCOPE_NAME, version: options.version, attributes: SCOPE_ATTRIBUTES };
  }

  /** The protobuf bytes of one ExportMetricsServiceRequest holding every point of `batch`. */
  encode(batch: Batch): Uint8Array {
    const bytes = ProtobufMetricsSerializer.serializeRequest(this.resourceMetrics(batch));
    // The interface allows a serializer to give nothing; the protobuf one always gives bytes.
    if (bytes === undefined) throw new Error('the OTLP protobuf serializer returned no bytes');
    return bytes;
  }

  /** The batch as the SDK's ResourceMetrics: one gauge per metric name (first seen first), points in batch order. */
  resourceMetrics(batch: Batch): ResourceMetrics {
    const gauges = new Map<string, GaugeMetricData>();
    // Points of one batch share few (resource, consumer, attributes) tuples: their attributes are built once.
    const attributesByTuple = new Map<string, OtlpAttributes>();
    for (let i = 0; i < batch.length; i++) {
      const descriptor = this.#descriptorOf(batch.metric[i]!);
      let gauge = gauges.get(descriptor.name);
      if (gauge === undefined) {
        gauge = { descriptor, dataPointType: DataPointType.GAUGE, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [] };
        gauges.set(descriptor.name, gauge);
      }
      const tuple = `${batch.resKind[i]}\u0000${batch.resId[i]}\u0000${batch.consKind[i]}\u0000${batch.consId[i]}\u0000${batch.attrs[i]}`;
      let attributes = attributesByTuple.get(tuple);
      if (attributes === undefined) {
        attributes = this.#attributesOf(batch, i);
        attributesByTuple.set(tuple, attributes);
      }
      // u64 values are converted as Rust's `as f64` does: rounded to the nearest double.
      gauge.dataPoints.push({ startTime: NO_START, endTime: [batch.tsSec[i]!, batch.tsNsec[i]!], attributes, value: batch.numberAt(i) });
    }
    return { resource: this.#resource, scopeMetrics: [{ scope: this.#scope, metrics: [...gauges.values()] }] };
  }

  #descriptorOf(metricId: number): GaugeMetricData['descriptor'] {
    let descriptor = this.#descriptors.get(metricId);
    if (descriptor !== undefined) return descriptor;
    const info = this.#metrics.get(metricId);
    const { prefix, suffix, useUnitDisplayName } = this.#options;
    descriptor =
      info === undefined
        ? { name: `${prefix}unknown_metric_${metricId}${suffix}`, description: '', unit: '', valueType: ValueType.DOUBLE }
        : {
            // Not sanitised: OTLP names may hold any character, and the Rust plugin sends them as they are.
            name: prefix + info.name + suffix,
            description: info.description,
            unit: useUnitDisplayName ? unitDisplayName(info.unit) : unitUniqueName(info.unit),
            valueType: ValueType.DOUBLE,
          };
    if (info !== undefined) this.#descriptors.set(metricId, descriptor);
    return descriptor;
  }

  /**
   * The point's attributes, all strings, sorted by key: the four resource keys (an empty id, a local machine's,
   * becomes `empty`), then with `add_attributes_to_labels` each attribute as Alumet prints its value (an empty
   * one becomes `empty` too). Where a key would come twice (an attribute named `resource_kind`), which the
   * OTLP data model forbids, the first one is kept.
   */
  #attributesOf(batch: Batch, i: number): OtlpAttributes {
    const s = batch.strings;
    const pairs: Array<[string, string]> = [
      [RESOURCE_KEYS[0], s[batch.resKind[i]!]!],
      [RESOURCE_KEYS[1], s[batch.resId[i]!]!],
      [RESOURCE_KEYS[2], s[batch.consKind[i]!]!],
      [RESOURCE_KEYS[3], s[batch.consId[i]!]!],
    ];
    if (this.#options.addAttributesToLabels) {
      const seen = new Set<string>(RESOURCE_KEYS);
      for (const [key, value] of batch.attributesAt(i)) {
        if (seen.has(key)) continue;
        seen.add(key);
        pairs.push([key, formatAttrValue(value)]);
      }
    }
    pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    // A plain object (the serializer walks it with for…in, fastest on those); `__proto__` is defined, not
    // assigned, so that it stays an attribute like any other.
    const attributes: Record<string, string> = {};
    for (const [key, text] of pairs) {
      const value = text === '' ? EMPTY_VALUE : text;
      if (key === '__proto__') Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
      else attributes[key] = value;
    }
    return attributes;
  }
}
