// The energy-to-carbon plugin's `[plugins.energy-to-carbon]` keys and defaults (Alumet's), and the config
// type they give. Imported by the definition (main thread).

import { t, type Infer } from '../../agent/plugin-api.js';

export const MODES = ['world_avg', 'country', 'intensity_override'] as const;

export const carbonSchema = t.table({
  /** Where the carbon intensity comes from: the world average, a country's, or the user's. */
  mode: t.oneOf(MODES, 'world_avg'),
  /** `[plugins.energy-to-carbon.country]`, read in mode "country". */
  country: t.optional(
    t.table({
      /** ISO 3166-1 alpha-3 code of the country whose electricity the machine uses (`FRA`). */
      code: t.optional(t.string('', { nonEmpty: true })),
    }),
  ),
  /** `[plugins.energy-to-carbon.intensity_override]`, read in mode "intensity_override". */
  intensity_override: t.optional(
    t.table({
      /** Grams of CO₂ equivalent per kWh of the machine's electricity. */
      intensity: t.optional(t.float(0, { min: 0 })),
    }),
  ),
});

/** `[plugins.energy-to-carbon]` with its defaults filled in. */
export type CarbonConfig = Infer<typeof carbonSchema>;
