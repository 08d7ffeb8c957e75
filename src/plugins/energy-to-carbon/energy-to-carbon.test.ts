// Tests of the energy-to-carbon plugin: its modes and checks; the plugin run by the agent in real workers
// behind the rapl source on a fake powercap tree (known joules → grams for France, Germany and the world
// average) and behind sources in kJ and mJ; and the country table carried over from the Rust plugin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F64 } from '../../protocol/batch.js';
import { unitDisplayName, unitUniqueName } from '../../protocol/units.js';
import { configProblems } from '../../../test/helpers/plugin-config.js';
import { definePlugin, t as schema } from '../../agent/plugin-api.js';
import { fakePowercap } from '../../../test/helpers/fake-powercap.js';
import { startPlugin, type RecordedPoint } from '../../../test/helpers/plugin-harness.js';
import rapl from '../rapl/index.js';
import carbon from './index.js';
import { COUNTRY_INTENSITY } from './country-intensity.js';

const check = (input: unknown): string[] => configProblems(carbon, input);

test("energy-to-carbon config: Alumet's three modes and their tables; problems name the key and what is valid", () => {
  assert.deepEqual(carbon.config.defaultValue(), { mode: 'world_avg' });
  for (const ok of [{}, { mode: 'country', country: { code: 'FRA' } }, { mode: 'intensity_override', intensity_override: { intensity: 100 } }, { mode: 'world_avg', country: { code: 'DEU' } }]) {
    assert.deepEqual(check(ok), [], JSON.stringify(ok));
  }
  const cases: Array<[unknown, string]> = [
    [{ mode: 'country' }, 'plugins.energy-to-carbon.country.code: required when mode = "country": write [plugins.energy-to-carbon.country] code = "FRA" (an ISO 3166-1 alpha-3 code)'],
    [{ mode: 'country', country: { code: 'FRAN' } }, 'plugins.energy-to-carbon.country.code: unknown country code "FRAN"; did you mean "FRA" (France)? (ISO 3166-1 alpha-3, upper case, e.g. "FRA", "DEU", "USA")'],
    [{ mode: 'country', country: { code: 'deu' } }, 'plugins.energy-to-carbon.country.code: unknown country code "deu"; did you mean "DEU" (Germany)? (ISO 3166-1 alpha-3, upper case, e.g. "FRA", "DEU", "USA")'],
    [{ mode: 'country', country: { code: 'QQQQQQ' } }, 'plugins.energy-to-carbon.country.code: unknown country code "QQQQQQ" (ISO 3166-1 alpha-3, upper case, e.g. "FRA", "DEU", "USA")'],
    // The Rust plugin's README spells the key `country`; its code reads `code`.
    [{ mode: 'country', country: { country: 'FRA' } }, 'plugins.energy-to-carbon.country.country: unknown key (valid keys: code)'],
    [{ mode: 'intensity_override' }, 'plugins.energy-to-carbon.intensity_override.intensity: required when mode = "intensity_override": write [plugins.energy-to-carbon.intensity_override] intensity = 100.0 (gCO₂ per kWh)'],
    [{ mode: 'intensity_override', intensity_override: { intensity: -1 } }, 'plugins.energy-to-carbon.intensity_override.intensity: must be >= 0, got -1'],
    [{ mode: 'override' }, 'plugins.energy-to-carbon.mode: expected one of "world_avg", "country", "intensity_override", got the string "override"'],
    [{ mode: 'country', override: { intensity: 1 } }, 'plugins.energy-to-carbon.override: unknown key (valid keys: mode, country, intensity_override)'],
  ];
  for (const [input, message] of cases) assert.deepEqual(check(input), [message], JSON.stringify(input));
});

test('the country table is the Rust plugin’s: 213 ISO alpha-3 codes with their intensity and year', () => {
  const codes = Object.keys(COUNTRY_INTENSITY);
  assert.equal(codes.length, 213);
  assert.ok(codes.every((c) => /^[A-Z]{3}$/.test(c)));
  // Figures the Rust plugin's asset holds, as the reference notes give them.
  const samples: Array<[string, number, number]> = [
    ['FRA', 56.039, 2023],
    ['DEU', 380.95, 2023],
    ['USA', 369.473, 2023],
    ['GBR', 237.589, 2023],
    ['CHN', 582.317, 2023],
    ['IND', 713.441, 2023],
    ['POL', 661.926, 2023],
    ['SWE', 40.695, 2023],
    ['ABW', 561.224, 2022],
  ];
  for (const [code, gPerKwh, year] of samples) assert.deepEqual([COUNTRY_INTENSITY[code]!.gPerKwh, COUNTRY_INTENSITY[code]!.year], [gPerKwh, year], code);
});

/** One package: two points per poll after the first (package, package_total). */
const ONE_PACKAGE = [{ path: 'intel-rapl:0', name: 'package-0', maxEnergyUj: 262143328850n, energyUj: 5_000_000n }];
const ONE_WATT_HOUR_UJ = 3_600_000_000n;

