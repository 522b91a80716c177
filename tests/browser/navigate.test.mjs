// Sign-in and the way a user walks from the runs list down to a call's trace (DESIGN.md 6):
// runs -> run results -> result page -> OTel Traces card -> View Traces -> trace viewer, against
// `voxtrace serve --demo` with the UI built into the binary. Takes the runs, run results and result
// page screenshots of the README.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launchBrowser, openPage, signInByApi, screenshot, textOf, rowCount, waitForViewer, num,
  pickTracedSimulation,
} from './lib/browser.mjs';

// How the results table writes a metric value: at most three fraction digits, en-US separators.
const fmt3 = (v) => Number(v).toLocaleString('en-US', { maximumFractionDigits: 3 });

describe('sign-in and navigation', () => {
  let demo;
  let browser;
  let pick;

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
    pick = await pickTracedSimulation(demo.api);
  });

  after(async () => {
    if (browser) await browser.close();
    if (demo) await demo.server.stop();
  });

  test('the signed-out page shows the sign-in form and refuses a wrong key', async () => {
    const { context, page, problems } = await openPage(browser, demo.server, { allowSession401: true });
    try {
      await page.goto('/');
      await page.getByTestId('signin-form').waitFor();
      assert.equal(await page.title(), 'Sign in · voxtrace');

      await page.getByTestId('signin-submit').click();
      assert.match(await textOf(page, 'error'), /Enter an API key/);

      await page.getByTestId('api-key-input').fill('vtk_not-a-real-key-0000000000000000000000000');
      await page.getByTestId('signin-submit').click();
      await page.getByText('That API key is not valid').waitFor();
      assert.equal(new URL(page.url()).pathname, '/');
      assert.equal(await page.getByTestId('app-header').count(), 0, 'no app shell without a session');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('sign in with the printed key, then runs -> results -> result page -> OTel Traces card -> viewer', async () => {
    const { run, sim } = pick;
    const { context, page, problems } = await openPage(browser, demo.server, { allowSession401: true });
    try {
      await page.goto('/');
      await page.getByTestId('api-key-input').fill(demo.key);
      await page.getByTestId('signin-submit').click();
      await page.waitForURL('**/default/runs');
      // The header names the session's org (the cookie the form got works for the API too).
      const session = await context.request.get('/v1/sessions');
      assert.equal(session.status(), 200);
      const org = (await session.json()).org;
      assert.equal(org.slug, 'default');
      assert.equal(await textOf(page, 'org-name'), org.name || org.slug);

      // Runs list: the API's runs, newest first, in the same order.
      const runs = (await demo.api.get('/v1/runs?page_size=50')).json.runs;
      await page.getByTestId('runs-table').waitFor();
      const rowIds = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.dataset.runId));
      assert.deepEqual(rowIds, runs.map((r) => r.run_id));
      const runRow = page.locator(`[data-testid="run-row"][data-run-id="${run.run_id}"]`);
      assert.equal((await runRow.getByTestId('run-link').textContent()).trim(), run.display_name);
      assert.equal((await runRow.getByTestId('run-status').textContent()).trim(), run.status);
      await screenshot(page, 'runs');

      // Run results: one row per simulation of the run, with its span count.
      const metricsLoaded = page.waitForResponse((r) => r.url().includes(`/v1/runs/${run.run_id}/metrics`));
      await runRow.getByTestId('run-link').click();
      await page.waitForURL(`**/default/runs/${run.run_id}`);
      await page.getByTestId('results-table').waitFor();
      const q = new URLSearchParams({ filter: `run_id="${run.run_id}"`, page_size: '100' });
      const sims = (await demo.api.get(`/v1/simulations?${q}`)).json.simulations;
      assert.equal(await page.getByTestId('sim-row').count(), sims.length);
      const simRow = page.locator(`[data-testid="sim-row"][data-simulation-id="${sim.simulation_id}"]`);
      assert.equal((await simRow.getByTestId('sim-span-count').textContent()).trim(), num(sim.span_count));
      assert.equal((await simRow.getByTestId('sim-result').textContent()).trim(), sim.result);
      assert.equal(await page.getByTestId('page-title').textContent(), run.display_name);
      await page.getByTestId('tab-hotspots').waitFor({ state: 'visible' });
      assert.equal(await page.getByTestId('tab-results').getAttribute('aria-selected'), 'true');
      // The metric columns fill in once the run's metrics have arrived; the picture waits for them.
      await (await metricsLoaded).finished();
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
      await screenshot(page, 'run-results');

      // Result page: transcript and the OTel Traces card with the span count.
      await simRow.getByTestId('sim-link').click();
      await page.waitForURL(`**/default/runs/${run.run_id}/results/${sim.simulation_id}`);
      await page.getByTestId('otel-traces-card').waitFor();
      assert.equal(await textOf(page, 'otel-span-count'), num(sim.span_count));
      const full = (await demo.api.get(`/v1/simulations/${sim.simulation_id}`)).json.simulation;
      assert.ok(full.transcript.length > 0, 'the demo call has a transcript');
      assert.equal(await page.getByTestId('transcript-message').count(), full.transcript.length);
      assert.equal((await page.getByTestId('transcript-message').first().locator('.msg-text').textContent()),
        full.transcript[0].content);
      await page.getByTestId('metric-card').first().waitFor();
      await screenshot(page, 'result');

      // View Traces opens the viewer on every span of the call.
      await page.getByTestId('view-traces').click();
      await page.waitForURL(`**/default/runs/${run.run_id}/results/${sim.simulation_id}/traces`);
      await waitForViewer(page);
      assert.equal(await rowCount(page), sim.span_count);
      assert.match(await textOf(page, 'trace-meta'), new RegExp(`^${num(sim.span_count)} spans`));
      assert.equal(await page.getByTestId('trace-viewer').getAttribute('data-view'), 'waterfall');

      // The viewer's back button and the browser's back button both return to the result page.
      await page.getByTestId('trace-back').click();
      await page.waitForURL(`**/results/${sim.simulation_id}`);
      await page.getByTestId('otel-traces-card').waitFor();
      await page.goBack();
      await page.waitForURL('**/traces');
      await waitForViewer(page);
      await page.goBack();
      await page.waitForURL(`**/results/${sim.simulation_id}`);
      await page.getByTestId('result-page').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('the results table shows every metric value of each call and the run average', async () => {
    const { run, sim } = pick;
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      const metrics = (await demo.api.get(`/v1/runs/${run.run_id}/metrics`)).json.metrics;
      const shown = metrics.filter((m) => m.average !== null);
      assert.ok(shown.length > 0, 'the demo run has metric values');
      await page.goto(`/default/runs/${run.run_id}`);
      await page.getByTestId('results-table').waitFor();
      await page.getByTestId('metric-averages').waitFor().catch(() => {
        throw new Error('no metric columns: the results table shows no run average row ' +
          '(the page reads GET /v1/runs/{run}/metrics, whose per-call values are under "simulations")');
      });
      const simRow = page.locator(`[data-testid="sim-row"][data-simulation-id="${sim.simulation_id}"]`);
      for (const m of shown) {
        const mine = m.simulations.find((v) => v.simulation_id === sim.simulation_id);
        const cell = simRow.locator(`[data-testid="sim-metric"][data-metric-id="${m.metric_id}"]`);
        const want = mine && mine.value !== null ? fmt3(mine.value) : '—';
        assert.equal((await cell.textContent()).trim().split(' ')[0], want, `${m.metric_id} of the call`);
        const avg = page.locator(`[data-testid="metric-average"][data-metric-id="${m.metric_id}"]`);
        assert.equal((await avg.textContent()).trim(), fmt3(m.average), `${m.metric_id} run average`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('every page of the app loads, by address, without console or page errors', async () => {
    const { run, sim } = pick;
    const conv = (await demo.api.get('/v1/conversations?page_size=1')).json.conversations[0];
    assert.ok(conv.span_count > 0, 'the demo has a traced conversation');
    const res = `/default/runs/${run.run_id}/results/${sim.simulation_id}`;
    // Address -> an element that exists only once the page has loaded its data.
    const pages = [
      ['/default/runs', 'run-row'],
      [`/default/runs/${run.run_id}`, 'sim-row'],
      [`/default/runs/${run.run_id}?view=hotspots`, 'hotspot-cell'],
      [res, 'otel-traces-card'],
      [`${res}/traces`, 'waterfall-row'],
      ['/default/monitoring', 'conversation-row'],
      [`/default/monitoring/${conv.conversation_id}`, 'otel-traces-card'],
      [`/default/monitoring/${conv.conversation_id}/traces`, 'waterfall-row'],
      ['/default/metrics', 'metric-row'],
      ['/default/no-such-page', 'not-found'],
    ];
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      for (const [url, testid] of pages) {
        await page.goto(url);
        await page.getByTestId(testid).first().waitFor();
        assert.deepEqual(problems, [], `on ${url}`);
      }
      // The app shell's own links move between the sections without a page load.
      await page.getByTestId('nav-metrics').click();
      await page.getByTestId('metric-form').waitFor();
      await page.getByTestId('nav-monitoring').click();
      await page.getByTestId('conversations-table').waitFor();
      await page.getByTestId('nav-runs').click();
      await page.getByTestId('runs-table').waitFor();
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a signed-out deep link comes back after sign-in; sign-out ends the session', async () => {
    const { run } = pick;
    const { context, page, problems } = await openPage(browser, demo.server, { allowSession401: true });
    try {
      await page.goto(`/default/runs/${run.run_id}`);
      await page.getByTestId('signin-form').waitFor();
      await page.getByTestId('api-key-input').fill(demo.key);
      await page.getByTestId('signin-submit').click();
      await page.waitForURL(`**/default/runs/${run.run_id}`);
      await page.getByTestId('results-table').waitFor();

      // Another org's address is not found, not this org's data under another name.
      await page.goto('/someone-else/runs');
      await page.getByTestId('not-found').waitFor();
      assert.match(await textOf(page, 'not-found'), /"someone-else" was not found/);

      await page.getByTestId('sign-out').click();
      await page.getByTestId('signin-form').waitFor();
      const probe = await context.request.get('/v1/runs');
      assert.equal(probe.status(), 401, 'the session cookie no longer works');
      assert.deepEqual((await context.cookies()).filter((c) => c.value !== ''), []);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
