// `alumet-agent plot` through the real binary: the SVG and the HTML rendered by a real headless Chromium,
// checked for their panels, axes, legend and lines (a known value at a known time, in the markup and in the
// screenshot's pixels); the page's script run without errors, hovered and zoomed; bad rows reported by file
// and line; a large file streamed in a small heap with its peak kept; the progress bar on a terminal only;
// `exec --plot` at the end of a run.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'puppeteer-core';
import { MAIN_JS, rmrf, runAgentToEnd, tempDir } from './helpers/agent-process.js';
import { colorDistance, hexColor, inPage, launchBrowser, pixelsAt } from './helpers/browser.js';

const HEADER = 'metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;sensor;__late_attributes';
/** 2025-04-25T15:00:00Z; every test point is a quarter second past a whole second, to read the fraction too. */
const T0 = Date.UTC(2025, 3, 25, 15, 0, 0);
const timeOf = (s: number): number => T0 + s * 1000 + 250;
/** As the csv output writes it: `2025-04-25T15:00:30.25Z`. */
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');

/**
 * 61 seconds of two power series (cpu_package 0 rises 2 W/s from 0, package 1 falls 1 W/s from 100) and a
 * temperature at 40 °C with one 90 °C spike at second 30.
 */
function knownCsv(): string {
  const lines = [HEADER];
  for (let s = 0; s <= 60; s++) {
    const ts = stamp(timeOf(s));
    lines.push(`power_W;${ts};${2 * s};cpu_package;0;local_machine;;;`);
    lines.push(`power_W;${ts};${100 - s};cpu_package;1;local_machine;;;`);
    lines.push(`temperature_°C;${ts};${s === 30 ? 90 : 40};local_machine;;local_machine;;die;`);
  }
  return lines.join('\n') + '\n';
}

function setup(t: import('node:test').TestContext, csv = knownCsv()): { dir: string; csv: string } {
  const dir = tempDir('alumet-plot-');
  t.after(() => rmrf(dir));
  writeFileSync(join(dir, 'data.csv'), csv);
  return { dir, csv: join(dir, 'data.csv') };
}

async function plot(dir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return runAgentToEnd(['plot', ...args], { cwd: dir, timeout: 120_000, ...(env ? { env } : {}) });
}

interface SvgPanel {
  unit: string;
  title: string;
  area: { x: number; y: number; width: number; height: number; t0: number; t1: number; v0: number; v1: number };
  legend: string[];
  series: Array<{ label: string; color: string; points: Array<[number, number]> }>;
  timeLabels: string[];
  valueLabels: string[];
  axisTitles: string[];
}

/** What the SVG shows, read from the DOM the browser built from it. */
const READ_SVG = `() => [...document.querySelectorAll('g.panel')].map((g) => {
  const a = g.querySelector('.plot-area').dataset;
  return {
    unit: g.dataset.unit,
    title: g.querySelector('text.title').textContent,
    area: { x: +a.x, y: +a.y, width: +a.width, height: +a.height, t0: +a.t0, t1: +a.t1, v0: +a.v0, v1: +a.v1 },
    legend: [...g.querySelectorAll('.legend-entry text')].map((e) => e.textContent),
    series: [...g.querySelectorAll('path.series')].map((p) => ({
      label: p.dataset.label,
      color: p.getAttribute('stroke'),
      points: [...p.getAttribute('d').matchAll(/[ML]([-\\d.]+) ([-\\d.]+)/g)].map((m) => [+m[1], +m[2]]),
    })),
    timeLabels: [...g.querySelectorAll('.axis.x text[data-t]')].map((e) => e.textContent),
    valueLabels: [...g.querySelectorAll('.axis.y text:not(.unit)')].map((e) => e.textContent),
    axisTitles: [...g.querySelectorAll('.axis text.unit, .axis text.time-title')].map((e) => e.textContent),
  };
})`;

/** The pixel where (time, value) lands in a panel's plot area. */
function pixelOf(p: SvgPanel, time: number, value: number): [number, number] {
  const a = p.area;
  return [a.x + ((time - a.t0) / (a.t1 - a.t0)) * a.width, a.y + a.height - ((value - a.v0) / (a.v1 - a.v0)) * a.height];
}

