// Config schemas: each plugin describes its keys once, with types and defaults. The same description
// generates the default config, merges a user's table over the defaults, and reports every problem with
// the key's full path and, for unknown keys, the closest valid one. Main thread only.

import { parseDuration, DurationError } from '../../protocol/duration.js';
import { parseByteSize, ByteSizeError } from '../../protocol/byte-size.js';
import { closest } from '../../protocol/suggest.js';

/** Collects problems instead of stopping at the first, so `config validate` reports them all. */
export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(path ? `${path}: ${message}` : message);
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

export interface Schema<T> {
  /** Type name for messages: "a string", "a boolean", … */
  readonly expected: string;
  defaultValue(): T;
  /** Checks `value` (never undefined) and returns it with defaults filled in. */
  parse(value: unknown, path: string, problems: Problems): T;
  /** What the schema holds, for tools that walk it (the plugin conformance test); absent for a single value. */
  readonly shape?: SchemaShape;
}

/** The structure of a schema that holds other schemas. */
export type SchemaShape =
  | { readonly kind: 'table'; readonly fields: Readonly<Record<string, Schema<unknown>>> }
  | { readonly kind: 'list'; readonly item: Schema<unknown> }
  | { readonly kind: 'map'; readonly item: Schema<unknown> }
  | { readonly kind: 'optional'; readonly inner: Schema<unknown> };

/** A key that may be absent (`t.optional`): a table makes it an optional property of its type. */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly shape: { readonly kind: 'optional'; readonly inner: Schema<T> };
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type OptionalKeys<F> = { [K in keyof F]: F[K] extends OptionalSchema<unknown> ? K : never }[keyof F];
type Flatten<T> = { [K in keyof T]: T[K] };
/** The type of `t.table(fields)`: one property per field, optional for `t.optional` fields. */
export type TableOf<F extends Record<string, Schema<unknown>>> = Flatten<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

/** A value as messages show it: `the string "x"`, `the number 5`, `an array`, `a table`. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return value instanceof Date ? 'a date' : 'a table';
  if (typeof value === 'bigint') return `the integer ${value}`;
  if (typeof value === 'number') return `the number ${tomlNumber(value)}`;
  return `${typeof value === 'string' ? 'the string' : 'the ' + typeof value} ${JSON.stringify(value)}`;
}

/** A number as TOML writes it (JSON would print `inf` and `nan` as null). */
export function tomlNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(n);
}

function leaf<T>(expected: string, def: T, check: (v: unknown) => string | undefined): Schema<T> {
  return {
    expected,
    defaultValue: () => structuredClone(def),
    parse(value, path, problems) {
      const why = check(value);
      if (why !== undefined) {
        problems.add(path, why);
        return structuredClone(def);
      }
      return value as T;
    },
  };
}

export interface NumberBounds {
  min?: number;
  max?: number;
}

function bounded(value: number, b: NumberBounds): string | undefined {
  if (b.min !== undefined && value < b.min) return `must be >= ${b.min}, got ${value}`;
  if (b.max !== undefined && value > b.max) return `must be <= ${b.max}, got ${value}`;
  return undefined;
}

