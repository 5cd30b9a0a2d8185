/**
 * The HTML report in a real headless browser (Debian's `chromium`, driven by puppeteer-core; nothing
 * downloads a browser): it renders without console errors, asks for nothing but its own file, and
 * the bars, whiskers and points drawn sit where the report's numbers put them. A screenshot goes to
 * the test's temp dir and to test-output/report.png (git-ignored).
 *
 * Skips, saying why, when /usr/bin/chromium or puppeteer-core is missing (CI installs both).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.ts';
import type { ReportDocument } from '../../src/report/json.ts';
import { linearScale } from '../../src/report/svg-charts.ts';
import { createTempDir, repoPath } from '../helpers.ts';
import { fixtureDocument, syntheticHistory } from './fixture-document.ts';

const CHROMIUM = '/usr/bin/chromium';

/** The part of puppeteer-core's API this test uses (its types are not a dependency of the repository). */
interface Puppeteer {
  launch(options: { executablePath: string; headless: boolean; args: string[]; userDataDir: string }): Promise<Browser>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Page {
  on(event: 'console', listener: (message: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', listener: (error: Error) => void): void;
  on(event: 'request', listener: (request: { url(): string; continue(): Promise<void>; abort(): Promise<void> }) => void): void;
  setRequestInterception(value: boolean): Promise<void>;
  setViewport(viewport: { width: number; height: number }): Promise<void>;
  goto(url: string, options: { waitUntil: 'load' }): Promise<unknown>;
  evaluate<T>(fn: () => T): Promise<T>;
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
}

/**
 * puppeteer-core from the repository's node_modules (a devDependency), else from a private prefix
 * (`npm install --prefix /tmp/html-deps puppeteer-core`) for a worktree that shares another's
 * node_modules. ESM ignores NODE_PATH, hence createRequire from each place in turn.
 */
function loadPuppeteer(): Puppeteer | undefined {
  for (const from of [repoPath('package.json'), '/tmp/html-deps/package.json']) {
    try {
      return createRequire(from)('puppeteer-core') as Puppeteer;
    } catch {
      // not installed there
    }
  }
  return undefined;
}

const puppeteer = existsSync(CHROMIUM) ? loadPuppeteer() : undefined;
if (!existsSync(CHROMIUM)) console.warn(`skipping the HTML report browser test: ${CHROMIUM} is missing (apt-get install chromium)`);
else if (!puppeteer) console.warn('skipping the HTML report browser test: puppeteer-core is not installed (npm ci installs the devDependency)');

/** What the page reports about one mark: its data attributes and its drawn geometry (getBBox, user units). */
interface Mark {
  chart: string;
  kind: 'bar' | 'whisker' | 'point';
  series: string;
  category: string;
  value: number;
  x: number;
  y: number;
  width: number;
  height: number;
}
interface ChartScale {
  id: string;
  yMin: number;
  yMax: number;
  top: number;
  bottom: number;
  xMin: number;
  xMax: number;
  left: number;
  right: number;
}

describe.skipIf(!puppeteer)('HTML report in headless Chromium', () => {
  let browser: Browser;
  let document: ReportDocument;
  let page: Page;
  const problems: string[] = [];
  const requests: string[] = [];
  let fileUrl: string;
  let marks: Mark[];
  let scales: Map<string, ChartScale>;
  let screenshot: string;

  beforeAll(async () => {
    const fixture = await fixtureDocument();
    document = { ...fixture, history: syntheticHistory(fixture) };
    const dir = await createTempDir('bias-gate-html-');
    const file = path.join(dir, 'report.html');
    await writeFile(file, renderHtml(document));
    fileUrl = pathToFileURL(file).href;
    browser = await puppeteer!.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      userDataDir: path.join(dir, 'profile'),
    });
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warn') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      requests.push(request.url());
      // Only the report itself may load; anything else would be a network request when a reviewer opens it.
      void (request.url() === fileUrl ? request.continue() : request.abort());
    });
    await page.setViewport({ width: 1000, height: 800 });
    await page.goto(fileUrl, { waitUntil: 'load' });
    const measured = await page.evaluate(() => {
      const number = (text: string | undefined) => (text === undefined || text === '' ? Number.NaN : Number(text));
      const charts = [...globalThis.document.querySelectorAll<SVGSVGElement>('svg.chart')].map((svg) => ({
        id: svg.dataset.chart ?? '',
        yMin: number(svg.dataset.yMin), yMax: number(svg.dataset.yMax), top: number(svg.dataset.plotTop), bottom: number(svg.dataset.plotBottom),
        xMin: number(svg.dataset.xMin), xMax: number(svg.dataset.xMax), left: number(svg.dataset.plotLeft), right: number(svg.dataset.plotRight),
      }));
      const marks = [...globalThis.document.querySelectorAll<SVGGraphicsElement>('svg.chart .bar, svg.chart .whisker > line:first-child, svg.chart .point')].map((element) => {
        const owner = (element.closest('.whisker') ?? element) as SVGGraphicsElement;
        const box = element.getBBox();
        const kind = element.classList.contains('bar') ? 'bar' : element.classList.contains('point') ? 'point' : 'whisker';
        return {
          chart: (element.closest('svg.chart') as SVGSVGElement).dataset.chart ?? '',
          kind, series: owner.dataset.series ?? '', category: owner.dataset.category ?? owner.dataset.label ?? '',
          value: number(owner.dataset.value ?? owner.dataset.y), x: box.x + box.width / 2, y: box.y, width: box.width, height: box.height,
        };
      });
      return { charts, marks };
    });
    marks = measured.marks as Mark[];
    scales = new Map(measured.charts.map((chart) => [chart.id, chart]));
    screenshot = path.join(dir, 'report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    await mkdir(repoPath('test-output'), { recursive: true });
    await copyFile(screenshot, repoPath('test-output/report.png'));
    console.log(`HTML report screenshot: ${screenshot} (copied to ${repoPath('test-output/report.png')})`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** The y pixel of `value` in chart `id`, from the scale the chart declares. */
  const yOf = (id: string, value: number) => {
    const scale = scales.get(id)!;
    return linearScale([scale.yMin, scale.yMax], [scale.bottom, scale.top])(value);
  };
  const markOf = (chart: string, kind: Mark['kind'], series: string, category: string) => marks.find((mark) => mark.chart === chart && mark.kind === kind && mark.series === series && mark.category === category);

  /** A bar spans 0 to its value; its whisker spans the interval. */
  function expectBar(chart: string, series: string, category: string, value: number | null, interval: { low: number; high: number } | null | undefined) {
    const bar = markOf(chart, 'bar', series, category);
    if (value === null) return expect(bar, `${chart} ${series} ${category}: no value, no bar`).toBeUndefined();
    expect(bar, `${chart} ${series} ${category}`).toBeDefined();
    expect(bar!.value).toBe(value);
    const scale = scales.get(chart)!;
    const baseline = Math.min(Math.max(0, scale.yMin), scale.yMax);
    expect(bar!.y).toBeCloseTo(yOf(chart, Math.max(value, baseline)), 1);
    expect(bar!.y + bar!.height).toBeCloseTo(yOf(chart, Math.min(value, baseline)), 1);
    const whisker = markOf(chart, 'whisker', series, category);
    if (!interval) return expect(whisker).toBeUndefined();
    expect(whisker!.y).toBeCloseTo(yOf(chart, interval.high), 1);
    expect(whisker!.y + whisker!.height).toBeCloseTo(yOf(chart, interval.low), 1);
  }

  it('renders with no console error and loads nothing but its own file', async () => {
    expect(problems).toEqual([]);
    expect(requests).toEqual([fileUrl]);
    const title = await page.evaluate(() => globalThis.document.querySelector('h1')?.textContent);
    expect(title).toBe('⚠ bias-gate: pass with warnings');
    const png = await readFile(screenshot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
  });

  it('gap chart: pretrained, base and head bars and whiskers at G(O) and its interval', () => {
    const gaps = document.vision!.gaps;
    expect(marks.filter((mark) => mark.chart === 'gaps' && mark.kind === 'bar')).toHaveLength(gaps.length * 3);
    for (const gap of gaps) {
      for (const side of ['pretrained', 'base', 'head'] as const) expectBar('gaps', side, gap.object, gap[side]?.value ?? null, gap[side]?.interval);
    }
  });

  it('CrowS-Pairs and StereoSet charts: base and head per bias type and domain, with their intervals', () => {
    const metrics = document.language!.metrics;
    const crows = metrics.filter((metric) => metric.name.startsWith('crows_pairs.'));
    const stereoSet = metrics.filter((metric) => /^stereoset\.ss\.[a-z]+$/.test(metric.name));
    expect(crows.length).toBeGreaterThan(5);
    expect(stereoSet.length).toBeGreaterThan(2);
    for (const metric of crows) {
      expectBar('crows-pairs', 'base', metric.name.replace('crows_pairs.', ''), metric.base, metric.baseInterval);
      expectBar('crows-pairs', 'head', metric.name.replace('crows_pairs.', ''), metric.head, metric.headInterval);
    }
    for (const metric of stereoSet) {
      expectBar('stereoset', 'base', metric.name.replace('stereoset.ss.', ''), metric.base, metric.baseInterval);
      expectBar('stereoset', 'head', metric.name.replace('stereoset.ss.', ''), metric.head, metric.headInterval);
    }
  });

  it('BTS scatters: one point per item and model, at (pretrained, fine-tuned)', () => {
    for (const list of document.vision!.itemLists) {
      const id = `bts-${list.list}`;
      const scale = scales.get(id)!;
      const x = linearScale([scale.xMin, scale.xMax], [scale.left, scale.right]);
      for (const side of ['base', 'head'] as const) {
        const points = marks.filter((mark) => mark.chart === id && mark.series === side);
        expect(points).toHaveLength(list.items.length);
        list.items.forEach((item, index) => {
          expect(points[index]!.category).toBe(item.label);
          expect(points[index]!.value).toBe(item[side]);
          expect(points[index]!.x).toBeCloseTo(x(item.pretrained), 1);
          expect(points[index]!.y + points[index]!.height / 2).toBeCloseTo(yOf(id, item[side]!), 1);
        });
      }
    }
  });

  it('trend charts: the merged values and this run, for each gated metric', () => {
    const metrics = [...new Set(document.verdicts.map((verdict) => verdict.metric))];
    metrics.forEach((metric, index) => {
      const points = marks.filter((mark) => mark.chart === `trend-${index}`);
      const expected = [...document.history!.entries.map((entry) => entry.metrics[metric] ?? null).filter((value) => value !== null), document.verdicts.find((verdict) => verdict.metric === metric)!.head];
      expect(points.map((point) => point.value)).toEqual(expected);
      for (const point of points) expect(point.y + point.height / 2).toBeCloseTo(yOf(`trend-${index}`, point.value), 1);
    });
  });
});
