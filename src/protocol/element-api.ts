// The plugin contract, worker side: the one module a plugin's element modules import (they run in worker
// threads, loaded by URL). It gathers what an element needs from src/protocol — the element API, batches,
// metric handles, units — and nothing from the main thread. Its counterpart for plugin definitions is
// src/agent/plugin-api.ts, which explains the split.

export {
  defineSource,
  defineAutonomousSource,
  defineTransform,
  defineOutput,
  SourceEnded,
  type AutonomousSource,
  type ConsumerEvent,
  type ElementContext,
  type Log,
  type Output,
  type OutputBatching,
  type WriteOutcome,
  type RuntimeSourceSpec,
  type Source,
  type SourceOutlet,
  type Transform,
} from './element.js';
export { Batch, F64, U64, LOCAL_MACHINE, type AttrValue, type Attributes, type PointView, type ResourceRef, type Timestamp, type ValueType } from './batch.js';
export { BatchBuilder } from './batch-builder.js';
export type { MetricHandle, MetricInfo, NewMetric, Unit } from './metrics.js';
export { PREFIXES, UNITS, prefixFactor, unitDisplayName, unitUniqueName } from './units.js';
export { closest } from './suggest.js';
export { parseDuration } from './duration.js';
export { parseByteSize } from './byte-size.js';
