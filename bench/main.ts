// `npm run bench [-- NAME… [--json]]` (main thread of the bench process): runs the named scenarios (all of
// them by default), prints one table, and writes every figure to bench-results.json. With `--json` and one
// name it prints exactly that scenario's JSON object on stdout; progress always goes to stderr.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { throughput } from './throughput.js';
import { frequency } from './frequency.js';
import { control } from './control.js';
import { csv } from './csv.js';
import { idle } from './idle.js';
import { sources } from './sources.js';
import { prometheus } from './prometheus.js';
import { relay } from './relay.js';
import { influxdb } from './influxdb.js';
import { otlp } from './otlp.js';
import { REPO_ROOT, log, machineFacts, renderMarkdown, renderTable, type Row, type Scenario } from './util.js';

/** Every scenario, in the order a full run takes them. A new scenario is one file and one entry here. */
const SCENARIOS: readonly Scenario[] = [throughput, frequency, control, csv, idle, sources, prometheus, influxdb, otlp, relay];

const USAGE = `usage: npm run bench [-- [NAME…] [--json] [--markdown]]
  NAME        scenarios to run (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --json      print one JSON object on stdout (the scenario's figures, or all of them keyed by name)
  --markdown  print the table as Markdown (for the README)
scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(11)} ${s.what}`).join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  const names: string[] = [];
  let json = false;
  let markdown = false;
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '--markdown') markdown = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else if (a.startsWith('-')) {
      process.stderr.write(`bench: unknown option ${a}\n${USAGE}`);
      return 2;
    } else names.push(a);
  }
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')}; valid: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  const chosen = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  const machine = machineFacts();
  log(`machine: ${machine.cpus} CPUs, ${machine.cpu_model}, node ${machine.node}, load ${machine.load_average.join(' ')}`);

  const results: Array<{ scenario: string; rows: Row[]; json: Record<string, unknown>; seconds: number; load: number[] }> = [];
  let failed = false;
  for (const s of chosen) {
    // The load average says how much a shared machine's neighbours may have disturbed the figures.
    const load = machineFacts().load_average;
    log(`--- ${s.name} (load average ${load.join(' ')})`);
    const t0 = performance.now();
    try {
      const r = await s.run();
      results.push({ scenario: s.name, rows: r.rows, json: r.json, seconds: (performance.now() - t0) / 1000, load });
    } catch (e) {
      failed = true;
      log(`${s.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      results.push({ scenario: s.name, rows: [], json: { error: e instanceof Error ? e.message : String(e) }, seconds: (performance.now() - t0) / 1000, load });
    }
    log(`${s.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const all = {
    date: new Date().toISOString(),
    machine,
    scenarios: Object.fromEntries(results.map((r) => [r.scenario, { ...r.json, seconds: Math.round(r.seconds * 10) / 10, load_average_before: r.load }])),
  };
  if (names.length === 0) {
    writeFileSync(join(REPO_ROOT, 'bench-results.json'), JSON.stringify(all, null, 2) + '\n');
    log('figures written to bench-results.json');
  }
  if (json) {
    const one = results.length === 1 ? results[0]!.json : all;
    process.stdout.write(JSON.stringify(one) + '\n');
  } else {
    process.stdout.write(markdown ? renderMarkdown(results) : renderTable(results));
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
