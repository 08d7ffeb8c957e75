// Test helper: an ElementContext for running an element module in the test's own thread.

import type { ConsumerEvent, ElementContext, Log, RuntimeSourceSpec } from '../../src/protocol/element.js';
import type { MetricInfo } from '../../src/protocol/metrics.js';

export interface FakeContext extends ElementContext {
  /** Run-time sources the element asked for, and those it removed. */
  readonly added: RuntimeSourceSpec[];
  readonly removed: string[];
  /** Delivers a consumer event to the element's listeners. */
  publish(event: ConsumerEvent): void;
}

const quiet: Log = { error() {}, warn() {}, info() {}, debug() {} };

export function fakeContext(opts: { name?: string; metrics?: ReadonlyMap<number, MetricInfo>; log?: Log; isRestart?: boolean } = {}): FakeContext {
  const added: RuntimeSourceSpec[] = [];
  const removed: string[] = [];
  const listeners: Array<(e: ConsumerEvent) => void> = [];
  return {
    name: opts.name ?? 'source/test/test',
    log: opts.log ?? quiet,
    metrics: opts.metrics ?? new Map(),
    isRestart: opts.isRestart ?? false,
    runtime: {
      add: (spec) => void added.push(spec),
      remove: (element) => void removed.push(element),
      onConsumerEvent: (l) => void listeners.push(l),
    },
    registerMetrics: () => Promise.reject(new Error('registerMetrics needs the agent: run the element through test/helpers/plugin-harness.ts')),
    added,
    removed,
    publish: (event) => listeners.forEach((l) => l(event)),
  };
}
