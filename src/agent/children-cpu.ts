// The CPU time of the agent's waited-for children, as the kernel accounts it: what /usr/bin/time reports.
// Main thread.

import { readFileSync } from 'node:fs';
import { userHz } from './clock-ticks.js';

export interface CpuTime {
  readonly userS: number;
  readonly systemS: number;
}

/**
 * `cutime` and `cstime` of this process (/proc/self/stat): the user and system CPU time of every child it
 * has waited for, each including its own waited-for children's. The difference of two readings around an
 * `exec` is the CPU time of the child's whole process tree, exited grandchildren included.
 */
export function childrenCpuTime(stat = '/proc/self/stat'): CpuTime {
  // First: finding USER_HZ may run getconf, a child that would count in the reading.
  const hz = userHz();
  const text = readFileSync(stat, 'latin1');
  // Fields after the command name: state (field 3) is index 0, so cutime (16) and cstime (17) are 13 and 14.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { userS: Number(fields[13]) / hz, systemS: Number(fields[14]) / hz };
}
