// Reading the config file: generate it with the defaults when it is missing, replace `${VAR}` with the
// environment, and parse the TOML, each failure a ConfigError naming the file and line. Main thread.

import { readFileSync, writeFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import type { AnyPlugin } from '../plugin-api.js';
import { generateDefaultConfig } from './default-config.js';
import { ConfigError } from './errors.js';

/** A TOML table as smol-toml gives it. */
export type Table = Record<string, unknown>;

/** The text of the config file; a missing one is written with the defaults first, unless `noDefault`. */
export function readOrGenerate(path: string, noDefault: boolean, plugins: readonly AnyPlugin[]): { text: string; generated: boolean } {
  try {
    return { text: readFileSync(path, 'utf8'), generated: false };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') throw new ConfigError(`${path}: cannot read the config file: ${err.message}`);
  }
  if (noDefault) {
    throw new ConfigError(`${path}: the config file does not exist (--no-default-config forbids generating it); create it or run "alumet-agent config regen"`);
  }
  const text = generateDefaultConfig(plugins);
  try {
    // 'wx': if another process created the file meanwhile, read theirs rather than overwrite it.
    writeFileSync(path, text, { flag: 'wx' });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') return readOrGenerate(path, true, plugins);
    throw new ConfigError(`${path}: the config file does not exist and the default could not be written there: ${err.message}`);
  }
  return { text, generated: true };
}

/** Replaces `${NAME}` with the environment variable on the raw text (keys and headers too); `\${` is a literal `${`. */
export function substituteEnv(text: string, file: string, env: NodeJS.ProcessEnv): string {
  const problems: string[] = [];
  let out = '';
  let pos = 0;
  for (;;) {
    const start = text.indexOf('${', pos);
    if (start < 0) break;
    if (start > 0 && text[start - 1] === '\\') {
      out += text.slice(pos, start - 1) + '${';
      pos = start + 2;
      continue;
    }
    const at = `${file}:${lineOf(text, start)}`;
    const end = text.indexOf('}', start + 2);
    const eol = text.indexOf('\n', start);
    if (end < 0 || (eol >= 0 && eol < end)) {
      problems.push(`${at}: unclosed "\${"; write \${NAME} for an environment variable, or \\\${ for a literal "\${"`);
      out += text.slice(pos, start + 2);
      pos = start + 2;
      continue;
    }
    const name = text.slice(start + 2, end);
    let value = '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      problems.push(`${at}: ${JSON.stringify(text.slice(start, end + 1))} is not an environment variable reference; a name has letters, digits and _ (or write \\\${ for a literal "\${")`);
    } else if (env[name] === undefined) {
      problems.push(`${at}: environment variable ${name} is not set`);
    } else {
      value = env[name];
    }
    out += text.slice(pos, start) + value;
    pos = end + 1;
  }
  if (problems.length > 0) throw new ConfigError(problems, `cannot substitute environment variables in ${file}`);
  return out + text.slice(pos);
}

/** The TOML document; a syntax error is a ConfigError with file, line and column. */
export function parseToml(text: string, file: string): Table {
  try {
    return parse(text, { integersAsBigInt: 'asNeeded' });
  } catch (e) {
    if (e instanceof TomlError) throw new ConfigError(`${file}:${e.line}:${e.column}: invalid TOML: ${tomlMessage(e)}`);
    throw e;
  }
}

/** smol-toml's message without its "Invalid TOML document:" prefix and the code block after it. */
export function tomlMessage(e: TomlError): string {
  return e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
}

/** A TOML table (not an array, a date or a scalar). */
export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