export const t = {
  bool(def: boolean): Schema<boolean> {
    return leaf('a boolean', def, (v) => (typeof v === 'boolean' ? undefined : `expected a boolean (true or false), got ${describeValue(v)}`));
  },
  string(def: string, opts: { nonEmpty?: boolean } = {}): Schema<string> {
    return leaf('a string', def, (v) => {
      if (typeof v !== 'string') return `expected a string, got ${describeValue(v)}`;
      if (opts.nonEmpty && v === '') return 'must not be empty';
      return undefined;
    });
  },
  int(def: number, bounds: NumberBounds = {}): Schema<number> {
    return leaf('an integer', def, (v) => {
      if (typeof v === 'bigint') return `${v} is too large; ${bounds.max !== undefined ? `must be <= ${bounds.max}` : 'must fit in 53 bits'}`;
      if (typeof v !== 'number' || !Number.isInteger(v)) return `expected an integer, got ${describeValue(v)}`;
      return bounded(v, bounds);
    });
  },
  float(def: number, bounds: NumberBounds = {}): Schema<number> {
    return leaf('a number', def, (v) => {
      if (typeof v !== 'number' || Number.isNaN(v)) return `expected a number, got ${describeValue(v)}`;
      if (!Number.isFinite(v)) return `must be a finite number, got ${tomlNumber(v)}`;
      return bounded(v, bounds);
    });
  },
  /** A humantime duration, kept as the user's string; read it with `parseDuration`. */
  duration(def: string, opts: { min?: string; max?: string } = {}): Schema<string> {
    const minNs = opts.min === undefined ? 1n : parseDuration(opts.min);
    const maxNs = opts.max === undefined ? undefined : parseDuration(opts.max);
    return leaf('a duration', def, (v) => {
      if (typeof v !== 'string') return `expected a duration string such as "10ms" or "1m30s", got ${describeValue(v)}`;
      let ns: bigint;
      try {
        ns = parseDuration(v);
      } catch (e) {
        return e instanceof DurationError ? e.message : String(e);
      }
      if (ns < minNs) return `${JSON.stringify(v)} is too short; the minimum is ${opts.min ?? '1ns'}`;
      if (maxNs !== undefined && ns > maxNs) return `${JSON.stringify(v)} is too long; the maximum is ${opts.max}`;
      return undefined;
    });
  },
  /**
   * A size in bytes: a string with a unit (`"500KB"`, `"1MB"`, `"64MiB"`) or an integer, kept as the user
   * wrote it; read it with `parseByteSize`. `min` (bytes) applies to every value but 0, which keys use for "no limit".
   */
  byteSize(def: string | number, opts: { min?: number } = {}): Schema<string | number> {
    return leaf('a size', def, (v) => {
      if (typeof v !== 'string' && typeof v !== 'number') return `expected a size such as "500KB", "1MB" or a number of bytes, got ${describeValue(v)}`;
      let bytes: number;
      try {
        bytes = parseByteSize(v);
      } catch (e) {
        return e instanceof ByteSizeError ? e.message : String(e);
      }
      if (bytes !== 0 && opts.min !== undefined && bytes < opts.min) return `${JSON.stringify(v)} is too small; the minimum is ${opts.min} bytes (0 for no limit)`;
      return undefined;
    });
  },
  oneOf<const V extends string>(values: readonly V[], def: V): Schema<V> {
    return leaf(`one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, def, (v) => {
      if (typeof v === 'string' && (values as readonly string[]).includes(v)) return undefined;
      const hint = typeof v === 'string' ? closest(v, values) : undefined;
      return `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describeValue(v)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''}`;
    });
  },
  list<T>(item: Schema<T>, def: T[]): Schema<T[]> {
    return {
      expected: `an array of ${item.expected}`,
      shape: { kind: 'list', item },
      defaultValue: () => structuredClone(def),
      parse(value, path, problems) {
        if (!Array.isArray(value)) {
          problems.add(path, `expected an array of ${item.expected}, got ${describeValue(value)}`);
          return structuredClone(def);
        }
        return value.map((v, i) => item.parse(v, `${path}[${i}]`, problems));
      },
    };
  },
  /** A key that may be absent; it has no default and is omitted from generated configs. */
  optional<T>(inner: Schema<T>): OptionalSchema<T> {
    return {
      expected: inner.expected,
      shape: { kind: 'optional', inner },
      defaultValue: () => undefined,
      parse: (value, path, problems) => inner.parse(value, path, problems),
    };
  },
  /** A table with known keys: unknown keys are errors; missing keys take their defaults. */
  table<F extends Record<string, Schema<unknown>>>(fields: F): Schema<TableOf<F>> {
    type Out = TableOf<F>;
    const keys = Object.keys(fields);
    return {
      expected: 'a table',
      shape: { kind: 'table', fields },
      defaultValue() {
        const out: Record<string, unknown> = {};
        for (const k of keys) {
          const v = fields[k]!.defaultValue();
          if (v !== undefined) out[k] = v;
        }
        return out as Out;
      },
      parse(value, path, problems) {
        if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
          problems.add(path, `expected a table, got ${describeValue(value)}`);
          return this.defaultValue();
        }
        const input = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(input)) {
          if (!Object.hasOwn(fields, k)) {
            const hint = closest(k, keys);
            problems.add(path ? `${path}.${k}` : k, `unknown key${hint ? `; did you mean "${hint}"?` : ''} (valid keys: ${keys.join(', ')})`);
          }
        }
        for (const k of keys) {
          const keyPath = path ? `${path}.${k}` : k;
          const v = input[k] === undefined ? fields[k]!.defaultValue() : fields[k]!.parse(input[k], keyPath, problems);
          if (v !== undefined) out[k] = v;
        }
        return out as Out;
      },
    };
  },
  /** A table whose keys are free names (e.g. formulas), each holding a value of `item`. */
  map<T>(item: Schema<T>, def: Record<string, T> = {}): Schema<Record<string, T>> {
    return {
      expected: 'a table',
      shape: { kind: 'map', item },
      defaultValue: () => structuredClone(def),
      parse(value, path, problems) {
        if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
          problems.add(path, `expected a table, got ${describeValue(value)}`);
          return structuredClone(def);
        }
        const out: Record<string, T> = {};
        for (const [k, v] of Object.entries(value)) out[k] = item.parse(v, `${path}.${k}`, problems);
        return out;
      },
    };
  },
};