async function openSvg(page: Page, path: string): Promise<SvgPanel[]> {
  const svg = readFileSync(path, 'utf8');
  const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!;
  await page.setViewport({ width: Number(width), height: Number(height), deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(path).href);
  return inPage<SvgPanel[]>(page, READ_SVG);
}

test('plot FILE.csv -o OUT.svg: a panel per unit with axes, a legend and lines through the known values, in the markup and in the pixels', async (t) => {
  const { dir, csv } = setup(t);
  const out = join(dir, 'out.svg');
  const r = await plot(dir, [csv, '-o', out]);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /out\.svg: 2 panel\(s\), 3 series, 183 points/);

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  const panels = await openSvg(page, out);
  assert.deepEqual(panels.map((p) => p.unit), ['W', '°C']);
  const [power, temperature] = panels as [SvgPanel, SvgPanel];
  assert.deepEqual(power.legend, ['power_W cpu_package:0', 'power_W cpu_package:1']);
  assert.deepEqual(temperature.legend, ['temperature_°C sensor=die']);
  assert.deepEqual(power.series.map((s) => s.label), power.legend, 'one line per legend entry');
  assert.equal(power.title, 'power_W (W)');
  // Axes: real times (UTC) every 10 s, round values, titles with the unit and the date.
  assert.deepEqual(power.timeLabels, ['15:00:10', '15:00:20', '15:00:30', '15:00:40', '15:00:50', '15:01:00']);
  assert.deepEqual(power.axisTitles, ['W', 'time (UTC, 2025-04-25)']);
  assert.deepEqual(power.valueLabels, ['0', '50', '100', '150']);
  assert.equal(power.area.t0, timeOf(0));
  assert.equal(power.area.t1, timeOf(60));

  // Known values at known times: 60 W on package 0 and the 90 °C spike at second 30 are vertices of their lines.
  const near = (points: Array<[number, number]>, [x, y]: [number, number]): boolean => points.some(([px, py]) => Math.abs(px - x) < 0.6 && Math.abs(py - y) < 0.6);
  const p60 = pixelOf(power, timeOf(30), 60);
  const spike = pixelOf(temperature, timeOf(30), 90);
  assert.ok(near(power.series[0]!.points, p60), `a vertex of package 0 at ${p60}`);
  assert.ok(near(power.series[1]!.points, pixelOf(power, timeOf(30), 70)), 'package 1 at 70 W');
  assert.ok(near(temperature.series[0]!.points, spike), `the spike at ${spike}`);
  assert.equal(power.series[0]!.points.length, 61, 'fewer points than pixel columns: every point is a vertex');

  // The screenshot: the line's colour where the values are, the background where there is none.
  const png = await page.screenshot({ type: 'png' });
  writeFileSync(join(dir, 'out.png'), png);
  const around = ([x, y]: [number, number]): Array<[number, number]> => {
    const pts: Array<[number, number]> = [];
    for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) pts.push([Math.round(x) + dx, Math.round(y) + dy]);
    return pts;
  };
  // A pixel of the line: nearer its colour than the white background is (antialiasing blends the edges).
  const inked = async (at: [number, number], color: string): Promise<boolean> => {
    const line = hexColor(color);
    const nearest = Math.min(...(await pixelsAt(browser, png, around(at))).map((c) => colorDistance(c, line)));
    return nearest < colorDistance(line, hexColor('#ffffff')) / 2;
  };
  assert.ok(await inked(p60, power.series[0]!.color), 'package 0 is drawn at 60 W, second 30');
  assert.ok(await inked(spike, temperature.series[0]!.color), 'the spike is drawn');
  assert.ok(await inked(pixelOf(temperature, timeOf(15), 40), temperature.series[0]!.color), 'the flat part at 40 °C is drawn');
  const blank = (await pixelsAt(browser, png, around(pixelOf(power, timeOf(5), 110)))).every((c) => colorDistance(c, hexColor('#ffffff')) === 0);
  assert.ok(blank, 'nothing drawn at 110 W, second 5');
});

