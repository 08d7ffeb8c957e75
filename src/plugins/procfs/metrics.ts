// The metrics of the procfs plugin, as data: the definition registers them and the README lists them.
// Main thread.

import type { MetricSpecs } from '../../agent/plugin-api.js';

const perInterface = ['interface', 'direction'];

export const PROCFS_METRICS = {
  // source/procfs/kernel, from /proc/stat
  kernel_cpu_time: { type: 'u64', unit: 'ms', description: 'busy CPU time', attributes: ['cpu_state'], delta: true },
  kernel_context_switches: { type: 'u64', unit: '1', description: 'number of context switches', attributes: [], delta: true },
  kernel_new_forks: { type: 'u64', unit: '1', description: 'number of fork operations', attributes: [], delta: true },
  kernel_n_procs_running: { type: 'u64', unit: '1', description: 'number of processes in a runnable state', attributes: [] },
  kernel_n_procs_blocked: { type: 'u64', unit: '1', description: 'number of processes blocked on I/O', attributes: [] },
  // source/procfs/memory: one metric per `memory.metrics` entry, named in snake_case (`MemTotal` → mem_total)
  '<entry>': { type: 'u64', unit: 'By', description: 'an entry of /proc/meminfo', attributes: [] },
  // source/procfs/network, from /proc/net/dev
  network_bytes: { type: 'u64', unit: 'By', description: 'number of bytes (rx/tx) per interface', attributes: perInterface, delta: true },
  network_packets: { type: 'u64', unit: '1', description: 'number of packets (rx/tx) per interface', attributes: perInterface, delta: true },
  network_packet_drops: { type: 'u64', unit: '1', description: 'number of dropped packets (rx/tx) per interface', attributes: perInterface, delta: true },
  network_errors: { type: 'u64', unit: '1', description: 'number of errors (rx/tx) per interface', attributes: perInterface, delta: true },
  // source/procfs/pid-N: the same names, units and types as the cgroups plugin's, so both share one id each
  cpu_time_delta: { type: 'u64', unit: 'ns', description: 'CPU time spent by the consumer since the previous measurement', attributes: ['kind'], delta: true },
  cpu_percent: { type: 'f64', unit: '%', description: 'share of all online CPUs used by the consumer since the previous measurement', attributes: ['kind'] },
  memory_usage: { type: 'u64', unit: 'By', description: 'memory used by the consumer', attributes: ['kind'] },
} satisfies MetricSpecs;
