// `alumet-agent plot`: reads an Alumet CSV once, streaming, keeps the selected series in bounded memory, and
// writes them as an SVG (static) or a self-contained HTML page (interactive), chosen by the output's extension.

import { statSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { closest } from '../protocol/suggest.js';
import { CsvFileError, readAlumetCsv } from './alumet-rows.js';
import { buildChart, chooseSeries } from './chart-model.js';
import { HTML_COLUMNS, renderHtml } from './html-chart.js';
import { ProgressBar } from './progress-bar.js';
import { metricMatches, PointFilter, type PlotFilters } from './selection.js';
import { SeriesTable } from './series-table.js';
import { PLOT_COLUMNS, renderSvg } from './svg-chart.js';

export interface PlotRequest extends PlotFilters {
  csv: string;
  /** `.svg` or `.html`. */
  output: string;
  /** Delta metrics as per-second rates. */
  rate: boolean;
}

/** Bad rows reported one by one up to this many; beyond, only their count (a corrupt file has millions). */
const BAD_ROWS_SHOWN = 20;

const PLOT_FORMATS = ['.svg', '.html'];

export interface PlotSummary {
  panels: number;
  series: number;
  points: number;
  badRows: number;
}

/** Writes the plot; progress and bad rows go to `stderr`. Throws CsvFileError when nothing can be plotted. */
export async function plotCsv(req: PlotRequest): Promise<PlotSummary> {
  const stderr = process.stderr;
  const format = extname(req.output).toLowerCase();
  if (!PLOT_FORMATS.includes(format)) throw new CsvFileError(`${req.output}: unknown plot format ${JSON.stringify(format)}; name the output .svg or .html`);
  const filter = new PointFilter(req);
  let size: number;
  try {
    size = statSync(req.csv).size;
  } catch (e) {
    throw new CsvFileError(`${req.csv}: cannot read the file: ${(e as Error).message}`);
  }
  const table = new SeriesTable({ rate: req.rate });
  const progress = ProgressBar.forTerminal(stderr, size, `reading ${basename(req.csv)}`);
  /** Every metric of the file, filtered or not: for "did you mean" when `--metric` matches none. */
  const metricsSeen = new Set<string>();
  let badRows = 0;
  let points = 0;
  const onBadRow = (message: string): void => {
    badRows++;
    if (badRows <= BAD_ROWS_SHOWN) {
      progress?.done();
      stderr.write(`warning: ${message}\n`);
    }
  };
  try {
    for await (const batch of readAlumetCsv(req.csv, { onBadRow, onBytes: (n) => progress?.update(n) })) {
      for (const p of batch) {
        metricsSeen.add(p.metric);
        if (!filter.accepts(p)) continue;
        points++;
        table.add(p);
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== undefined) throw new CsvFileError(`${req.csv}: cannot read the file: ${(e as Error).message}`);
    throw e;
  } finally {
    progress?.done();
  }
  if (badRows > BAD_ROWS_SHOWN) stderr.write(`warning: ${req.csv}: ${badRows} bad rows skipped in all (the first ${BAD_ROWS_SHOWN} are above)\n`);

  for (const m of req.metrics) {
    if (![...metricsSeen].some((seen) => metricMatches(m, seen))) {
      const hint = closest(m, metricsSeen);
      throw new CsvFileError(`${req.csv}: no metric ${JSON.stringify(m)} in the file${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''}`);
    }
  }
  if (table.size === 0) throw new CsvFileError(`${req.csv}: no point to plot${points === 0 && metricsSeen.size > 0 ? ' matches the filters' : ''}`);

  const series = chooseSeries(table.all(), req.metrics.length > 0);
  const model = buildChart(series, format === '.svg' ? PLOT_COLUMNS : HTML_COLUMNS);
  if (model.panels.length === 0) throw new CsvFileError(`${req.csv}: the selected series have no finite value to plot`);
  const title = `${basename(req.csv)}${req.rate ? ' (delta metrics as rates)' : ''}`;
  writeFileSync(req.output, format === '.svg' ? renderSvg(model, title) : renderHtml(model, title));
  return { panels: model.panels.length, series: model.panels.reduce((n, p) => n + p.series.length, 0), points, badRows };
}
