/**
 * Inline SVG charts for the HTML report (issue 12): bars with bootstrap intervals, a scatter of
 * similarity items with the diagonal, and a trend line across merges. Pure functions of their
 * specs: no DOM, no fonts measured, coordinates rounded to 2 decimals, so the same document gives
 * the same bytes.
 *
 * Every mark carries its number in `data-*` attributes (`data-value`, `data-low`, `data-high`,
 * `data-x`, `data-y`) and every chart its scale (`data-y-min`, `data-y-max`, `data-plot-top`,
 * `data-plot-bottom`, and for the scatter the x twins), so a test can check that the geometry
 * drawn is the number reported. Text from the report (object and set names, metric names) is
 * escaped with {@link escapeXml}.
 */
import { htmlEntities } from './markdown-escape.ts';
import { formatNumber } from '../gate/evaluate.ts';

/** The drawing size of every chart, in SVG user units (the page scales it to its width). */
export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 300;
const MARGIN = { top: 40, right: 16, bottom: 56, left: 64 } as const;

/** A linear map from data values to pixels. */
export interface LinearScale {
  (value: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
}

/** `domain` onto `range`; a degenerate domain maps everything to the middle of the range. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const scale = ((value: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((value - d0) / (d1 - d0)) * (r1 - r0))) as LinearScale;
  scale.domain = [d0, d1];
  scale.range = [r0, r1];
  return scale;
}

/** 1, 2 or 5 times a power of ten: the tick step for about `count` ticks over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/**
 * The axis domain for `values` (and the values in `include`, e.g. 0 for bars or 50 for an unbiased
 * score): their range widened to multiples of a nice step, never empty.
 */
export function niceDomain(values: readonly number[], include: readonly number[] = [], count = 5): [number, number] {
  const finite = [...values, ...include].filter((value) => Number.isFinite(value));
  if (finite.length === 0) return [0, 1];
  let low = Math.min(...finite);
  let high = Math.max(...finite);
  if (low === high) {
    const pad = low === 0 ? 1 : Math.abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const step = niceStep(high - low, count);
  return [roundTo(Math.floor(low / step + 1e-9) * step, step), roundTo(Math.ceil(high / step - 1e-9) * step, step)];
}

/** Tick values from the domain's low end to its high end, a nice step apart. */
export function niceTicks(domain: readonly [number, number], count = 5): number[] {
  const step = niceStep(domain[1] - domain[0], count);
  // Whole multiples of the step, counted as integers: -0.6 / 0.2 is -2.9999999999999996.
  const first = Math.ceil(domain[0] / step - 1e-9);
  const last = Math.floor(domain[1] / step + 1e-9);
  const ticks: number[] = [];
  for (let index = first; index <= last; index++) ticks.push(roundTo(index * step, step));
  return ticks;
}

/** Removes floating-point noise below the step's precision (0.30000000000000004 → 0.3). */
function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const rounded = Number(value.toFixed(Math.min(20, decimals)));
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** An SVG coordinate: two decimals, no `-0`. */
export function coordinate(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

// eslint-disable-next-line no-control-regex -- control characters are what this matches
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text or an attribute value in HTML or SVG: `& < > " '` as entities, control characters as a
 * space, bidirectional overrides removed (a name must read as what it is).
 */
export function escapeXml(text: string): string {
  return htmlEntities(String(text).replace(CONTROL, ' ').replace(BIDI_CONTROL, ''));
}

/** A number for a `data-*` attribute: full precision, so it compares equal to the document's. */
function dataNumber(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '' : String(value);
}

/** At most `length` characters (code points), with an ellipsis when cut. */
function shorten(text: string, length: number): string {
  const chars = Array.from(text);
  return chars.length <= length ? text : `${chars.slice(0, length - 1).join('')}…`;
}

/** A value with its bootstrap interval (null ends when there is none). */
export interface IntervalValue {
  value: number;
  low: number | null;
  high: number | null;
}

/** One model's bars across the categories. */
export interface BarSeries {
  /** Legend text: "pretrained", "base", "head". */
  name: string;
  /** CSS-safe key: the bars get class `s-<key>` (colours are the page's). */
  key: string;
  /** One per category; null where the model has no value (no base). */
  values: readonly (IntervalValue | null)[];
}

export interface BarChartSpec {
  /** `data-chart` of the SVG, for tests and anchors. */
  id: string;
  title: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  /** A horizontal reference line (50 for an unbiased benchmark score); bars start at 0 regardless. */
  reference?: { value: number; label: string };
}

/** Grouped bars, one group per category and one bar per series, each with its interval as a whisker. */
export function intervalBarChart(spec: BarChartSpec): string {
  const plot = plotArea();
  const values = spec.series.flatMap((series) => series.values.flatMap((v) => (v ? [v.value, v.low ?? v.value, v.high ?? v.value] : [])));
  const y = linearScale(niceDomain(values, [0, ...(spec.reference ? [spec.reference.value] : [])]), [plot.bottom, plot.top]);
  const baseline = Math.min(Math.max(0, y.domain[0]), y.domain[1]);
  const band = (plot.right - plot.left) / Math.max(1, spec.categories.length);
  const barWidth = (band * 0.8) / Math.max(1, spec.series.length);
  const marks: string[] = [];
  spec.categories.forEach((category, c) => {
    spec.series.forEach((series, s) => {
      const point = series.values[c];
      if (!point) return;
      const x = plot.left + band * c + band * 0.1 + barWidth * s;
      const top = y(Math.max(point.value, baseline));
      const bottom = y(Math.min(point.value, baseline));
      const interval = point.low !== null && point.high !== null ? ` [${formatNumber(point.low)}, ${formatNumber(point.high)}]` : '';
      marks.push(
        `<rect class="bar s-${escapeXml(series.key)}" x="${coordinate(x)}" y="${coordinate(top)}" width="${coordinate(barWidth)}" height="${coordinate(bottom - top)}" data-series="${escapeXml(series.key)}" data-category="${escapeXml(category)}" data-value="${dataNumber(point.value)}" data-low="${dataNumber(point.low)}" data-high="${dataNumber(point.high)}"><title>${escapeXml(`${series.name}, ${category}: ${formatNumber(point.value)}${interval}`)}</title></rect>`,
      );
      if (point.low !== null && point.high !== null) {
        const middle = coordinate(x + barWidth / 2);
        const cap = (at: number) => `<line x1="${coordinate(x + barWidth * 0.25)}" x2="${coordinate(x + barWidth * 0.75)}" y1="${coordinate(y(at))}" y2="${coordinate(y(at))}"/>`;
        marks.push(`<g class="whisker" data-series="${escapeXml(series.key)}" data-category="${escapeXml(category)}" data-low="${dataNumber(point.low)}" data-high="${dataNumber(point.high)}"><line x1="${middle}" x2="${middle}" y1="${coordinate(y(point.high))}" y2="${coordinate(y(point.low))}"/>${cap(point.low)}${cap(point.high)}</g>`);
      }
    });
  });
  const labels = spec.categories.map((category, c) => `<text class="category" x="${coordinate(plot.left + band * (c + 0.5))}" y="${coordinate(plot.bottom + 18)}" text-anchor="middle">${escapeXml(shorten(category, Math.max(4, Math.floor(band / 6.5))))}<title>${escapeXml(category)}</title></text>`);
  const reference = spec.reference
    ? `<line class="reference" x1="${coordinate(plot.left)}" x2="${coordinate(plot.right)}" y1="${coordinate(y(spec.reference.value))}" y2="${coordinate(y(spec.reference.value))}" data-value="${dataNumber(spec.reference.value)}"/><text class="reference-label" x="${coordinate(plot.right - 4)}" y="${coordinate(y(spec.reference.value) - 4)}" text-anchor="end">${escapeXml(spec.reference.label)}</text>`
    : '';
  return svg(spec.id, spec.title, { y, plot }, [yAxis(y, plot, spec.yLabel), zeroLine(y, plot), reference, ...marks, ...labels, legend(spec.series, plot)]);
}

/** One model's points in a scatter. */
export interface ScatterSeries {
  name: string;
  key: string;
  points: readonly { x: number; y: number; label: string }[];
}

export interface ScatterChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ScatterSeries[];
  /** A line under the title: the rank correlations. */
  caption: string;
}

/**
 * Points of several series on one square domain (both axes the same), with the diagonal y = x: a
 * fine-tuned model that kept the pretrained structure has its items near the diagonal.
 */
export function scatterChart(spec: ScatterChartSpec): string {
  const plot = plotArea();
  const all = spec.series.flatMap((series) => series.points.flatMap((point) => [point.x, point.y]));
  const domain = niceDomain(all);
  const y = linearScale(domain, [plot.bottom, plot.top]);
  // The same units per pixel on both axes would leave most of a wide chart empty: x spans the plot's width.
  const x = linearScale(domain, [plot.left, plot.right]);
  const marks = spec.series.flatMap((series) =>
    series.points.map(
      (point) =>
        `<circle class="point s-${escapeXml(series.key)}" cx="${coordinate(x(point.x))}" cy="${coordinate(y(point.y))}" r="4" data-series="${escapeXml(series.key)}" data-label="${escapeXml(point.label)}" data-x="${dataNumber(point.x)}" data-y="${dataNumber(point.y)}"><title>${escapeXml(`${series.name}, ${point.label}: pretrained ${formatNumber(point.x)}, ${series.name} ${formatNumber(point.y)}`)}</title></circle>`,
    ),
  );
  const diagonal = `<line class="diagonal" x1="${coordinate(x(domain[0]))}" y1="${coordinate(y(domain[0]))}" x2="${coordinate(x(domain[1]))}" y2="${coordinate(y(domain[1]))}"/>`;
  const caption = `<text class="caption" x="${coordinate(plot.left)}" y="${coordinate(plot.top - 10)}">${escapeXml(spec.caption)}</text>`;
  return svg(spec.id, spec.title, { y, x, plot }, [yAxis(y, plot, spec.yLabel), xAxis(x, plot, spec.xLabel), diagonal, caption, ...marks, legend(spec.series, plot)]);
}

export interface TrendChartSpec {
  id: string;
  title: string;
  /** The merged values, oldest first (null: that run lacked the metric). */
  merged: readonly { label: string; value: number | null }[];
  /** This run's value, drawn after the last merge. */
  current: { label: string; value: number | null };
}

/** The metric across the last merges as a line, and this run's value as a separate mark after it. */
export function trendChart(spec: TrendChartSpec): string {
  const plot = plotArea(TREND_HEIGHT, 12);
  const values = [...spec.merged.map((point) => point.value), spec.current.value].filter((value): value is number => value !== null);
  const y = linearScale(niceDomain(values, [], 3), [plot.bottom, plot.top]);
  const count = spec.merged.length + 1;
  const x = linearScale([0, Math.max(1, count - 1)], [plot.left + 8, plot.right - 8]);
  const segments: string[][] = [[]];
  const marks: string[] = [];
  spec.merged.forEach((point, index) => {
    if (point.value === null) {
      segments.push([]);
      return;
    }
    segments.at(-1)!.push(`${coordinate(x(index))},${coordinate(y(point.value))}`);
    marks.push(`<circle class="point s-merged" cx="${coordinate(x(index))}" cy="${coordinate(y(point.value))}" r="3" data-series="merged" data-label="${escapeXml(point.label)}" data-value="${dataNumber(point.value)}"><title>${escapeXml(`${point.label}: ${formatNumber(point.value)}`)}</title></circle>`);
  });
  const lines = segments.filter((points) => points.length > 1).map((points) => `<polyline class="trend" points="${points.join(' ')}"/>`);
  if (spec.current.value !== null) {
    const cx = coordinate(x(count - 1));
    const cy = coordinate(y(spec.current.value));
    marks.push(`<circle class="point s-current" cx="${cx}" cy="${cy}" r="5" data-series="current" data-label="${escapeXml(spec.current.label)}" data-value="${dataNumber(spec.current.value)}"><title>${escapeXml(`${spec.current.label}: ${formatNumber(spec.current.value)}`)}</title></circle>`);
  }
  const legendSeries = [{ name: `last ${spec.merged.length} merges`, key: 'merged' }, { name: spec.current.label, key: 'current' }];
  return svg(spec.id, spec.title, { y, plot }, [yAxis(y, plot, ''), ...lines, ...marks, legend(legendSeries, plot)], TREND_HEIGHT);
}

interface Plot {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

function plotArea(height = CHART_HEIGHT, bottomMargin: number = MARGIN.bottom): Plot {
  return { top: MARGIN.top, bottom: height - bottomMargin, left: MARGIN.left, right: CHART_WIDTH - MARGIN.right };
}

/** The trend chart's height: a small multiple, one per gated metric, with no x axis below. */
const TREND_HEIGHT = 130;

function svg(id: string, title: string, scales: { y: LinearScale; x?: LinearScale; plot: Plot }, parts: readonly string[], height = CHART_HEIGHT): string {
  const { y, x, plot } = scales;
  const data = [
    `data-chart="${escapeXml(id)}"`,
    `data-y-min="${dataNumber(y.domain[0])}"`,
    `data-y-max="${dataNumber(y.domain[1])}"`,
    `data-plot-top="${coordinate(plot.top)}"`,
    `data-plot-bottom="${coordinate(plot.bottom)}"`,
    ...(x ? [`data-x-min="${dataNumber(x.domain[0])}"`, `data-x-max="${dataNumber(x.domain[1])}"`, `data-plot-left="${coordinate(x.range[0])}"`, `data-plot-right="${coordinate(x.range[1])}"`] : []),
  ].join(' ');
  const heading = `<text class="title" x="${coordinate(plot.left)}" y="14">${escapeXml(title)}</text>`;
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${CHART_WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}" ${data}>${heading}${parts.join('')}</svg>`;
}

function yAxis(y: LinearScale, plot: Plot, label: string): string {
  const ticks = niceTicks(y.domain, plot.bottom - plot.top < 120 ? 3 : 5);
  const lines = ticks.map((tick) => `<line class="grid" x1="${coordinate(plot.left)}" x2="${coordinate(plot.right)}" y1="${coordinate(y(tick))}" y2="${coordinate(y(tick))}"/><text class="tick" x="${coordinate(plot.left - 6)}" y="${coordinate(y(tick) + 4)}" text-anchor="end">${escapeXml(formatNumber(tick))}</text>`);
  const title = label ? `<text class="axis-label" transform="translate(14 ${coordinate((plot.top + plot.bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>` : '';
  return `<g class="axis y">${lines.join('')}${title}</g>`;
}

function xAxis(x: LinearScale, plot: Plot, label: string): string {
  const ticks = niceTicks(x.domain, 6);
  const marks = ticks.map((tick) => `<text class="tick" x="${coordinate(x(tick))}" y="${coordinate(plot.bottom + 16)}" text-anchor="middle">${escapeXml(formatNumber(tick))}</text>`);
  return `<g class="axis x">${marks.join('')}<text class="axis-label" x="${coordinate((plot.left + plot.right) / 2)}" y="${coordinate(plot.bottom + 36)}" text-anchor="middle">${escapeXml(label)}</text></g>`;
}

function zeroLine(y: LinearScale, plot: Plot): string {
  if (y.domain[0] > 0 || y.domain[1] < 0) return '';
  return `<line class="zero" x1="${coordinate(plot.left)}" x2="${coordinate(plot.right)}" y1="${coordinate(y(0))}" y2="${coordinate(y(0))}"/>`;
}

function legend(series: readonly { name: string; key: string }[], plot: Plot): string {
  const items = series.map((item, index) => {
    const x = plot.right - (series.length - index) * 110;
    return `<rect class="swatch s-${escapeXml(item.key)}" x="${coordinate(x)}" y="20" width="10" height="10"/><text class="legend" x="${coordinate(x + 14)}" y="29">${escapeXml(shorten(item.name, 14))}</text>`;
  });
  return `<g class="legend">${items.join('')}</g>`;
}
