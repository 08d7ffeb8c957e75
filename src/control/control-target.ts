// What the control path knows about the running agent: the ControlTarget. The agent (src/agent) builds it
// from the supervisor's element operations and its own shutdown; the socket server and the command
// dispatcher only ever see this interface. One command line, down, and its reply, back up:
//
//   client: alumet-agent control, socat, a script              (another process)
//       │ ▲   a command line; data lines, then `ok…` or `error: …`
//   ════╪═╪═ Unix socket ════════════════════════════════════════════════════════ main thread below
//       ▼ │
//   SocketServer (socket-server.ts)           reads lines; answers a connection's lines in order
//       │ ▲   the line; its Reply
//       ▼ │
//   ControlDispatcher (dispatch.ts)           parses the line (command-parser.ts), matches its pattern
//       │ ▲                                   against elements() (pattern.ts), builds the Reply
//       ▼ │
//   ControlTarget (this file)
//       │ ▲ │
//       │ │ └─► shutdown(), once the reply is sent: the Agent (src/agent/agent.ts) stops the pipeline,
//       │ │     the plugins and the socket
//       ▼ │   elements(), apply(names, action); one error per element that could not apply it
//   Supervisor (src/agent/supervisor.ts)      checks each element can take the action
//       │ ▲   one comlink call per element (worker-handle.ts), raced against the worker's exit and
//       │ │   control_timeout; it resolves once the request has taken effect
//   ════╪═╪═ the worker's control port ══════════════════════════════════════════ worker thread below
//       ▼ │
//   the element's actor (src/workers)         pause, resume, stop, set-period, trigger-now; a source
//                                             waiting for its next tick is woken at once
//
// Control requests never travel on the data links (src/agent/pipeline.ts), nor batches on a control port.

import type { ElementKind } from '../protocol/element-kinds.js';

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
