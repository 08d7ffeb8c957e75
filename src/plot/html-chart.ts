// Renders a ChartModel as one self-contained HTML file: uPlot (its minified script and stylesheet, read from
// the installed package) inlined with the data, so the page works offline and can be mailed around. One uPlot
// chart per panel; hovering shows every series' value at the cursor in the legend, dragging across a chart
// zooms all charts on that time range, and a double click zooms back out.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ChartModel, Panel } from './chart-model.js';

/** More columns than the SVG's: zooming in on the page shows detail the full view has no pixels for. */
export const HTML_COLUMNS = 2000;

const require = createRequire(import.meta.url);

function uplotAsset(file: string): string {
  return readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
}

interface PanelData {
  unit: string;
  metrics: string[];
  labels: string[];
  colors: string[];
  hidden: number;
  /** uPlot's columns: times in seconds, then one array of values (null where a series has no vertex) per series. */
  data: Array<Array<number | null>>;
}

function panelData(p: Panel): PanelData {
  const times = [...new Set(p.series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const column = new Map(times.map((t, i) => [t, i]));
  const ys = p.series.map((s) => {
    const y = new Array<number | null>(times.length).fill(null);
    for (const [t, v] of s.points) y[column.get(t)!] = v;
    return y;
  });
  return { unit: p.unit, metrics: p.metrics, labels: p.series.map((s) => s.label), colors: p.series.map((s) => s.color), hidden: p.hidden, data: [times.map((t) => t / 1000), ...ys] };
}

/** JSON that cannot end the <script> element it sits in. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

// Runs in the page. Kept as plain ES2017 text: it is not compiled with the agent.
const PAGE_SCRIPT = `
(function () {
  var panels = JSON.parse(document.getElementById('plot-data').textContent);
  var plots = [];
  var syncing = false;
  function fmt(v) {
    if (v == null) return '\\u2014';
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(6)));
  }
  function width() { return Math.max(400, document.body.clientWidth - 32); }
  panels.forEach(function (p) {
    var box = document.createElement('div');
    box.className = 'panel';
    document.getElementById('plots').appendChild(box);
    var unit = p.unit === '' ? 'no unit' : p.unit;
    var series = [{ label: 'time (UTC)', value: function (u, t) { return t == null ? '\\u2014' : new Date(t * 1000).toISOString().replace('T', ' ').replace('Z', ''); } }];
    p.labels.forEach(function (label, i) {
      series.push({ label: label, stroke: p.colors[i], width: 1.5, spanGaps: true, value: function (u, v) { return fmt(v) + (p.unit ? ' ' + p.unit : ''); } });
    });
    var opts = {
      title: p.metrics.join(', ') + ' (' + unit + ')',
      width: width(),
      height: 260,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 70, values: function (u, vals) { return vals.map(fmt); } }],
      series: series,
      cursor: { sync: { key: 'alumet-plot' }, drag: { x: true, y: false } },
      hooks: {
        setScale: [function (u, key) {
          if (key !== 'x' || syncing) return;
          syncing = true;
          var x = u.scales.x;
          plots.forEach(function (other) { if (other !== u) other.setScale('x', { min: x.min, max: x.max }); });
          syncing = false;
        }],
      },
    };
    plots.push(new uPlot(opts, p.data, box));
    if (p.hidden > 0) {
      var note = document.createElement('p');
      note.className = 'hidden-series';
      note.textContent = p.hidden + ' more series not drawn: narrow with --resource, --consumer or --attribute';
      box.appendChild(note);
    }
  });
  window.addEventListener('resize', function () { plots.forEach(function (u) { u.setSize({ width: width(), height: 260 }); }); });
  // For scripts and tests that drive the page.
  window.alumetPlots = plots;
})();
`;

export function renderHtml(model: ChartModel, title: string): string {
  const escapedTitle = title.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapedTitle}</title>
<style>${uplotAsset('uPlot.min.css')}
body { font-family: sans-serif; margin: 16px; }
.panel { margin-bottom: 24px; }
.hint { color: #555; font-size: 13px; }
</style>
</head>
<body>
<h1 style="font-size: 18px">${escapedTitle}</h1>
<p class="hint">Hover to read values; drag across a chart to zoom on that time range, double-click to zoom out. Times are UTC.</p>
<div id="plots"></div>
<script type="application/json" id="plot-data">${scriptJson(model.panels.map(panelData))}</script>
<script>${uplotAsset('uPlot.iife.min.js')}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
