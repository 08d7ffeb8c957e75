// Splits the metric cell of an Alumet CSV (`cpu_time_delta_ns`, `memory_usage_By`, `kernel_context_switches`)
// into the metric name and its unit. The csv output appends `_<unit>` with display or unique unit names, or
// nothing; metric names contain underscores too, so a suffix counts as a unit only if it is a known one.

import { PREFIXES, UNITS } from '../protocol/units.js';

function knownUnitSpellings(): Set<string> {
  const spellings = new Set<string>();
  for (const [prefixUnique, prefixDisplay] of Object.entries(PREFIXES)) {
    for (const [baseUnique, baseDisplay] of Object.entries(UNITS)) {
      spellings.add(prefixUnique + baseUnique);
      if (baseDisplay !== '') spellings.add(prefixDisplay + baseDisplay);
    }
  }
  spellings.add('µs'); // U+00B5, the keyboard micro sign
  return spellings;
}

const UNIT_SPELLINGS = knownUnitSpellings();

export interface MetricAndUnit {
  /** The metric cell as written, which is what `--metric` matches. */
  readonly metric: string;
  /** The metric's name without the unit suffix (`cpu_time_delta`), which `--metric` matches too. */
  readonly name: string;
  /** The unit suffix (`ns`, `By`, `%`), or '' when the cell has none we know. */
  readonly unit: string;
}

export function splitMetricUnit(cell: string): MetricAndUnit {
  const cut = cell.lastIndexOf('_');
  if (cut > 0) {
    const unit = cell.slice(cut + 1);
    // `_1` is the unity in unique names: no unit to show.
    if (unit === '1') return { metric: cell, name: cell.slice(0, cut), unit: '' };
    if (UNIT_SPELLINGS.has(unit)) return { metric: cell, name: cell.slice(0, cut), unit };
  }
  return { metric: cell, name: cell, unit: '' };
}