test('plot -o OUT.html: one self-contained page, no script error, values on hover, zoom on time shared by every panel', async (t) => {
  const { dir, csv } = setup(t);
  const out = join(dir, 'out.html');
  const r = await plot(dir, [csv, '-o', out]);
  assert.equal(r.code, 0, r.output);
  const html = readFileSync(out, 'utf8');
  assert.ok(!/<script[^>]+src=|<link[^>]+href=/.test(html), 'no external script or stylesheet');

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('request', (req) => {
    if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) problems.push(`request: ${req.url()}`);
  });
  await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
  await page.waitForFunction('window.alumetPlots !== undefined', { timeout: 60_000 });

  const layout = await inPage<{ charts: number; titles: string[]; labels: string[][] }>(
    page,
    `() => ({
      charts: document.querySelectorAll('.uplot').length,
      titles: [...document.querySelectorAll('.uplot .u-title')].map((e) => e.textContent),
      labels: [...document.querySelectorAll('.uplot')].map((u) => [...u.querySelectorAll('.u-legend .u-series .u-label')].map((e) => e.textContent)),
    })`,
  );
  assert.deepEqual(layout, {
    charts: 2,
    titles: ['power_W (W)', 'temperature_°C (°C)'],
    labels: [
      ['time (UTC)', 'power_W cpu_package:0', 'power_W cpu_package:1'],
      ['time (UTC)', 'temperature_°C sensor=die'],
    ],
  });

  // Hover over second 30 of the power chart: the legends read the values there, in both charts (synced cursor).
  const pointAt = `(chart, seconds) => {
    const u = window.alumetPlots[chart];
    const box = u.over.getBoundingClientRect();
    return [box.left + u.valToPos(seconds, 'x'), box.top + box.height / 2];
  }`;
  const [hx, hy] = await inPage<[number, number]>(page, pointAt, 0, timeOf(30) / 1000);
  await page.mouse.move(hx, hy);
  const values = await page.waitForFunction(
    `(() => { const v = [...document.querySelectorAll('.u-legend .u-series .u-value')].map((e) => e.textContent); return v.includes('60 W') && v.includes('90 °C') && v; })()`,
    { timeout: 30_000 },
  );
  assert.deepEqual(await values.jsonValue(), ['2025-04-25 15:00:30.250', '60 W', '70 W', '2025-04-25 15:00:30.250', '90 °C']);

  // Drag from second 10 to second 20 on the power chart: both charts show that range.
  const [x10] = await inPage<[number, number]>(page, pointAt, 0, timeOf(10) / 1000);
  const [x20] = await inPage<[number, number]>(page, pointAt, 0, timeOf(20) / 1000);
  await page.mouse.move(x10, hy);
  await page.mouse.down();
  await page.mouse.move((x10 + x20) / 2, hy, { steps: 5 });
  await page.mouse.move(x20, hy, { steps: 5 });
  await page.mouse.up();
  const ranges = await inPage<Array<[number, number]>>(page, `() => window.alumetPlots.map((u) => [u.scales.x.min, u.scales.x.max])`);
  for (const [min, max] of ranges) {
    assert.ok(Math.abs(min - timeOf(10) / 1000) < 0.5 && Math.abs(max - timeOf(20) / 1000) < 0.5, `zoomed on seconds 10-20: ${ranges.join(' | ')}`);
  }
  const png = await page.screenshot({ type: 'png' });
  writeFileSync(join(dir, 'out-html.png'), png);
  assert.deepEqual(problems, []);
});

