// The energy-to-carbon plugin: the carbon emission of every energy measurement, from a carbon intensity of
// electricity (the world average, a country's, or the user's). Main thread: checks the mode's table and
// the country code, registers the metric and adds the transform (transform.ts). Disabled in a generated
// config: it needs an energy source (rapl, energy-estimation-tdp) and the machine's country.

import { closest, definePlugin, type Problems } from '../../agent/plugin-api.js';
import { carbonSchema, type CarbonConfig } from './config.js';
import { COUNTRY_INTENSITY } from './country-intensity.js';
import { CARBON_METRICS } from './metrics.js';
import type { CarbonTransformConfig } from './transform.js';

/** gCO₂ per kWh, the world average Alumet uses. */
export const WORLD_AVERAGE_INTENSITY = 475;

function checkCountry(code: string | undefined, problems: Problems): void {
  if (code === undefined) {
    problems.add('country.code', 'required when mode = "country": write [plugins.energy-to-carbon.country] code = "FRA" (an ISO 3166-1 alpha-3 code)');
    return;
  }
  if (Object.hasOwn(COUNTRY_INTENSITY, code)) return;
  const hint = closest(code, Object.keys(COUNTRY_INTENSITY));
  problems.add(
    'country.code',
    `unknown country code ${JSON.stringify(code)}${hint ? `; did you mean "${hint}" (${COUNTRY_INTENSITY[hint]!.name})?` : ''} (ISO 3166-1 alpha-3, upper case, e.g. "FRA", "DEU", "USA")`,
  );
}

/** The intensity of the config's mode, and where it comes from, for the log. Call after `check`. */
function intensityOf(config: CarbonConfig): { intensity: number; from: string } {
  switch (config.mode) {
    case 'country': {
      const code = config.country!.code!;
      const c = COUNTRY_INTENSITY[code]!;
      return { intensity: c.gPerKwh, from: `${c.name} (${code}), ${c.year}` };
    }
    case 'intensity_override':
      return { intensity: config.intensity_override!.intensity!, from: 'intensity_override' };
    default:
      return { intensity: WORLD_AVERAGE_INTENSITY, from: 'world average' };
  }
}

export default definePlugin<CarbonConfig>({
  name: 'energy-to-carbon',
  version: '0.1.0',
  config: carbonSchema,
  enabledByDefault: false,
  metrics: CARBON_METRICS,

  check(config, problems) {
    if (config.mode === 'country') checkCountry(config.country?.code, problems);
    if (config.mode === 'intensity_override' && config.intensity_override?.intensity === undefined) {
      problems.add('intensity_override.intensity', 'required when mode = "intensity_override": write [plugins.energy-to-carbon.intensity_override] intensity = 100.0 (gCO₂ per kWh)');
    }
  },

  start(config, ctx) {
    const { intensity, from } = intensityOf(config);
    ctx.log.info(`carbon intensity: ${intensity} gCO₂/kWh (${from})`);
    for (const table of ['country', 'intensity_override'] as const) {
      if (config[table] !== undefined && config.mode !== table) ctx.log.info(`mode = "${config.mode}": [plugins.energy-to-carbon.${table}] is not used`);
    }
    const element: CarbonTransformConfig = { output: ctx.metric('carbon_emission', CARBON_METRICS.carbon_emission), intensity };
    ctx.transform('transform', new URL('./transform.js', import.meta.url), element);
  },
});
