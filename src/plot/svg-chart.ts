// Renders a ChartModel as a static SVG: one panel per unit stacked vertically, each with a value axis titled
// with the unit, a time axis in UTC, one polyline per series and a legend under it. Plain SVG 1.1 with no
// script or external reference, so it shows the same in a browser, a README on GitHub or an image viewer.
// Each plot area carries its scales as data-* attributes, so tests (and scripts) can map values to pixels.

import type { ChartModel, Panel } from './chart-model.js';
import { formatDateRange, formatTime, formatValue, timeTicks, valueTicks } from './ticks.js';

const SVG_WIDTH = 960;
const MARGIN_LEFT = 72;
const MARGIN_RIGHT = 24;
const PLOT_HEIGHT = 200;
const TITLE_HEIGHT = 28;
const AXIS_HEIGHT = 40;
const LEGEND_LINE = 18;
const PANEL_GAP = 16;

/** Pixel columns of a plot area: the series are reduced to this many columns before drawing. */
export const PLOT_COLUMNS = SVG_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const round = (x: number): number => Math.round(x * 100) / 100;

function panelHeight(p: Panel): number {
  return TITLE_HEIGHT + PLOT_HEIGHT + AXIS_HEIGHT + LEGEND_LINE * (p.series.length + (p.hidden > 0 ? 1 : 0)) + PANEL_GAP;
}

function renderPanel(p: Panel, model: ChartModel, top: number): string {
  const x0 = MARGIN_LEFT;
  const y0 = top + TITLE_HEIGHT;
  // A margin of 5 % (not below zero for positive data), so no line runs along the frame.
  const pad = (p.max - p.min) * 0.05;
  const { ticks: vTicks, low, high } = valueTicks(p.min >= 0 ? Math.max(0, p.min - pad) : p.min - pad, p.max + pad);
  const span = model.end - model.start || 1;
  const xOf = (t: number): number => x0 + ((t - model.start) / span) * PLOT_COLUMNS;
  const yOf = (v: number): number => y0 + PLOT_HEIGHT - ((v - low) / (high - low)) * PLOT_HEIGHT;
  const unit = p.unit === '' ? 'no unit' : p.unit;
  const out: string[] = [];
  out.push(`<g class="panel" data-unit="${escapeXml(p.unit)}">`);
  out.push(`<text class="title" x="${x0}" y="${top + 18}" font-weight="bold">${escapeXml(`${p.metrics.join(', ')} (${unit})`)}</text>`);
  out.push(
    `<g class="plot-area" data-x="${x0}" data-y="${y0}" data-width="${PLOT_COLUMNS}" data-height="${PLOT_HEIGHT}" ` +
      `data-t0="${model.start}" data-t1="${model.end}" data-v0="${low}" data-v1="${high}">`,
  );
  out.push(`<rect x="${x0}" y="${y0}" width="${PLOT_COLUMNS}" height="${PLOT_HEIGHT}" fill="#ffffff" stroke="#999999"/>`);
  out.push('</g>');

  // Value axis: grid lines and labels, and the unit as its title.
  out.push('<g class="axis y">');
  for (const v of vTicks) {
    const y = round(yOf(v));
    out.push(`<line x1="${x0}" x2="${x0 + PLOT_COLUMNS}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${escapeXml(formatValue(v))}</text>`);
  }
  out.push(`<text class="unit" transform="translate(14 ${y0 + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escapeXml(unit)}</text>`);
  out.push('</g>');

  // Time axis: round UTC times, and the date(s) as its title.
  const { ticks: tTicks, step } = timeTicks(model.start, model.end);
  out.push('<g class="axis x">');
  for (const t of tTicks) {
    const x = round(xOf(t));
    out.push(`<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + PLOT_HEIGHT + 4}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${y0 + PLOT_HEIGHT + 17}" text-anchor="middle" data-t="${t}">${formatTime(t, step)}</text>`);
  }
  out.push(`<text class="time-title" x="${x0 + PLOT_COLUMNS / 2}" y="${y0 + PLOT_HEIGHT + 34}" text-anchor="middle">time (UTC, ${formatDateRange(model.start, model.end)})</text>`);
  out.push('</g>');

  // The lines, clipped to the plot area (a peak never spills onto the axis labels).
  out.push(`<g clip-path="url(#clip-${y0})">`);
  for (const s of p.series) {
    const d = s.points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${round(xOf(t))} ${round(yOf(v))}`).join(' ');
    // A single point draws as a dot: a zero-length path with round caps.
    const path = s.points.length === 1 ? `${d} l0 0` : d;
    out.push(`<path class="series" data-label="${escapeXml(s.label)}" d="${path}" fill="none" stroke="${s.color}" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>`);
  }
  out.push('</g>');
  out.push(`<clipPath id="clip-${y0}"><rect x="${x0}" y="${y0 - 2}" width="${PLOT_COLUMNS}" height="${PLOT_HEIGHT + 4}"/></clipPath>`);

  out.push('<g class="legend">');
  let y = y0 + PLOT_HEIGHT + AXIS_HEIGHT + 12;
  for (const s of p.series) {
    out.push(`<g class="legend-entry"><rect x="${x0}" y="${y - 9}" width="18" height="4" fill="${s.color}"/><text x="${x0 + 24}" y="${y - 3}">${escapeXml(s.label)}</text></g>`);
    y += LEGEND_LINE;
  }
  if (p.hidden > 0) out.push(`<text class="hidden-series" x="${x0}" y="${y - 3}">${p.hidden} more series not drawn: narrow with --resource, --consumer or --attribute</text>`);
  out.push('</g>');
  out.push('</g>');
  return out.join('\n');
}

export function renderSvg(model: ChartModel, title: string): string {
  let top = 36;
  const panels: string[] = [];
  for (const p of model.panels) {
    panels.push(renderPanel(p, model, top));
    top += panelHeight(p);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${top}" viewBox="0 0 ${SVG_WIDTH} ${top}" font-family="sans-serif" font-size="12">`,
    `<rect width="${SVG_WIDTH}" height="${top}" fill="#ffffff"/>`,
    `<text class="chart-title" x="${MARGIN_LEFT}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
