// Scenario `influxdb` (main thread of the bench process), against the real agent and a real InfluxDB 1.x
// (influxd, test/helpers/influxdb.ts): points per second the influxdb output (api = "v1") gets accepted,
// from a synthetic source producing more than that; baseline in the same run: plain HTTP POSTs of bodies of
// the same shape (5000 lines, as max_points_per_write makes them, encoded by the output's own encoder),
// back to back, as fast as influxd takes them.

import type { TestContext } from 'node:test';
import { LineEncoder } from '../src/plugins/influxdb/line-protocol.js';
import { F64, type MetricInfo } from '../src/protocol/element-api.js';
import { BatchBuilder } from '../src/protocol/batch-builder.js';
import { startInfluxdb } from '../test/helpers/influxdb.js';
import { acceptedPerSecond, startAgent } from './push-agent.js';
import { log, rmrf, tempDir, type Scenario } from './util.js';

const WRITE_SECONDS = Number(process.env['BENCH_ROUND_MS'] ?? 10_000) / 1000;
/** One point per series per poll: no two points share series and timestamp, so none is collapsed. */
const SERIES = 2000;
const LINES_PER_POST = 5000;
const DB = 'bench';

/** Bodies of the shape the agent sends: SERIES synthetic series, a new timestamp per poll. */
function baselineBodies(count: number, startSec: number): Buffer[] {
  const metrics = new Map<number, MetricInfo>(Array.from({ length: SERIES }, (_, id) => [id, { id, name: `baseline_${id}`, type: F64, unit: { base: '1', prefix: '' }, description: '' }]));
  const encoder = new LineEncoder({ attributesAs: 'field', asTags: new Set(), asFields: new Set(), unsigned: false }, metrics);
  const bodies: Buffer[] = [];
  let poll = 0;
  for (let b = 0; b < count; b++) {
    const builder = new BatchBuilder(LINES_PER_POST);
    for (let i = 0; i < LINES_PER_POST; i++) {
      const m = (b * LINES_PER_POST + i) % SERIES;
      if (m === 0) poll++;
      builder.push({ id: m, name: `baseline_${m}`, type: F64 }, { sec: startSec + Math.floor(poll / 100), nsec: (poll % 100) * 10_000_000 }, poll);
    }
    bodies.push(Buffer.from(encoder.encode(builder.take(), undefined).body));
  }
  return bodies;
}

async function run(dir: string): Promise<{ agentPerS: number; postPerS: number }> {
  const cleanups: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  try {
    const influx = await startInfluxdb(t);
    await influx.createDatabase(DB);
    const agent = startAgent(
      dir,
      `[plugins.synthetic]\npoll_interval = "10ms"\npoints_per_poll = ${SERIES}\nmetrics = ${SERIES}\n` +
        `[plugins.influxdb]\napi = "v1"\nhost = "${influx.base}"\ndatabase = "${DB}"\n` +
        `[plugins.socket-control]\nsocket_path = "ctl.sock"\n`,
    );
    cleanups.push(() => agent.stop());
    const agentPerS = await acceptedPerSecond(dir, WRITE_SECONDS, 'write');
    await agent.stop();

    // Timestamps a day ahead of the agent's, so the baseline's points are new ones, not overwrites (until
    // the bodies come round again: 100 of them, half a million points, are what memory allows beforehand).
    const bodies = baselineBodies(100, Math.floor(Date.now() / 1000) + 86_400);
    const url = `${influx.base}/write?db=${DB}&precision=ns`;
    let posted = 0;
    let refused = 0;
    const p0 = performance.now();
    for (let i = 0; performance.now() - p0 < WRITE_SECONDS * 1000; i++) {
      const body = bodies[i % bodies.length]!;
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body });
      await res.arrayBuffer();
      if (res.status === 204) posted += LINES_PER_POST;
      else refused++;
    }
    if (refused > 0) log(`influxdb: ${refused} baseline POSTs were refused`);
    const postPerS = posted / ((performance.now() - p0) / 1000);
    return { agentPerS, postPerS };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

export const influxdb: Scenario = {
  name: 'influxdb',
  what: 'points/s the influxdb output (v1) gets accepted by a real influxd (vs plain POSTs of bodies of the same shape)',
  async run() {
    const dir = tempDir('alumet-bench-influx-');
    try {
      const r = await run(dir);
      log(`influxdb: ${Math.round(r.agentPerS)} points/s accepted; plain POSTs ${Math.round(r.postPerS)} points/s`);
      return {
        json: {
          series: SERIES,
          points_per_s: Math.round(r.agentPerS),
          baseline_plain_post: { points_per_s: Math.round(r.postPerS), lines_per_post: LINES_PER_POST },
        },
        rows: [{ figure: 'influxdb v1 write', value: Math.round(r.agentPerS), unit: 'points/s', baseline: { name: 'plain POSTs of the same bodies', value: Math.round(r.postPerS) } }],
      };
    } finally {
      rmrf(dir);
    }
  },
};