async function gramsPerWattHour(t: Parameters<typeof startPlugin>[0], config: Record<string, unknown>): Promise<{ energy: RecordedPoint[]; carbon: RecordedPoint[] }> {
  const powercap = fakePowercap(t, ONE_PACKAGE);
  const run = await startPlugin(t, carbon, { config, with: [{ plugin: rapl, config: { poll_interval: '1h', no_perf_events: true, powercap_root: powercap.root } }] });
  await run.waitForElement('source/rapl/in', 'the first poll', (e) => e.counters['polls'] === 1);
  powercap.advance('intel-rapl:0', ONE_WATT_HOUR_UJ);
  await run.trigger('source/rapl/in');
  await run.waitForPoints('energy and carbon points', (points) => points.length === 4);
  const points = await run.stop();
  return { energy: points.filter((p) => p.metric === 'rapl_consumed_energy'), carbon: points.filter((p) => p.metric === 'carbon_emission') };
}

const close = (actual: number | bigint, expected: number, what: string): void =>
  assert.ok(Math.abs(Number(actual) - expected) <= 1e-12 * expected, `${what}: ${actual}, expected ${expected}`);

test('1 Wh measured by rapl is 0.056039 g in France, 0.38095 g in Germany, 0.475 g at the world average; inputs kept', async (t) => {
  const cases: Array<[Record<string, unknown>, number]> = [
    [{ mode: 'country', country: { code: 'FRA' } }, 0.056039],
    [{ mode: 'country', country: { code: 'DEU' } }, 0.38095],
    [{}, 0.475],
    [{ mode: 'intensity_override', intensity_override: { intensity: 100 } }, 0.1],
  ];
  for (const [config, grams] of cases) {
    const { energy, carbon: emitted } = await gramsPerWattHour(t, config);
    assert.deepEqual(
      energy.map((p) => [p.attributes['domain'], p.value]),
      [['package', 3600], ['package_total', 3600]],
    );
    assert.equal(emitted.length, 2);
    emitted.forEach((c, k) => {
      const e = energy[k]!;
      assert.deepEqual([c.timestamp, c.resource, c.consumer, c.attributes, c.type], [e.timestamp, e.resource, e.consumer, e.attributes, 'f64']);
      close(c.value, grams, JSON.stringify(config));
    });
  }
});

test('start registers carbon_emission in g_CO2 (displayed gCO₂) and logs the intensity it uses', async (t) => {
  const powercap = fakePowercap(t, ONE_PACKAGE);
  const run = await startPlugin(t, carbon, {
    config: { mode: 'country', country: { code: 'FRA' }, intensity_override: { intensity: 3 } },
    with: [{ plugin: rapl, config: { poll_interval: '1h', powercap_root: powercap.root } }],
  });
  const metric = run.agent.registry.byName('carbon_emission');
  assert.ok(metric);
  assert.deepEqual([metric.type, unitUniqueName(metric.unit), unitDisplayName(metric.unit)], [F64, 'g_CO2', 'gCO₂']);
  assert.deepEqual(
    run.elements().filter((e) => e.kind === 'transform').map((e) => e.name),
    ['transform/energy-to-carbon/transform'],
  );
  const info = run.logs.filter((l) => l.level === 30).map((l) => l.msg);
  assert.ok(info.includes('carbon intensity: 56.039 gCO₂/kWh (France (FRA), 2023)'), info.join('\n'));
  assert.ok(info.includes('mode = "country": [plugins.energy-to-carbon.intensity_override] is not used'), info.join('\n'));
  await run.stop();
});

// Sources of energy in kJ and mJ: the counting-source fixture, whose first poll pushes the value 1.
const prefixed = definePlugin({
  name: 'prefixed-energy',
  version: '0.0.0',
  config: schema.table({}),
  metrics: {
    energy_kj: { type: 'u64', unit: 'kJ', description: 'energy in kJ', attributes: [], delta: true },
    energy_mj: { type: 'f64', unit: 'mJ', description: 'energy in mJ', attributes: [], delta: true },
    power_w: { type: 'f64', unit: 'W', description: 'not an energy', attributes: [] },
  },
  start(_config, ctx) {
    const fixture = new URL('../../../test/fixtures/counting-source.js', import.meta.url);
    for (const [name, unit, type] of [['energy_kj', 'kJ', 'u64'], ['energy_mj', 'mJ', 'f64'], ['power_w', 'W', 'f64']] as const) {
      const metric = ctx.metric(name, { type, unit, description: name, attributes: [], delta: name !== 'power_w' });
      ctx.source(name, fixture, { metric, points: 1 }, { poll_interval: '1h' });
    }
  },
});

test('points in joules with a prefix are converted by its factor; other units get no carbon point', async (t) => {
  const run = await startPlugin(t, carbon, { with: [{ plugin: prefixed }] });
  await run.waitForPoints('three inputs and two carbon points', (points) => points.length === 5);
  const points = await run.stop();
  // Each source's batch goes through the transform alone: its carbon point follows it.
  const carbonAfter = (metric: string): RecordedPoint => {
    const next = points[points.findIndex((p) => p.metric === metric) + 1]!;
    assert.equal(next.metric, 'carbon_emission', `the point after ${metric}`);
    return next;
  };
  assert.deepEqual(
    points.filter((p) => p.metric !== 'carbon_emission').map((p) => [p.metric, Number(p.value)]).sort(),
    [['energy_kj', 1], ['energy_mj', 1], ['power_w', 1]],
  );
  // 1 kJ at 475 g/kWh: 1000 / 3.6e6 × 475 g; 1 mJ: a millionth of that.
  close(carbonAfter('energy_kj').value, 0.13194444444444445, 'kJ');
  close(carbonAfter('energy_mj').value, 1.3194444444444445e-7, 'mJ');
  assert.equal(points.filter((p) => p.metric === 'carbon_emission').length, 2);
});
