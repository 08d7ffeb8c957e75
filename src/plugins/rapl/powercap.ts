// Finding the RAPL zones of the powercap framework: every `intel-rapl*` directory under
// `<powercap_root>/intel-rapl`, recursively, with its domain, socket and counter range, as Alumet's rapl
// plugin reads them. Runs in the main thread when the plugin starts, so that a machine without RAPL, a zone
// it does not know or counters the agent may not read stop the start with a clear error.

import { closeSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseCounter } from './counter-text.js';
import { domainOfZone, socketOfZone, type Domain } from './domains.js';

/** One RAPL zone: a directory such as `intel-rapl/intel-rapl:0/intel-rapl:0:2`. */
export interface PowercapZone {
  readonly path: string;
  /** The kernel's name for it: `package-0`, `core`, `uncore`, `dram`, `psys`. */
  readonly name: string;
  readonly domain: Domain;
  /** Its own package number, or its parent's; 0 for a zone outside any package (psys). */
  readonly socket: number;
  /** The largest value of its `energy_uj` counter, which then starts again from 0. */
  readonly maxEnergyUj: bigint;
}

/** A file of the RAPL zones that the agent's user may not read (energy_uj is root-only on recent kernels). */
export class PowercapPermissionError extends Error {
  override readonly name = 'PowercapPermissionError';
  constructor(path: string) {
    super(`cannot read ${path}: permission denied (on Linux 5.10 and later the RAPL energy counters are readable by root only)`);
  }
}

/** `<root>/intel-rapl`, where the kernel puts the RAPL zones. */
export const raplDir = (root: string): string => join(root, 'intel-rapl');

/** Every RAPL zone under `root`, sorted by path as Alumet sorts them (the order of the points of a poll). */
export function findZones(root: string): PowercapZone[] {
  const dir = raplDir(root);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new Error(
        `${dir} does not exist: this machine exposes no RAPL energy counters through powercap (virtual machines ` +
          'usually have none; on Intel and AMD hosts the kernel module intel_rapl_msr provides them); ' +
          'disable the plugin ([plugins.rapl] enabled = false) or set plugins.rapl.powercap_root',
      );
    }
    throw fileError(dir, e);
  }
  const zones: PowercapZone[] = [];
  for (const entry of entries) collectZone(join(dir, entry), zones);
  if (zones.length === 0) throw new Error(`${dir} holds no RAPL zone (no intel-rapl:N directory): nothing to measure`);
  return zones.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Adds the zone at `path`, if it is one, and its sub-zones. */
function collectZone(path: string, zones: PowercapZone[]): void {
  if (!basename(path).startsWith('intel-rapl') || !isDirectory(path)) return;
  const name = readText(join(path, 'name'));
  const domain = domainOfZone(name);
  if (domain === undefined) {
    throw new Error(`${join(path, 'name')}: unknown RAPL zone "${name}"; expected package-N, core, uncore, dram or psys`);
  }
  const socket = socketOf(path, name);
  const maxEnergyUj = readCounter(join(path, 'max_energy_range_uj'));
  checkReadable(join(path, 'energy_uj'));
  zones.push({ path, name, domain, socket, maxEnergyUj });
  for (const entry of readdirSync(path)) collectZone(join(path, entry), zones);
}

/** A sub-zone (core, uncore, dram) belongs to the package of the zone it sits in. */
function socketOf(path: string, name: string): number {
  const where = (e: unknown) => new Error(`${join(path, 'name')}: ${(e as Error).message}`);
  try {
    const own = socketOfZone(name);
    if (own !== undefined) return own;
    const parentName = join(dirname(path), 'name');
    return (isFile(parentName) ? socketOfZone(readText(parentName)) : undefined) ?? 0;
  } catch (e) {
    throw where(e);
  }
}

function readCounter(path: string): bigint {
  return parseCounter(readText(path), path);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1').trim();
  } catch (e) {
    throw fileError(path, e);
  }
}

function checkReadable(path: string): void {
  try {
    closeSync(openSync(path, 'r'));
  } catch (e) {
    throw fileError(path, e);
  }
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() === true;
}

function fileError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new PowercapPermissionError(path);
  if (code === 'ENOENT') return new Error(`${path} does not exist; a RAPL zone has name, energy_uj and max_energy_range_uj`);
  return new Error(`cannot read ${path}: ${(e as Error).message}`);
}

/** What to do about counters the agent may not read, for the log (multi-line). */
export function permissionRemedies(root: string): string {
  const dir = raplDir(root);
  return [
    `The agent cannot read the RAPL energy counters under ${dir}: on Linux 5.10 and later, energy_uj is readable by root only. Either:`,
    '  - run the agent as root, or give it CAP_DAC_READ_SEARCH (systemd: AmbientCapabilities=CAP_DAC_READ_SEARCH);',
    '  - or make the counters readable until the next reboot:',
    `      sudo chmod a+r ${dir}/intel-rapl:*/energy_uj ${dir}/intel-rapl:*/intel-rapl:*/energy_uj`,
    '  - or at every boot, with a udev rule such as /etc/udev/rules.d/90-rapl-energy.rules:',
    '      ACTION=="add", SUBSYSTEM=="powercap", RUN+="/bin/chmod a+r /sys%p/energy_uj"',
    '    then apply it at once: sudo udevadm trigger --subsystem-match=powercap --action=add',
  ].join('\n');
}