test('bad rows are reported as FILE:LINE and skipped; a file that is not an Alumet CSV, an unknown metric and a bad output name are one-line errors', async (t) => {
  const good = (s: number, v: number): string => `power_W;${stamp(timeOf(s))};${v};cpu_package;0;local_machine;;;`;
  const { dir, csv } = setup(
    t,
    [
      HEADER,
      good(0, 1),
      // Quoted cells as the csv output writes them: a delimiter, doubled quotes and a line break inside.
      `power_W;${stamp(timeOf(0))};2;cpu_package;"0;1";"say ""hi""";"two\nlines";;`,
      `power_W;yesterday;1;cpu_package;0;local_machine;;;`,
      `power_W;${stamp(timeOf(1))};lots;cpu_package;0;local_machine;;;`,
      `power_W;${stamp(timeOf(2))};3;cpu_package`,
      good(3, 4),
      `power_W;${stamp(timeOf(4))};5;"cpu;package;0;local_machine;;;`,
      good(5, 6),
    ].join('\n') + '\n',
  );
  const out = join(dir, 'out.svg');
  const r = await plot(dir, [csv, '-o', out]);
  assert.equal(r.code, 0, r.output);
  assert.ok(r.output.includes(`${csv}:5: timestamp "yesterday" is not RFC 3339`), r.output);
  assert.ok(r.output.includes(`${csv}:6: value "lots" is not a number`), r.output);
  assert.ok(r.output.includes(`${csv}:7: 4 cells where the header has 9`), r.output);
  assert.ok(r.output.includes(`${csv}:9: a quoted cell opens here and is never closed`), r.output);
  assert.match(r.output, /out\.svg: 1 panel\(s\), 2 series, 3 points, 4 bad rows skipped/);
  const svg = readFileSync(out, 'utf8');
  assert.ok(svg.includes('data-label="power_W cpu_package:0;1 say &#34;hi&#34;:two\nlines"'), 'the quoted cells are read whole');

  writeFileSync(join(dir, 'other.csv'), 'name,value\nx,1\n');
  const notAlumet = await plot(dir, ['other.csv', '-o', 'x.svg']);
  assert.equal(notAlumet.code, 1);
  assert.match(notAlumet.output, /^error: other\.csv:1: not an Alumet CSV header: expected metric;timestamp;value;.*found "name,value"\n$/);

  const unknown = await plot(dir, [csv, '--metric', 'powr_W', '-o', 'x.svg']);
  assert.equal(unknown.code, 1);
  assert.ok(unknown.output.endsWith(`\nerror: ${csv}: no metric "powr_W" in the file; did you mean "power_W"?\n`), unknown.output);

  const missing = await plot(dir, ['nothing.csv']);
  assert.equal(missing.code, 1);
  assert.match(missing.output, /^error: nothing\.csv: cannot read the file: ENOENT/);

  const format = await plot(dir, [csv, '-o', 'x.png']);
  assert.equal(format.code, 2);
  assert.match(format.output, /the plot's output must end in \.svg \(static\) or \.html \(interactive\), got "x\.png"/);
  assert.ok(!existsSync(join(dir, 'x.svg')), 'no plot written by a failed command');
});

test('filters and rates: --metric, --resource, --attribute, --since/--until, and --rate turns a delta metric into a per-second rate', async (t) => {
  const lines = [HEADER];
  for (let s = 0; s <= 20; s += 2) {
    const ts = stamp(timeOf(s));
    lines.push(`rapl_consumed_energy_J;${ts};${10 + s};package;0;local_machine;;;`);
    lines.push(`power_W;${ts};${s};cpu_package;0;local_machine;;;`);
    lines.push(`power_W;${ts};${s};cpu_package;1;local_machine;;;`);
    lines.push(`temperature_°C;${ts};40;local_machine;;local_machine;;die;`);
    lines.push(`temperature_°C;${ts};50;local_machine;;local_machine;;board;`);
  }
  const { dir, csv } = setup(t, lines.join('\n') + '\n');
  const browser = await launchBrowser(t);
  const page = await browser.newPage();

  const rate = await plot(dir, [csv, '--metric', 'rapl_consumed_energy', '--rate', '-o', 'rate.svg']);
  assert.equal(rate.code, 0, rate.output);
  const [energy] = await openSvg(page, join(dir, 'rate.svg'));
  assert.equal(energy!.unit, 'J/s');
  // (10 + s) J over the 2 s before s: (10 + 8) / 2 = 9 J/s at s = 8; no rate for the first point.
  const points = energy!.series[0]!.points;
  assert.equal(points.length, 10);
  const [x8, y8] = pixelOf(energy!, timeOf(8), 9);
  assert.ok(points.some(([x, y]) => Math.abs(x - x8) < 0.6 && Math.abs(y - y8) < 0.6), `9 J/s at second 8: ${JSON.stringify(points)}`);

  const some = await plot(dir, [csv, '--metric', 'power_W,temperature', '--resource', 'cpu_package:1', '-o', 'some.svg']);
  assert.equal(some.code, 0, some.output);
  assert.deepEqual((await openSvg(page, join(dir, 'some.svg'))).map((p) => p.legend), [['power_W cpu_package:1']]);

  const attr = await plot(dir, [csv, '--attribute', 'sensor=board', '--since', '4s', '--until', stamp(timeOf(12)), '-o', 'attr.svg']);
  assert.equal(attr.code, 0, attr.output);
  const [board] = await openSvg(page, join(dir, 'attr.svg'));
  assert.deepEqual(board!.legend, ['temperature_°C sensor=board']);
  assert.deepEqual([board!.area.t0, board!.area.t1], [timeOf(4), timeOf(12)], 'from 4 s after the first point to the given time');

  const badSince = await plot(dir, [csv, '--since', 'soon']);
  assert.equal(badSince.code, 2);
  assert.match(badSince.output, /^error: --since: "soon" is neither an RFC 3339 time/);
});

test('a large file streams through a small heap; a series of more points than pixels keeps its peak', async (t) => {
  const dir = tempDir('alumet-plot-');
  t.after(() => rmrf(dir));
  const csv = join(dir, 'big.csv');
  const rows = 600_000;
  const peakAt = 400_001;
  const file = createWriteStream(csv);
  file.write('metric;timestamp;value;resource_kind;resource_id;consumer_kind;consumer_id;__late_attributes\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    // Two cores polled every 10 ms with nanosecond timestamps, values 10-16, one 99.5 on core 1.
    chunk += `cpu_percent_%;${new Date(T0 + 10 * i).toISOString().replace('Z', '123456Z')};${i === peakAt ? 99.5 : 10 + (i % 7)};cpu_core;${i % 2};local_machine;;\n`;
    if (chunk.length > 1 << 20) {
      if (!file.write(chunk)) await once(file, 'drain');
      chunk = '';
    }
  }
  file.end(chunk);
  await once(file, 'finish');

  // 45 MB of rows in a 24 MB heap: it fails unless the file streams and the series stay bounded.
  const r = await plot(dir, [csv, '-o', 'big.svg'], { NODE_OPTIONS: '--max-old-space-size=24' });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /big\.svg: 1 panel\(s\), 2 series, 600000 points/);

  const browser = await launchBrowser(t);
  const [panel] = await openSvg(await browser.newPage(), join(dir, 'big.svg'));
  const [core0, core1] = panel!.series;
  assert.ok(core1!.label.endsWith('cpu_core:1'));
  for (const s of [core0!, core1!]) assert.ok(s.points.length <= 4 * panel!.area.width, `${s.label}: ${s.points.length} vertices for ${panel!.area.width} columns`);
  const peakY = pixelOf(panel!, T0 + 10 * peakAt, 99.5)[1];
  assert.ok(Math.abs(Math.min(...core1!.points.map(([, y]) => y)) - peakY) < 0.6, 'the 99.5 % peak is the highest vertex of core 1');
  assert.ok(Math.min(...core0!.points.map(([, y]) => y)) > pixelOf(panel!, T0, 17)[1] - 0.6, 'core 0 never goes above 16 %');
});

