// The metrics of the cgroups plugin, as data: the definition registers them and the README lists them.
// Main thread.

import type { MetricSpec, MetricSpecs } from '../../agent/plugin-api.js';

const bytes = (description: string, type: 'u64' | 'f64' = 'u64'): MetricSpec => ({ type, unit: 'By', description, attributes: [] });

// cpu_time_delta, cpu_percent and memory_usage are procfs's too: same name, unit and type, so one id.
export const CGROUPS_METRICS = {
  cpu_time_delta: { type: 'u64', unit: 'ns', description: 'CPU time spent by the consumer since the previous measurement', attributes: ['kind'], delta: true },
  cpu_percent: { type: 'f64', unit: '%', description: 'share of all online CPUs used by the consumer since the previous measurement', attributes: ['kind'] },
  memory_usage: bytes('memory used by the consumer'),
  memory_max: bytes('memory limit of the cgroup (memory.max); -1 when unlimited', 'f64'),
  cgroup_memory_swap_max: bytes('swap limit of the cgroup (memory.swap.max); -1 when unlimited', 'f64'),
  cgroup_memory_swap_current: bytes('swap used by the cgroup (memory.swap.current)'),
  cgroup_memory_anonymous: bytes('anonymous memory of the cgroup (memory.stat anon)'),
  cgroup_memory_file: bytes('file-backed memory of the cgroup, page cache included (memory.stat file)'),
  cgroup_memory_kernel_stack: bytes('kernel stacks of the cgroup (memory.stat kernel_stack)'),
  cgroup_memory_pagetables: bytes('page tables of the cgroup (memory.stat pagetables)'),
  cgroup_slab_reclaimable: bytes('reclaimable kernel slab memory of the cgroup (memory.stat slab_reclaimable)'),
  // Counts since the cgroup was created, as the kernel gives them: readings, not deltas.
  cgroup_pswpin: { type: 'u64', unit: '1', description: 'pages swapped in since the cgroup was created (memory.stat pswpin)', attributes: [] },
  cgroup_pswpout: { type: 'u64', unit: '1', description: 'pages swapped out since the cgroup was created (memory.stat pswpout)', attributes: [] },
  io_pressure_some_total: {
    type: 'u64',
    unit: 'μs',
    description: 'time some tasks of the cgroup were stalled on I/O since the previous measurement (io.pressure)',
    attributes: [],
    delta: true,
  },
  io_pressure_full_total: {
    type: 'u64',
    unit: 'μs',
    description: 'time all tasks of the cgroup were stalled on I/O since the previous measurement (io.pressure)',
    attributes: [],
    delta: true,
  },
} satisfies MetricSpecs;
