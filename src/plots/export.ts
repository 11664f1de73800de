/**
 * Figure export. HTML works offline: plotly.js comes from the installed package (never a CDN),
 * either copied once beside the pages (`plotlyFile`) or inlined into a standalone page. PNG and
 * SVG are rendered by Debian's Chromium through playwright-core, one browser for many figures.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GatelabError } from '../errors.js';
import type { Figure } from './types.js';

const require = createRequire(import.meta.url);

/** Path of plotly.min.js in node_modules. */
export function plotlyPath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/** Copy plotly.min.js to `target` (once per folder of pages). */
export function copyPlotly(target: string): void {
  copyFileSync(plotlyPath(), target);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An HTML page showing `figures`. With `plotlySrc` (a relative path to a copied plotly.min.js)
 * the script is referenced; without it, plotly is inlined (a standalone file, about 4.8 MB).
 */
export function figuresToHtml(figures: Figure[], title: string, options: { plotlySrc?: string; intro?: string } = {}): string {
  const script = options.plotlySrc
    ? `<script src="${escapeHtml(options.plotlySrc)}"></script>`
    : `<script>${readFileSync(plotlyPath(), 'utf8')}</script>`;
  const divs = figures.map((f, i) => `<div id="figure-${i}" class="figure"></div>`).join('\n');
  const calls = figures
    .map((f, i) => `Plotly.newPlot('figure-${i}', ${JSON.stringify(f.data)}, ${JSON.stringify(f.layout)}, {responsive: false, displaylogo: false});`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:960px} .figure{margin:24px 0}</style>
${script}</head>
<body><h1>${escapeHtml(title)}</h1>${options.intro ? `<p>${escapeHtml(options.intro)}</p>` : ''}
${divs}
<script>${calls}</script>
</body></html>
`;
}

export class ExportError extends GatelabError {}

/** Where Debian's Chromium is, if installed (GATELAB_CHROMIUM overrides). */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.GATELAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  return candidates.find((p) => existsSync(p));
}

export interface ImageJob {
  figure: Figure;
  path: string;
  format: 'png' | 'svg';
  /** device scale for PNG (default 2: sharp in READMEs) */
  scale?: number;
}

/**
 * Render figures to PNG/SVG files with one headless Chromium.
 * @throws ExportError when Chromium is not installed (with the command that installs it)
 */
export async function renderImages(jobs: ImageJob[]): Promise<void> {
  if (jobs.length === 0) return;
  const executablePath = chromiumPath();
  if (!executablePath) {
    throw new ExportError('PNG/SVG export needs Chromium (not found at /usr/bin/chromium); install it with: apt-get install -y chromium fonts-liberation. The HTML pages are written without it.');
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: plotlyPath() });
    for (const job of jobs) {
      const { data, layout } = job.figure;
      const url = await page.evaluate(
        async ({ data, layout, format, scale }) => {
          const P = (globalThis as unknown as { Plotly: { toImage: (f: unknown, o: unknown) => Promise<string> } }).Plotly;
          return P.toImage({ data, layout }, { format, width: layout.width ?? 860, height: layout.height ?? 560, scale });
        },
        { data, layout: layout as { width?: number; height?: number }, format: job.format, scale: job.scale ?? 2 },
      );
      if (job.format === 'png') writeFileSync(job.path, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
      else writeFileSync(job.path, decodeURIComponent(url.slice(url.indexOf(',') + 1)));
    }
  } finally {
    await browser.close();
  }
}