test('a progress bar on a terminal (a pseudo-terminal made by script(1)), none in a pipe', async (t) => {
  const { dir, csv } = setup(t);
  // script -e: its exit status is the command's; -f: flush as the command writes.
  const tty = await promisify(execFile)('script', ['-qfec', `${process.execPath} ${MAIN_JS} plot ${csv} -o ${join(dir, 'tty.svg')}`, '/dev/null'], { cwd: dir, timeout: 120_000 });
  assert.match(tty.stdout, /\rreading data\.csv \[#{30}\] 100% 0\.\d MB \/ 0\.\d MB\r\x1b\[K/, JSON.stringify(tty.stdout));
  assert.ok(existsSync(join(dir, 'tty.svg')));
  const piped = await plot(dir, [csv, '-o', 'piped.svg']);
  assert.equal(piped.code, 0, piped.output);
  assert.ok(!piped.output.includes('reading'), piped.output);
});

test('exec --plot OUT.html writes the plot of the run when it ends', async (t) => {
  const dir = tempDir('alumet-plot-');
  t.after(() => rmrf(dir));
  const r = await runAgentToEnd(
    ['--plugins', 'procfs,csv', '--output-file', 'run.csv', '--config', 'c.toml', '--config-override', 'plugins.procfs.kernel.poll_interval="100ms"', 'exec', '--plot', 'run.html', 'sleep', '1'],
    { cwd: dir, timeout: 120_000 },
  );
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /plot of run\.csv written to run\.html \(\d+ panels, \d+ series\)/);

  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(join(dir, 'run.html')).href);
  await page.waitForFunction('window.alumetPlots !== undefined', { timeout: 60_000 });
  const titles = await inPage<string[]>(page, `() => [...document.querySelectorAll('.uplot .u-title')].map((e) => e.textContent)`);
  assert.ok(titles.some((title) => title.includes('kernel_')), `a panel of the kernel source polled every 100 ms: ${titles.join(' | ')}`);
  assert.deepEqual(errors, []);
});
