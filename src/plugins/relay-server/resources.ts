// Resources and consumers of relayed points, checked and normalised as the Rust server's `Resource::parse`
// and `ResourceConsumer::parse` do: `local_machine` resources need an empty id; `cpu_package`, `cpu_core` and
// `dram` resources and `process` consumers a u32 id, written back in decimal; any other kind is kept as it
// came (`gpu_partition` and a `local_machine` consumer included). A point that fails is dropped. Any thread.

import { LOCAL_MACHINE, type ResourceRef } from '../../protocol/element-api.js';

const U32_TEXT = /^\+?[0-9]+$/;
const U32_MAX = 4294967295;

/** A u32 as Rust's `u32::from_str` reads it (an optional `+`), back in decimal; undefined if it is not one. */
function u32Id(id: string): string | undefined {
  if (!U32_TEXT.test(id)) return undefined;
  const n = Number(id);
  return n <= U32_MAX ? String(n) : undefined;
}

const NUMBERED_RESOURCES = new Set(['cpu_package', 'cpu_core', 'dram']);

/** The resource, or why the Rust server refuses it. */
export function parseResource(kind: string, id: string): ResourceRef | string {
  if (kind === 'local_machine') return id === '' ? LOCAL_MACHINE : `invalid resource identifier for kind local_machine: ${JSON.stringify(id)} (it must be empty)`;
  if (NUMBERED_RESOURCES.has(kind)) {
    const n = u32Id(id);
    return n === undefined ? `invalid resource identifier for kind ${kind}: ${JSON.stringify(id)} (a u32 is expected)` : { kind, id: n };
  }
  return { kind, id };
}

/** The consumer, or why the Rust server refuses it. */
export function parseConsumer(kind: string, id: string): ResourceRef | string {
  if (kind !== 'process') return { kind, id };
  const pid = u32Id(id);
  return pid === undefined ? `invalid consumer identifier for kind process: ${JSON.stringify(id)} (a u32 is expected)` : { kind, id: pid };
}
