// What the control path knows about the running agent. The agent (src/agent) implements this interface
// with the supervisor's element operations and its own shutdown; the socket server and command dispatcher
// (main thread) only ever see it.

export type ElementKind = 'source' | 'transform' | 'output';
export type ElementState = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'failed' | 'restarting';

export interface ElementSummary {
  /** Canonical name: `source/procfs/memory`. */
  readonly name: string;
  readonly kind: ElementKind;
  readonly plugin: string;
  readonly element: string;
  readonly state: ElementState;
  /** Humantime poll interval of a managed source. */
  readonly period?: string;
  /** polls, points_in, points_out, batches_in, batches_out, missed_ticks, dropped, restarts, … */
  readonly counters: Readonly<Record<string, number>>;
  readonly lastError?: string;
  /** The worker thread that runs it: `own`, or `pool-N` for a thread of the shared pool. */
  readonly thread?: string;
}

export type ControlAction =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'set-period'; periodNs: bigint; text: string }
  | { type: 'trigger-now' };

/** The operations on elements; the supervisor implements them. */
export interface ElementControl {
  /** Every element, sources then transforms then outputs, in creation order. */
  elements(): ElementSummary[];
  /**
   * Applies `action` to each named element; resolves once every element has applied it (or failed to).
   * Returns one error message per element that could not apply it (empty when all succeeded).
   */
  apply(names: readonly string[], action: ControlAction): Promise<Array<{ name: string; error: string }>>;
}

/** Everything a control command can ask of the agent. */
export interface ControlTarget extends ElementControl {
  /** Starts the agent's shutdown (returns at once; the reply is sent before the agent exits). */
  shutdown(): void;
}

/** The ControlTarget made of `elements`' operations and the agent's `shutdown`. */
export function controlTarget(elements: ElementControl, shutdown: () => void): ControlTarget {
  return {
    elements: () => elements.elements(),
    apply: (names, action) => elements.apply(names, action),
    shutdown,
  };
}
