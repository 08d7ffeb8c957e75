// Configuration mistakes as a typed error: main.ts prints it as one clear message with no stack trace and
// exits with `exitCode` (a stack trace means a bug). Main thread only.

/**
 * A mistake in the configuration (file, overrides, `--plugins`). It holds every problem found, so
 * `config validate` reports them all at once; `message` is the one problem, or a heading and one
 * indented line per problem.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 1;
  /** One line each, already formatted as `FILE:LINE: key.path: what is wrong`. */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[], heading = 'invalid configuration') {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.length === 1 ? list[0]! : `${heading} (${list.length} problems):\n${list.map((p) => `  ${p}`).join('\n')}`);
    this.problems = list;
  }
}
