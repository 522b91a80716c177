// Span data is untrusted: markup that arrives in a span (name, attribute key and value, status
// message) or in a transcript is shown as the characters it is and runs nothing. The payloads go in
// through the public API into a demo simulation, then every place the UI shows them is opened.
//
// The Content-Security-Policy alone would stop an inline onerror handler from running, so the suite
// does not rely on window.__xss staying undefined: it also checks that no element was created from
// the markup (no <img>/<svg>, no on* attributes), and a blocked handler would have logged a CSP
// violation, which the console check reports.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launchBrowser, openPage, signInByApi, textOf, waitForViewer, pickTracedSimulation, until,
} from './lib/browser.mjs';
import { span, otlpRequest, ingestOk, hex, MS } from '../integration/lib/otlp_json.mjs';

const NAME = '<img src=x onerror=window.__xss=1>';
const VALUE = '<img src=x onerror=window.__xss=2>';
const KEY = '<svg onload=window.__xss=3>';
const MESSAGE = '<script>window.__xss=4</script>';
const SAID = '<img src=x onerror=window.__xss=5> is what the caller typed';

// Nothing from the payloads became an element or ran.
async function assertInert(page, where) {
  const found = await page.evaluate(() => ({
    xss: typeof window.__xss,
    img: document.querySelectorAll('img').length,
    svg: document.querySelectorAll('svg').length,
    inlineScripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
    handlers: [...document.querySelectorAll('*')].filter((e) =>
      [...e.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
  assert.deepEqual(found, { xss: 'undefined', img: 0, svg: 0, inlineScripts: 0, handlers: 0 }, where);
}

describe('span data is shown as text', () => {
  let demo;
  let browser;
  let pick;
  let probe;   // the injected span (OTLP JSON)

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
    pick = await pickTracedSimulation(demo.api);
    const simId = pick.sim.simulation_id;

    // A child of the call's root span, in the call's own trace.
    const spans = (await demo.api.allSpans({ simulation_output_id: simId })).traces;
    const root = spans.find((s) => !s.parent_span_id);
    const start = BigInt(root.start_time_unix_nano) + 1000n * MS;
    probe = span({
      traceId: root.trace_id, spanId: hex(8), parentSpanId: root.span_id, name: NAME,
      start, end: start + 1500n * MS, status: 'ERROR', message: MESSAGE,
      attributes: { note: VALUE, [KEY]: 'key with markup' },
    });
    await ingestOk(demo.server, demo.key, { sim: simId }, otlpRequest([probe], { resource: { 'service.name': VALUE } }));
    const patched = await demo.api.request('PATCH', `/v1/simulations/${simId}`, {
      json: { transcript: [{ role: 'user', content: SAID }, { role: 'assistant', content: MESSAGE }] },
    });
    assert.equal(patched.status, 200, patched.text);
  });

  after(async () => {
    if (browser) await browser.close();
    if (demo) await demo.server.stop();
  });

  test('markup in a span and a transcript is text on the result page, the waterfall and the detail panel', async () => {
    const { run, sim } = pick;
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      const base = `/default/runs/${run.run_id}/results/${sim.simulation_id}`;

      await page.goto(base);
      await page.getByTestId('transcript').waitFor();
      const said = await page.getByTestId('transcript-message').evaluateAll((els) => els.map((e) => e.querySelector('.msg-text').textContent));
      assert.deepEqual(said, [SAID, MESSAGE]);
      await assertInert(page, 'result page');

      await page.goto(`${base}/traces`);
      await waitForViewer(page);
      const row = page.locator(`[data-testid="waterfall-row"][data-span-id="${probe.spanId}"]`);
      await row.waitFor();
      assert.equal(await row.locator('.tv-row-label').textContent(), NAME);
      assert.equal(await row.getAttribute('data-status'), 'ERROR');
      // The legend pill of the new span name, and the summary's error list, name it as text.
      const pill = page.locator('[data-testid="legend-pill"]').filter({ hasText: NAME });
      assert.equal(await pill.getAttribute('data-span-type'), NAME);
      const errorSpan = page.locator(`[data-testid="summary-error-span"][data-span-id="${probe.spanId}"]`);
      assert.match(await errorSpan.textContent(), new RegExp(`^${NAME.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.ok((await errorSpan.textContent()).includes(MESSAGE));
      await assertInert(page, 'waterfall and summary');

      // The detail panel: name, status message, attribute key and value, resource.
      await row.locator('.tv-row-label').click();
      await page.getByTestId('span-detail').waitFor();
      assert.equal(await textOf(page, 'detail-name'), NAME);
      assert.equal(await textOf(page, 'detail-status-message'), MESSAGE);
      const attrs = page.getByTestId('detail-attributes').getByTestId('attribute-row');
      const pairs = await attrs.evaluateAll((els) => els.map((e) => [e.dataset.key,
        e.querySelector('th').textContent, e.querySelector('.tv-kv-value').textContent]));
      assert.deepEqual(pairs.sort(), [[KEY, KEY, 'key with markup'], ['note', 'note', VALUE]].sort());
      assert.equal(await textOf(page, 'detail-service'), VALUE);
      await assertInert(page, 'detail panel');

      // The flame graph draws names on a canvas; its tooltip is text too.
      await page.getByTestId('view-toggle-flamegraph').click();
      await page.getByTestId('flamegraph-canvas').waitFor();
      const canvas = await page.getByTestId('flamegraph-canvas').boundingBox();
      const full = Number(await page.getByTestId('flamegraph-canvas').getAttribute('data-view-end'));
      const x = canvas.x + ((1000 + 750) / full) * canvas.width;
      const tip = page.getByTestId('flamegraph-tooltip');
      await until(async () => {
        for (let r = 0; r < 10; r++) {
          await page.mouse.move(x, canvas.y + 22 + r * 20 + 10);
          if (await tip.isVisible() && (await tip.locator('strong').textContent()) === NAME) return true;
        }
        return false;
      }, 'the tooltip of the injected span');
      await assertInert(page, 'flame graph');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
