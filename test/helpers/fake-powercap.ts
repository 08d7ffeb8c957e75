// Test helper: a fake powercap tree (RAPL hardware is mocked, nothing else) in a temp dir of the test's own,
// laid out as the kernel lays out /sys/devices/virtual/powercap, with energy counters a test moves on
// between polls. Give `root` as `[plugins.rapl] powercap_root`. Main thread.

import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeZone {
  /** Directory of the zone under `<root>/intel-rapl`: `intel-rapl:0`, `intel-rapl:0/intel-rapl:0:2`. */
  readonly path: string;
  /** What its `name` file says: `package-0`, `core`, `uncore`, `dram`, `psys`. */
  readonly name: string;
  /** `max_energy_range_uj`: the counter's largest value, after which it starts again from 0. */
  readonly maxEnergyUj: bigint;
  /** `energy_uj` at the start. */
  readonly energyUj: bigint;
}

const PACKAGE_RANGE = 262143328850n;
const DRAM_RANGE = 65712999613n;

function socketZones(n: number, startUj: bigint): FakeZone[] {
  const pkg = `intel-rapl:${n}`;
  return [
    { path: pkg, name: `package-${n}`, maxEnergyUj: PACKAGE_RANGE, energyUj: startUj },
    { path: `${pkg}/${pkg}:0`, name: 'core', maxEnergyUj: PACKAGE_RANGE, energyUj: startUj / 2n },
    { path: `${pkg}/${pkg}:1`, name: 'uncore', maxEnergyUj: PACKAGE_RANGE, energyUj: startUj / 8n },
    { path: `${pkg}/${pkg}:2`, name: 'dram', maxEnergyUj: DRAM_RANGE, energyUj: startUj / 4n },
  ];
}

/** Two packages, each with core, uncore and dram zones, and the platform (psys) zone, as on a 2-socket server. */
export const TWO_SOCKETS_AND_PSYS: readonly FakeZone[] = Object.freeze([
  ...socketZones(0, 124599532281n),
  ...socketZones(1, 98765432100n),
  { path: 'intel-rapl:2', name: 'psys', maxEnergyUj: PACKAGE_RANGE, energyUj: 154571208422n },
]);

export interface FakePowercap {
  /** The directory to give as `powercap_root`. */
  readonly root: string;
  /** `<root>/intel-rapl`, where the zones are. */
  readonly dir: string;
  readonly zones: readonly FakeZone[];
  /** The zone's `energy_uj` counter now. */
  energy(path: string): bigint;
  /**
   * Moves the zone's counter on by `uj` microjoules, starting again from 0 past `max_energy_range_uj` as the
   * hardware does. The file is replaced whole (written aside, then renamed), so a poll never reads half of it.
   */
  advance(path: string, uj: bigint): void;
  /** The zone's `energy_uj` file. */
  energyFile(path: string): string;
}

/** A fake powercap tree with `zones` (by default two sockets and psys), removed after the test. */
export function fakePowercap(t: { after(fn: () => void): void }, zones: readonly FakeZone[] = TWO_SOCKETS_AND_PSYS): FakePowercap {
  const root = mkdtempSync(join(tmpdir(), 'powercap-test-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'intel-rapl');
  // What the kernel puts next to the zones, which discovery must pass over: the control type's own files, and
  // the MMIO interface of the same packages in a sibling directory.
  mkdirSync(join(dir, 'power'), { recursive: true });
  writeFileSync(join(dir, 'enabled'), '1\n');
  writeFileSync(join(dir, 'uevent'), '');
  mkdirSync(join(root, 'intel-rapl-mmio', 'intel-rapl-mmio:0'), { recursive: true });
  writeFileSync(join(root, 'intel-rapl-mmio', 'intel-rapl-mmio:0', 'name'), 'package-0\n');

  const counters = new Map<string, { zone: FakeZone; uj: bigint }>();
  const writeCounter = (path: string, uj: bigint): void => {
    const file = join(dir, path, 'energy_uj');
    writeFileSync(`${file}.new`, `${uj}\n`);
    renameSync(`${file}.new`, file);
  };
  for (const zone of zones) {
    mkdirSync(join(dir, zone.path), { recursive: true });
    writeFileSync(join(dir, zone.path, 'name'), `${zone.name}\n`);
    writeFileSync(join(dir, zone.path, 'max_energy_range_uj'), `${zone.maxEnergyUj}\n`);
    writeFileSync(join(dir, zone.path, 'enabled'), '1\n');
    writeCounter(zone.path, zone.energyUj);
    counters.set(zone.path, { zone, uj: zone.energyUj });
  }
  const counter = (path: string) => {
    const c = counters.get(path);
    if (c === undefined) throw new Error(`no fake zone ${path} (have ${[...counters.keys()].join(', ')})`);
    return c;
  };
  return {
    root,
    dir,
    zones,
    energy: (path) => counter(path).uj,
    advance(path, uj) {
      const c = counter(path);
      c.uj = (c.uj + uj) % (c.zone.maxEnergyUj + 1n);
      writeCounter(path, c.uj);
    },
    energyFile: (path) => join(dir, path, 'energy_uj'),
  };
}
