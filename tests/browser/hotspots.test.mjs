// The Transition Hotspots tab of a demo run (?view=hotspots): the heatmap holds the transitions of
// GET /v1/runs/{run}/hotspots, the Counts / Failure Rate toggle changes what the cells show and how
// dark they are, and a cell click shows its counts and exemplar simulations whose links open their
// result pages. Takes the hotspots screenshot.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launchBrowser, openPage, signInByApi, screenshot, textOf, num, until,
} from './lib/browser.mjs';

// Relative luminance of a CSS rgb() color, 0 (black) to 1 (white): "darker" in numbers.
function luminance(css) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (!m) throw new Error(`not an rgb color: ${css}`);
  const [r, g, b] = m.slice(1, 4).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('transition hotspots tab', () => {
  let demo;
  let browser;
  let run;
  let hotspots;

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
    run = (await demo.api.get('/v1/runs?page_size=10')).json.runs[0];
    const r = await demo.api.get(`/v1/runs/${run.run_id}/hotspots`);
    assert.equal(r.status, 200, r.text);
    hotspots = r.json;
    assert.ok(hotspots.transitions.length > 1 && hotspots.top_hotspots.length > 0, 'the demo run has hotspots');
  });

  after(async () => {
    if (browser) await browser.close();
    if (demo) await demo.server.stop();
  });

  // Every cell of the matrix: {key, text, bg, count, rate}.
  const readCells = (page) => page.getByTestId('hotspot-cell').evaluateAll((tds) => tds.map((td) => ({
    key: `${td.dataset.from} -> ${td.dataset.to}`,
    text: td.textContent,
    bg: getComputedStyle(td).backgroundColor,
  })));

  test('heatmap, Counts / Failure Rate toggle, cell detail and exemplar links', async () => {
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      await page.goto(`/default/runs/${run.run_id}?view=hotspots`);
      await page.getByTestId('hotspot-matrix').waitFor();
      assert.equal(await page.getByTestId('tab-hotspots').getAttribute('aria-selected'), 'true');
      assert.ok(await page.getByTestId('results-panel').isHidden());

      // Rows and columns are the run's states; wrappers are collapsed by default.
      assert.ok(await page.getByTestId('collapse-wrappers').isChecked());
      const rowHeads = await page.getByTestId('hotspot-row-header').allTextContents();
      assert.deepEqual(rowHeads, hotspots.states);
      assert.deepEqual(await page.getByTestId('hotspot-col-header').allTextContents(), hotspots.states);
      assert.ok(!rowHeads.includes('conversation') && !rowHeads.includes('transport'));

      // Counts: one cell per transition, showing its count.
      const byKey = new Map(hotspots.transitions.map((t) => [`${t.from} -> ${t.to}`, t]));
      const counts = await readCells(page);
      assert.equal(counts.length, hotspots.transitions.length);
      for (const c of counts) assert.equal(c.text, num(byKey.get(c.key).count), c.key);
      assert.equal(await page.getByTestId('toggle-counts').getAttribute('aria-pressed'), 'true');

      // Failure rate: the same cells show percentages, in other colors, darker for higher rates.
      await page.getByTestId('toggle-failure-rate').click();
      assert.equal(await page.getByTestId('toggle-failure-rate').getAttribute('aria-pressed'), 'true');
      assert.equal(new URL(page.url()).searchParams.get('mode'), 'failure_rate');
      const rates = await until(async () => {
        const cells = await readCells(page);
        return cells.length && cells.every((c) => c.text.endsWith('%')) ? cells : null;
      }, 'cells showing failure rates');
      assert.equal(rates.length, counts.length);
      for (const c of rates) assert.equal(c.text, `${byKey.get(c.key).failure_rate.toFixed(0)}%`, c.key);
      const countBg = new Map(counts.map((c) => [c.key, c.bg]));
      for (const c of rates) assert.notEqual(c.bg, countBg.get(c.key), `${c.key} is recolored`);
      const sorted = rates.map((c) => ({ rate: byKey.get(c.key).failure_rate, lum: luminance(c.bg) }))
        .sort((a, b) => a.rate - b.rate);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i].rate > sorted[i - 1].rate) {
          assert.ok(sorted[i].lum < sorted[i - 1].lum, `a ${sorted[i].rate}% cell is darker than a ${sorted[i - 1].rate}% one`);
        }
      }

      // Back to counts.
      await page.getByTestId('toggle-counts').click();
      await until(async () => (await readCells(page)).every((c) => c.text === num(byKey.get(c.key).count)),
        'cells showing counts again');
      assert.equal(new URL(page.url()).searchParams.get('mode'), null);

      // Top Hotspots sidebar, in the server's order.
      const tops = await page.getByTestId('top-hotspot').evaluateAll((els) => els.map((e) => `${e.dataset.from} -> ${e.dataset.to}`));
      assert.deepEqual(tops, hotspots.top_hotspots.map((t) => `${t.from} -> ${t.to}`));

      // A cell click opens its detail with counts and exemplars.
      const top = hotspots.top_hotspots[0];
      const cell = page.locator(`[data-testid="hotspot-cell"][data-from="${top.from}"][data-to="${top.to}"]`);
      await cell.click();
      assert.match(await cell.getAttribute('class'), /\bselected\b/);
      assert.equal(await textOf(page, 'hotspot-detail-title'), `${top.from} → ${top.to}`);
      assert.equal(await textOf(page, 'hotspot-detail-count'), num(top.count));
      assert.equal(await textOf(page, 'hotspot-detail-simulations'), num(top.simulation_count));
      assert.equal(await textOf(page, 'hotspot-detail-failed'), num(top.failed_simulation_count));
      const exemplars = await page.getByTestId('exemplar-link').evaluateAll((els) => els.map((e) => e.dataset.simulationId));
      assert.deepEqual(exemplars, top.exemplars);
      await screenshot(page, 'hotspots');

      // An exemplar link opens that simulation's result page.
      const first = top.exemplars[0];
      await page.getByTestId('exemplar-link').first().click();
      await page.waitForURL(`**/default/runs/${run.run_id}/results/${first}`);
      await page.getByTestId('result-page').waitFor();
      assert.equal(await textOf(page, 'page-title'), first);
      await page.getByTestId('otel-traces-card').waitFor();

      // Back in history: the Hotspots tab again, with its selection gone but the matrix there.
      await page.goBack();
      await page.waitForURL((u) => u.searchParams.get('view') === 'hotspots');
      await page.getByTestId('hotspot-matrix').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('the tab switch moves between Results and Hotspots without reloading', async () => {
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      await page.goto(`/default/runs/${run.run_id}`);
      await page.getByTestId('results-table').waitFor();
      await page.getByTestId('tab-hotspots').click();
      await page.waitForURL((u) => u.searchParams.get('view') === 'hotspots');
      await page.getByTestId('hotspot-matrix').waitFor();
      assert.ok(await page.getByTestId('results-panel').isHidden());
      await page.getByTestId('tab-results').click();
      await page.waitForURL((u) => !u.searchParams.has('view'));
      assert.ok(await page.getByTestId('results-table').isVisible());
      assert.ok(await page.getByTestId('hotspots-panel').isHidden());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
