// Resources and consumers of relayed points, checked and normalised as the Rust server's `Resource::parse`
// and `ResourceConsumer::parse` do: `local_machine` resources need an empty id; `cpu_package`, `cpu_core` and
// `dram` resources and `process` consumers a u32 id, written back in decimal; any other kind is kept as it
// came (`gpu_partition` and a `local_machine` consumer included). A point that fails is dropped. Any thread.

/** What a kind asks of its id. */
export type IdRule = 'any' | 'empty' | 'u32';

const NUMBERED_RESOURCES = new Set(['cpu_package', 'cpu_core', 'dram']);

export function resourceIdRule(kind: string): IdRule {
  return kind === 'local_machine' ? 'empty' : NUMBERED_RESOURCES.has(kind) ? 'u32' : 'any';
}

export function consumerIdRule(kind: string): IdRule {
  return kind === 'process' ? 'u32' : 'any';
}

const U32_TEXT = /^\+?[0-9]+$/;
const U32_MAX = 4294967295;

/** A u32 as Rust's `u32::from_str` reads it (an optional `+`), back in decimal; undefined if it is not one. */
export function u32Id(id: string): string | undefined {
  if (!U32_TEXT.test(id)) return undefined;
  const n = Number(id);
  return n <= U32_MAX ? String(n) : undefined;
}

/** Why the Rust server refuses `id` for a `role` (resource or consumer) of `kind` under `rule`. */
export function idRefusal(role: 'resource' | 'consumer', kind: string, id: string, rule: IdRule): string {
  const expected = rule === 'empty' ? 'it must be empty' : 'a u32 is expected';
  return `invalid ${role} identifier for kind ${kind}: ${JSON.stringify(id)} (${expected})`;
}
