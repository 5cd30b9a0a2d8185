// The charts' scales and geometry without a browser: the numbers drawn are the numbers given.
import { describe, expect, it } from 'vitest';
import { coordinate, escapeXml, intervalBarChart, linearScale, niceDomain, niceStep, niceTicks, scatterChart, trendChart } from '../../src/report/svg-charts.ts';

/** Every element `<tag …>` of an SVG string, as its attributes. */
function elements(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\s([^>]*?)/?>`, 'g'))].map((match) => Object.fromEntries([...match[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((attr) => [attr[1]!, attr[2]!])));
}

describe('scales', () => {
  it('maps the domain onto the range linearly, inverted for a y axis', () => {
    const y = linearScale([-1, 1], [200, 0]);
    expect(y(-1)).toBe(200);
    expect(y(0)).toBe(100);
    expect(y(0.5)).toBe(50);
    expect(linearScale([3, 3], [0, 10])(3)).toBe(5);
  });

  it('picks 1, 2 or 5 steps and domains that hold every value and the included ones', () => {
    expect(niceStep(1, 5)).toBe(0.2);
    expect(niceStep(0.37, 5)).toBe(0.1);
    expect(niceStep(100, 5)).toBe(20);
    expect(niceDomain([0.7482, -0.4281])).toEqual([-0.5, 1]);
    expect(niceDomain([62.5, 87.5], [0, 50])).toEqual([0, 100]);
    expect(niceDomain([])).toEqual([0, 1]);
    expect(niceDomain([2, 2])).toEqual([1.8, 2.2]);
    expect(niceDomain([0.1, 0.2, Number.NaN])).toEqual([0.1, 0.2]);
    expect(niceTicks([-0.5, 1])).toEqual([-0.5, 0, 0.5, 1]);
    expect(niceTicks([-0.6, 0.8], 7)).toEqual([-0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks([0, 1], 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('writes coordinates with two decimals and no negative zero', () => {
    expect(coordinate(12.3456)).toBe('12.35');
    expect(coordinate(-0.001)).toBe('0');
    expect(coordinate(5)).toBe('5');
  });

  it('escapes text and attributes, drops control and bidi characters', () => {
    expect(escapeXml(`<img src=x onerror="alert('1')">&`)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;');
    expect(escapeXml('a\nb\u202ec')).toBe('a bc');
  });
});

describe('charts', () => {
  const spec = {
    id: 'gaps',
    title: 'G(O)',
    yLabel: 'G(O)',
    categories: ['kitchen', '<surf>board'],
    series: [
      { name: 'base', key: 'base', values: [{ value: -0.25, low: -0.36, high: -0.13 }, null] },
      { name: 'head', key: 'head', values: [{ value: -0.2506, low: -0.3671, high: -0.1389 }, { value: 0.7482, low: 0.6684, high: 0.8357 }] },
    ],
  };

  it('bars: each rect spans 0 to its value on the chart scale, whiskers span the interval', () => {
    const svg = intervalBarChart(spec);
    const [root] = elements(svg, 'svg');
    const y = linearScale([Number(root!['data-y-min']), Number(root!['data-y-max'])], [Number(root!['data-plot-bottom']), Number(root!['data-plot-top'])]);
    const bars = elements(svg, 'rect').filter((rect) => rect.class?.startsWith('bar'));
    expect(bars.map((bar) => [bar['data-series'], bar['data-category'], Number(bar['data-value'])])).toEqual([
      ['base', 'kitchen', -0.25],
      ['head', 'kitchen', -0.2506],
      ['head', '&lt;surf&gt;board', 0.7482],
    ]);
    for (const bar of bars) {
      const value = Number(bar['data-value']);
      expect(Number(bar.y)).toBeCloseTo(y(Math.max(0, value)), 2);
      expect(Number(bar.y) + Number(bar.height)).toBeCloseTo(y(Math.min(0, value)), 1);
    }
    const whiskers = [...svg.matchAll(/<g class="whisker"[^>]*data-low="([^"]*)" data-high="([^"]*)"><line x1="[^"]*" x2="[^"]*" y1="([^"]*)" y2="([^"]*)"\/>/g)];
    expect(whiskers).toHaveLength(3);
    for (const [, low, high, top, bottom] of whiskers) {
      expect(Number(top)).toBeCloseTo(y(Number(high)), 2);
      expect(Number(bottom)).toBeCloseTo(y(Number(low)), 2);
    }
    expect(svg).not.toContain('<surf>');
  });

  it('the same spec gives the same bytes', () => {
    expect(intervalBarChart(spec)).toBe(intervalBarChart(structuredClone(spec)));
  });

  it('scatter: points at their x and y on the shared domain, with the diagonal', () => {
    const svg = scatterChart({ id: 'bts', title: 'BTS', xLabel: 'x', yLabel: 'y', caption: 'ρ head = 0.9', series: [{ name: 'head', key: 'head', points: [{ x: -0.2, y: 0.1, label: 'inter(a, b)' }, { x: 0.5, y: 0.4, label: 'inter(c, d)' }] }] });
    const [root] = elements(svg, 'svg');
    const x = linearScale([Number(root!['data-x-min']), Number(root!['data-x-max'])], [Number(root!['data-plot-left']), Number(root!['data-plot-right'])]);
    const y = linearScale([Number(root!['data-y-min']), Number(root!['data-y-max'])], [Number(root!['data-plot-bottom']), Number(root!['data-plot-top'])]);
    for (const point of elements(svg, 'circle')) {
      expect(Number(point.cx)).toBeCloseTo(x(Number(point['data-x'])), 2);
      expect(Number(point.cy)).toBeCloseTo(y(Number(point['data-y'])), 2);
    }
    expect(elements(svg, 'line').some((line) => line.class === 'diagonal')).toBe(true);
  });

  it('trend: a line through the merges, a gap where a run lacked the metric, this run apart', () => {
    const svg = trendChart({ id: 't', title: 'gap.max', merged: [{ label: 'a', value: 1 }, { label: 'b', value: 2 }, { label: 'c', value: null }, { label: 'd', value: 3 }], current: { label: 'this run', value: 4 } });
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(elements(svg, 'circle').map((circle) => [circle['data-series'], circle['data-value']])).toEqual([
      ['merged', '1'],
      ['merged', '2'],
      ['merged', '3'],
      ['current', '4'],
    ]);
  });
});
