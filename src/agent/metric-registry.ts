// The metric registry (main thread): ids are sequential from 0, names are unique, and a plugin that registers
// a metric someone else already has gets the same id back if the two agree on unit and value type.

import { F64, type ValueType } from '../protocol/batch.js';
import type { MetricInfo, Unit } from '../protocol/metrics.js';
import { unitDisplayName, unitEquals, unitUniqueName } from '../protocol/units.js';

/** A registration that clashes with a metric of the same name and another unit or value type. */
export class MetricError extends Error {
  override readonly name = 'MetricError';
}

function valueTypeName(type: ValueType): 'F64' | 'U64' {
  return type === F64 ? 'F64' : 'U64';
}

function compatible(m: MetricInfo, type: ValueType, unit: Unit): boolean {
  return m.type === type && unitEquals(m.unit, unit);
}

function quoteUnit(u: Unit): string {
  return JSON.stringify(unitUniqueName(u));
}

export class MetricRegistry {
  readonly #byId: MetricInfo[] = [];
  readonly #byName = new Map<string, MetricInfo>();

  /**
   * Alumet's rule for plugins (criteria Incompatible, reaction Error): a metric with the same name, unit and
   * type is returned as is (its description and delta flag are kept); a same name with another unit or type
   * is an error. `delta`: each point is the change since the previous poll.
   */
  register(name: string, type: ValueType, unit: Unit, description: string, delta = false): MetricInfo {
    const existing = this.#byName.get(name);
    if (existing === undefined) return this.#add(name, type, unit, description, delta);
    if (compatible(existing, type, unit)) return existing;
    const differences: string[] = [];
    if (existing.type !== type) differences.push(`type ${valueTypeName(type)} instead of ${valueTypeName(existing.type)}`);
    if (!unitEquals(existing.unit, unit)) differences.push(`unit ${quoteUnit(unit)} instead of ${quoteUnit(existing.unit)}`);
    throw new MetricError(
      `This metric has already been registered: ${name} (id ${existing.id}, ${valueTypeName(existing.type)} in ` +
        `${quoteUnit(existing.unit)}); registering it again needs the same type and unit, got ${differences.join(' and ')}`,
    );
  }

  /**
   * Alumet's Rename reaction: a clash registers the metric as `NAME_SUFFIX`, then `NAME_SUFFIX_2`, `_3`, …;
   * a candidate that already has the same unit and type is reused instead.
   */
  registerOrRename(name: string, type: ValueType, unit: Unit, description: string, suffix: string): MetricInfo {
    const existing = this.#byName.get(name);
    if (existing === undefined) return this.#add(name, type, unit, description);
    if (compatible(existing, type, unit)) return existing;
    const base = `${name}_${suffix}`;
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base}_${n}`;
      const other = this.#byName.get(candidate);
      if (other === undefined) return this.#add(candidate, type, unit, description);
      if (compatible(other, type, unit)) return other;
    }
  }

  get(id: number): MetricInfo | undefined {
    return this.#byId[id];
  }

  byName(name: string): MetricInfo | undefined {
    return this.#byName.get(name);
  }

  /** Every metric, in id order. */
  all(): MetricInfo[] {
    return this.#byId.slice();
  }

  get size(): number {
    return this.#byId.length;
  }

  #add(name: string, type: ValueType, unit: Unit, description: string, delta = false): MetricInfo {
    const info: MetricInfo = Object.freeze({ id: this.#byId.length, name, description, type, unit: Object.freeze({ ...unit }), ...(delta ? { delta: true as const } : {}) });
    this.#byId.push(info);
    this.#byName.set(name, info);
    return info;
  }
}

/** One line of the start-up metric list, as Alumet logs it: `    - cpu_time_delta: U64 (ns)`. */
export function describeMetric(m: MetricInfo): string {
  return `    - ${m.name}: ${valueTypeName(m.type)} (${unitDisplayName(m.unit)})`;
}
