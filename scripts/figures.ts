/**
 * npm run figures [-- --full | -- --quick]
 * For every experiment with results writes, per variant, figures/<name>/index-<variant>.html (offline: plotly.min.js is copied once to figures/) and one PNG per
 * figure: the convergence plot of the main loss and of the Hellinger distance, the per-parameter
 * panels, the gate weights of the truth, and the conditional density and Voronoi cells of one fit.
 * Which results: by default the full variant's (results/<name>/ with a row for every task, or
 * where no complete store is, its committed Parquet export figures/<name>/results-full.parquet)
 * where they exist and the quick variant's (results/<name>-quick/) otherwise, saying which for
 * each experiment; --full or --quick asks for one. A full store with tasks missing (a run still
 * going) draws no figure. Every figure's title names its variant.
 * Without Chromium the HTML is still written and the PNGs are skipped with a message.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { analyseRates, perNSummary, type RateRow } from '../src/analysis/index.js';
import { GatelabError } from '../src/errors.js';
import { voronoiLoss } from '../src/losses/index.js';
import { alignFit, convergenceFigure, copyPlotly, densityFigure, ExportError, figuresToHtml, gateWeightsFigure, parameterPanels, renderImages, voronoiFigure, type Figure, type ImageJob } from '../src/plots/index.js';
import { lossOptions, parseExperimentConfig } from '../src/sweeps/config.js';
import { hasResults, preferredResults, readChosen } from '../src/sweeps/results-variant.js';
import { describeMissing } from '../src/sweeps/merged-store.js';
import { sameRun } from '../src/sweeps/store.js';
import { isSelectConfig } from '../src/sweeps/select-sweep.js';

export async function makeFigures(want: 'auto' | 'quick' | 'full', log: (s: string) => void = (s) => process.stderr.write(s)): Promise<void> {
  // selection configs ("kind": "select") draw their own figures (gatelab select-sweep --figures)
  const names = readdirSync('experiments')
    .filter((f) => f.endsWith('.json') && !isSelectConfig(JSON.parse(readFileSync(join('experiments', f), 'utf8'))))
    .map((f) => f.slice(0, -5))
    .sort();
  mkdirSync('figures', { recursive: true });
  copyPlotly(join('figures', 'plotly.min.js'));
  const jobs: ImageJob[] = [];
  for (const name of names) {
    const choice = preferredResults(name, want);
    const { dir, variant, reason } = choice;
    if (!hasResults(choice)) {
      log(`figures: ${name}: no results in ${dir} (run npm run reproduce${variant === 'full' ? ' -- --full' : ''}); skipped\n`);
      continue;
    }
    if (want === 'auto') log(`figures: ${name}: the ${variant} variant (${reason})\n`);
    // every title names the variant it shows
    const titled = `${name} (${variant})`;
    const store = await readChosen(choice); // the unsharded store and every shard, or the committed export
    if (store.missing.length > 0 && variant === 'full') {
      // a full run still going (or stopped to resume): no figure named full until every task has a row
      log(`figures: ${name}: full results incomplete (${describeMissing(store)}); skipped until the run is resumed to the end\n`);
      continue;
    }
    if (store.missing.length > 0) log(`figures: ${name}: ${describeMissing(store)}; the figures use the rows present\n`);
    const config = parseExperimentConfig(store.config, choice.parquet ?? join(dir, 'config.json'));
    // a description edited since the run (not part of a run's identity): the shipped text
    const shipped = parseExperimentConfig(JSON.parse(readFileSync(join('experiments', `${name}.json`), 'utf8')), join('experiments', `${name}.json`));
    const description = sameRun({ config: shipped, variant: store.variant }, { config, variant: store.variant }) ? shipped.description : config.description;
    const rates = analyseRates(store.rows, config, store.variant);
    const mean = (q: string) => rates.find((r: RateRow) => r.quantity === q && r.statistic === 'mean');
    const figures: Figure[] = [];
    for (const q of ['D1', 'D2', 'hellinger']) {
      const rate = mean(q);
      if (rate && rate.slope !== null) figures.push(convergenceFigure({ experiment: titled, quantity: q, summary: perNSummary(store.rows, q), rate }));
    }
    const panelQuantities = Object.keys(config.predictions).filter((q) => !['D1', 'D2', 'D1.raw', 'D2.raw', 'hellinger', 'tv'].includes(q));
    const panels = panelQuantities.map((q) => ({ quantity: q, summary: perNSummary(store.rows, q), rate: mean(q)! })).filter((p) => p.rate);
    if (panels.length > 0) figures.push(parameterPanels(titled, panels));
    if (config.truth.input.dim === 1) {
      figures.push(gateWeightsFigure(config.truth, `${name} (true model)`));
      const largest = Math.max(...store.rows.map((r) => r.n));
      const row = store.rows.filter((r) => r.n === largest && r.status === 'ok' && r.model).sort((a, b) => a.replicate - b.replicate)[0];
      if (row?.model) {
        figures.push(densityFigure(row.model, config.truth, `${titled}, n = ${largest}, replicate ${row.replicate}`));
        if (config.fit.k > config.truth.experts.length) {
          const loss = voronoiLoss(row.model, config.truth, lossOptions(config));
          figures.push(voronoiFigure(alignFit(row.model, loss.shift), config.truth, loss.alignedCells, `${titled}, n = ${largest}, replicate ${row.replicate}, aligned`));
        }
      }
    }
    const out = join('figures', name);
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, `index-${variant}.html`),
      figuresToHtml(figures, `${name} (${variant})`, { plotlySrc: '../plotly.min.js', intro: description }),
    );
    for (const figure of figures) jobs.push({ figure, path: join(out, `${figure.name}-${variant}.png`), format: 'png', scale: 1.5 });
    log(`figures: ${name}: ${figures.length} figures -> ${out}/index-${variant}.html\n`);
  }
  try {
    await renderImages(jobs);
    log(`figures: ${jobs.length} PNG files written\n`);
  } catch (e) {
    if (e instanceof ExportError) log(`figures: PNG skipped: ${e.message}\n`);
    else throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const unknown = args.find((a) => a !== '--full' && a !== '--quick');
  if (unknown !== undefined || args.length > 1) {
    process.stderr.write(`error: figures: ${unknown ?? args.join(' ')} is not allowed; give at most one of --full, --quick (default: full results where present, else quick)\n`);
    process.exit(2);
  }
  const want = args[0] === '--full' ? 'full' : args[0] === '--quick' ? 'quick' : 'auto';
  makeFigures(want).then(
    () => undefined,
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof GatelabError ? e.message : e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
