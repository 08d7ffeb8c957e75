// The supervisor's record of one element (main thread): identity, state, counters and restart history.

import { ElementCounters } from '../protocol/counters.js';
import { formatDuration } from '../protocol/duration.js';
import type { ElementKind } from '../protocol/element-kinds.js';
import type { ElementSpec, RunState } from '../protocol/messages.js';
import type { ElementState } from '../control/control-target.js';

/** What a plugin declares; the supervisor turns it into a record and a worker. */
export interface ElementDecl {
  readonly kind: ElementKind;
  readonly plugin: string;
  readonly element: string;
  readonly moduleUrl: string;
  readonly config: unknown;
  readonly pollNs?: bigint;
  readonly flushNs?: bigint;
  /** Created at run time by another element (placed on the shared pool, removed when it ends). */
  readonly runtime?: boolean;
}

export class ElementRecord {
  readonly id: number;
  readonly decl: ElementDecl;
  readonly name: string;
  readonly counters = new ElementCounters();
  state: ElementState = 'starting';
  /** What the user asked for (pause survives a restart). */
  desired: RunState = 'running';
  pollNs: bigint | undefined;
  lastError: string | undefined;
  restarts = 0;
  restartTimer: NodeJS.Timeout | undefined;
  #periodText: { ns: bigint; text: string } | undefined;

  constructor(id: number, decl: ElementDecl) {
    this.id = id;
    this.decl = decl;
    this.name = `${decl.kind}/${decl.plugin}/${decl.element}`;
    this.pollNs = decl.pollNs;
  }

  /** The poll interval as `list` shows it (humantime), formatted once per change. */
  get periodText(): string | undefined {
    if (this.pollNs === undefined) return undefined;
    if (this.#periodText?.ns !== this.pollNs) this.#periodText = { ns: this.pollNs, text: formatDuration(this.pollNs) };
    return this.#periodText.text;
  }

  get kind(): ElementKind {
    return this.decl.kind;
  }

  spec(): ElementSpec {
    return {
      id: this.id,
      name: this.name,
      kind: this.decl.kind,
      moduleUrl: this.decl.moduleUrl,
      config: this.decl.config,
      pollNs: this.pollNs,
      flushNs: this.decl.flushNs,
      initialState: this.desired,
      isRestart: this.state !== 'starting',
      counters: this.counters.shared,
    };
  }
}
