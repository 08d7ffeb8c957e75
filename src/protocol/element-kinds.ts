// Element kinds and the rules that depend on them, each stated once: which control action applies to which
// kind — read by the command parser (its errors), the dispatcher (what `*` fans out to), the supervisor and
// the worker host (their refusals) — and the order kinds are listed in. Any thread.

/** In the order `list` and `status` show them: data flows from the first to the last. */
export const ELEMENT_KINDS = ['source', 'transform', 'output'] as const;
export type ElementKind = (typeof ELEMENT_KINDS)[number];

export type ActionType = 'pause' | 'resume' | 'stop' | 'set-period' | 'trigger-now';

/**
 * The kinds each action applies to, in the order requests fan out. A transform cannot be stopped: the
 * chain would break (pause makes it pass batches through instead); only sources have a period to set or a
 * poll to trigger.
 */
export const ACTION_KINDS: Readonly<Record<ActionType, readonly ElementKind[]>> = {
  pause: ELEMENT_KINDS,
  resume: ELEMENT_KINDS,
  stop: ['source', 'output'],
  'set-period': ['source'],
  'trigger-now': ['source'],
};

export const KIND_PLURAL: Readonly<Record<ElementKind, string>> = { source: 'sources', transform: 'transforms', output: 'outputs' };
export const KIND_ARTICLE: Readonly<Record<ElementKind, string>> = { source: 'a source', transform: 'a transform', output: 'an output' };

/** "every kind", "sources and outputs", "sources only". */
export function describeKinds(kinds: readonly ElementKind[]): string {
  if (kinds.length === ELEMENT_KINDS.length) return 'every kind';
  if (kinds.length === 1) return `${KIND_PLURAL[kinds[0]!]} only`;
  return kinds.map((k) => KIND_PLURAL[k]).join(' and ');
}

/** Why `action` cannot apply to element `name` of `kind` (as a reply says it), or undefined if it can. */
export function actionRefusal(action: ActionType, name: string, kind: ElementKind): string | undefined {
  const kinds = ACTION_KINDS[action];
  return kinds.includes(kind) ? undefined : `${action} applies to ${describeKinds(kinds)}; ${name} is ${KIND_ARTICLE[kind]}`;
}

/** Why an autonomous source (one that is not polled: it has no period) refuses the actions it cannot take. */
export const AUTONOMOUS_REFUSALS: Readonly<Record<'set-period' | 'trigger-now', string>> = {
  'set-period': 'an autonomous source has no period',
  'trigger-now': 'an autonomous source cannot be triggered',
};

/** Sorts sources, then transforms, then outputs. */
export function kindRank(kind: ElementKind): number {
  return ELEMENT_KINDS.indexOf(kind);
}
