// An in-memory ControlTarget for control-path tests: a few elements with states, and every call recorded.

import type { ControlAction, ControlTarget, ElementState, ElementSummary } from '../../src/control/control-target.js';
import type { ElementKind } from '../../src/protocol/element-kinds.js';

interface FakeElement {
  name: string;
  kind: ElementKind;
  plugin: string;
  element: string;
  state: ElementState;
  period?: string;
  counters: Record<string, number>;
  lastError?: string;
  thread?: string;
}

export function fakeElement(
  name: string,
  extra: { state?: ElementState; period?: string; counters?: Record<string, number>; lastError?: string; thread?: string } = {},
): FakeElement {
  const [kind, plugin, ...rest] = name.split('/');
  return {
    name,
    kind: kind as ElementKind,
    plugin: plugin!,
    element: rest.join('/'),
    state: extra.state ?? 'running',
    ...(extra.period === undefined ? {} : { period: extra.period }),
    counters: extra.counters ?? {},
    ...(extra.lastError === undefined ? {} : { lastError: extra.lastError }),
    ...(extra.thread === undefined ? {} : { thread: extra.thread }),
  };
}

/** procfs kernel/memory (managed), a relay-server source (autonomous), a filter, csv, and a stopped relay-client output. */
function defaultElements(): FakeElement[] {
  return [
    fakeElement('source/procfs/kernel', { period: '1s', counters: { polls: 10, points_out: 40 } }),
    fakeElement('source/procfs/memory', { period: '1m 30s', counters: { polls: 2, points_out: 4 } }),
    fakeElement('source/relay-server/in', { counters: { points_out: 0 } }),
    fakeElement('transform/filter/filter', { counters: { points_in: 44, points_out: 44 } }),
    fakeElement('output/csv/csv', { counters: { points_in: 44, batches_in: 3 } }),
    fakeElement('output/relay-client/out', { state: 'stopped', counters: { points_in: 0 }, lastError: 'connection refused\n  at connect' }),
  ];
}

export class FakeControlTarget implements ControlTarget {
  readonly calls: Array<{ names: string[]; action: ControlAction }> = [];
  shutdowns = 0;
  /** When set, apply() waits this long, so a test can see that lines are answered one after the other. */
  applyDelayMs = 0;
  readonly #elements: FakeElement[];

  constructor(elements: FakeElement[] = defaultElements()) {
    this.#elements = elements;
  }

  elements(): ElementSummary[] {
    return this.#elements.map((e) => ({ ...e, counters: { ...e.counters } }));
  }

  async apply(names: readonly string[], action: ControlAction): Promise<Array<{ name: string; error: string }>> {
    this.calls.push({ names: [...names], action });
    if (this.applyDelayMs > 0) await new Promise((r) => setTimeout(r, this.applyDelayMs));
    const errors: Array<{ name: string; error: string }> = [];
    for (const name of names) {
      const e = this.#elements.find((x) => x.name === name);
      const why = e === undefined ? 'no such element' : this.#applyOne(e, action);
      if (why !== undefined) errors.push({ name, error: why });
    }
    return errors;
  }

  shutdown(): void {
    this.shutdowns++;
  }

  #applyOne(e: FakeElement, action: ControlAction): string | undefined {
    if (e.state === 'stopped') return 'it is stopped';
    switch (action.type) {
      case 'pause':
        e.state = 'paused';
        return undefined;
      case 'resume':
        e.state = 'running';
        return undefined;
      case 'stop':
        e.state = 'stopped';
        return undefined;
      case 'set-period':
        if (e.period === undefined) return 'an autonomous source has no period';
        e.period = action.text;
        return undefined;
      case 'trigger-now':
        if (e.period === undefined) return 'an autonomous source cannot be triggered';
        e.counters['polls'] = (e.counters['polls'] ?? 0) + 1;
        return undefined;
    }
  }
}
