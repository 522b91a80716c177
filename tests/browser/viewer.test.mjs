// The trace viewer on a demo call (the seed's "Trace viewer features"): waterfall collapse/expand and
// legend filters change the rows shown, the flame graph zooms to a span on double-click and F resets
// it, a selected span's attributes and parent chain show in the detail panel, and the trace summary
// has the totals GET /v1/traces/summary gives. Takes the waterfall and flame graph screenshots.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launchBrowser, openPage, signInByApi, screenshot, textOf, rowCount, waitForViewer, num,
  parseDuration, pickTracedSimulation, spanTree, until, attrBecomes,
} from './lib/browser.mjs';

// The demo's traces hold these; the tests below need each of them.
const FILTERED_TYPE = 'tts';
const DETAIL_TYPE = 'llm';

describe('trace viewer', () => {
  let demo;
  let browser;
  let pick;       // {run, sim, summary}
  let spans;      // every span of the call, from the API
  let tree;
  let viewerUrl;

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
    pick = await pickTracedSimulation(demo.api);
    spans = (await demo.api.allSpans({ simulation_output_id: pick.sim.simulation_id })).traces;
    tree = spanTree(spans);
    viewerUrl = `/default/runs/${pick.run.run_id}/results/${pick.sim.simulation_id}/traces`;
  });

  after(async () => {
    if (browser) await browser.close();
    if (demo) await demo.server.stop();
  });

  // A signed-in page on the call's trace viewer.
  async function openViewer() {
    const opened = await openPage(browser, demo.server);
    await signInByApi(opened.context, demo.key);
    await opened.page.goto(viewerUrl);
    await waitForViewer(opened.page);
    return opened;
  }

  test('the summary shows the totals of GET /v1/traces/summary', async () => {
    const { context, page, problems } = await openViewer();
    try {
      const s = pick.summary;
      assert.equal(spans.length, s.total_spans);
      await page.getByTestId('trace-summary').waitFor();
      assert.equal(await textOf(page, 'summary-total-spans'), num(s.total_spans));
      assert.equal(await textOf(page, 'summary-trace-count'), num(s.trace_count));
      assert.equal(await textOf(page, 'summary-error-count'), num(s.status_counts.ERROR));
      assert.equal(await textOf(page, 'summary-orphan-count'), num(s.orphan_span_count));
      const shown = parseDuration(await textOf(page, 'summary-duration'));
      assert.ok(Math.abs(shown.ms - s.duration_ms) <= shown.tolerance,
        `duration ${shown.ms} ms (± ${shown.tolerance}) vs ${s.duration_ms} ms`);

      // Span type breakdown: one row per group, in the server's order, with its time share.
      const groups = await page.getByTestId('summary-span-group').evaluateAll((rows) => rows.map((r) => ({
        type: r.dataset.spanType,
        pct: r.querySelector('[data-testid="summary-time-percent"]').textContent,
      })));
      assert.deepEqual(groups, s.span_groups.map((g) => ({ type: g.name, pct: `${g.time_percent.toFixed(1)}%` })));

      const slowest = await page.getByTestId('summary-slowest-span').evaluateAll((els) => els.map((e) => e.dataset.spanId));
      assert.deepEqual(slowest, s.slowest_spans.map((e) => e.span_id));
      const errors = await page.getByTestId('summary-error-span').evaluateAll((els) => els.map((e) => e.dataset.spanId));
      assert.deepEqual(errors, s.error_spans.map((e) => e.span_id));
      assert.ok(errors.length > 0, 'the picked call has an error span (stt provider fallback)');

      // The legend has a pill per span name with the number of spans of that name.
      const pills = await page.getByTestId('legend-pill').evaluateAll((els) =>
        Object.fromEntries(els.map((e) => [e.dataset.spanType, Number(e.dataset.count)])));
      const counts = {};
      for (const sp of spans) counts[sp.name] = (counts[sp.name] || 0) + 1;
      assert.deepEqual(pills, counts);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('waterfall: collapse and expand, per span and all, change the visible rows', async () => {
    const { context, page, problems } = await openViewer();
    try {
      const n = spans.length;
      assert.equal(await rowCount(page), n);
      assert.equal(tree.roots.length, 1, 'a demo call is one trace with one root');

      // The longest span of the second level, with its own children, is collapsed and expanded.
      const root = tree.roots[0];
      const second = (tree.children.get(`${root.trace_id}/${root.span_id}`) || [])
        .filter((c) => tree.descendants(c) > 0)
        .sort((a, b) => b.duration_ms - a.duration_ms)[0];
      assert.ok(second, 'the root has a child with children');
      const hidden = tree.descendants(second);
      const row = page.locator(`[data-testid="waterfall-row"][data-span-id="${second.span_id}"]`);
      await attrBecomes(row, 'aria-expanded', 'true');
      await row.getByTestId('waterfall-toggle').click();
      assert.equal(await rowCount(page), n - hidden);
      await attrBecomes(row, 'aria-expanded', 'false');
      // The descendants' rows are gone, not just hidden: a child of the collapsed span is absent.
      const child = tree.children.get(`${second.trace_id}/${second.span_id}`)[0];
      const childRow = page.locator(`[data-testid="waterfall-row"][data-span-id="${child.span_id}"]:visible`);
      await until(async () => (await childRow.count()) === 0, 'the collapsed span\'s child row to go');
      await row.getByTestId('waterfall-toggle').click();
      assert.equal(await rowCount(page), n);
      await attrBecomes(row, 'aria-expanded', 'true');

      // Collapse all leaves the roots; expand all brings every span back.
      await page.getByTestId('collapse-all').click();
      assert.equal(await rowCount(page), tree.roots.length);
      await until(async () => (await page.locator('[data-testid="waterfall-row"]:visible').count()) === tree.roots.length,
        'only the root rows to be rendered');
      await page.getByTestId('expand-all').click();
      assert.equal(await rowCount(page), n);

      // Keyboard: select the root, Left collapses it, Right expands it.
      const rootRow = page.locator(`[data-testid="waterfall-row"][data-span-id="${root.span_id}"]`);
      await rootRow.locator('.tv-row-label').click();
      assert.equal(await page.getByTestId('trace-viewer').getAttribute('data-selected-span-id'), root.span_id);
      await page.keyboard.press('ArrowLeft');
      assert.equal(await rowCount(page), 1);
      await page.keyboard.press('ArrowRight');
      assert.equal(await rowCount(page), n);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a legend pill filters its span type out of the waterfall and back in', async () => {
    const { context, page, problems } = await openViewer();
    try {
      const n = spans.length;
      const count = spans.filter((s) => s.name === FILTERED_TYPE).length;
      assert.ok(count > 0, `the call has ${FILTERED_TYPE} spans`);
      const pill = page.locator(`[data-testid="legend-pill"][data-span-type="${FILTERED_TYPE}"]`);
      assert.equal(await pill.getAttribute('aria-pressed'), 'true');
      const visibleNames = () => page.locator('[data-testid="waterfall-row"]:visible .tv-row-label').allTextContents();
      assert.ok((await visibleNames()).includes(FILTERED_TYPE));

      await pill.click();
      assert.equal(await pill.getAttribute('aria-pressed'), 'false');
      // A hidden type's own rows go; its children (if any) stay, moved up.
      assert.equal(await rowCount(page), n - count);
      await until(async () => !(await visibleNames()).includes(FILTERED_TYPE), `no ${FILTERED_TYPE} row rendered`);
      await page.getByTestId('legend-show-all').waitFor();

      // A second type filters on top of the first.
      const other = spans.filter((s) => s.name === 'vad').length;
      await page.locator('[data-testid="legend-pill"][data-span-type="vad"]').click();
      assert.equal(await rowCount(page), n - count - other);

      await page.getByTestId('legend-show-all').click();
      assert.equal(await rowCount(page), n);
      assert.equal(await pill.getAttribute('aria-pressed'), 'true');
      await until(async () => (await visibleNames()).includes(FILTERED_TYPE), `${FILTERED_TYPE} rows rendered again`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('selecting a span shows its attributes, timing, status and parent chain', async () => {
    const { context, page, problems } = await openViewer();
    try {
      // The first span of the type (by start) is near the top, so its row is rendered.
      const target = spans.filter((s) => s.name === DETAIL_TYPE)
        .sort((a, b) => (BigInt(a.start_time_unix_nano) < BigInt(b.start_time_unix_nano) ? -1 : 1))[0];
      assert.ok(target && Object.keys(target.attributes).length > 0, `the call has an ${DETAIL_TYPE} span with attributes`);
      await page.locator(`[data-testid="waterfall-row"][data-span-id="${target.span_id}"] .tv-row-label`).click();

      const detail = page.getByTestId('span-detail');
      await detail.waitFor();
      assert.equal(await detail.getAttribute('data-span-id'), target.span_id);
      assert.equal(await textOf(page, 'detail-name'), DETAIL_TYPE);
      assert.equal(await textOf(page, 'detail-span-id'), target.span_id);
      assert.equal(await textOf(page, 'detail-trace-id'), target.trace_id);
      assert.equal(await textOf(page, 'detail-parent-span-id'), target.parent_span_id);
      assert.equal(await textOf(page, 'detail-status'), target.status.code);
      assert.equal(await textOf(page, 'detail-service'), target.service_name);
      const shown = parseDuration(await textOf(page, 'detail-duration'));
      assert.ok(Math.abs(shown.ms - target.duration_ms) <= shown.tolerance);

      const rows = await detail.getByTestId('detail-attributes').getByTestId('attribute-row').evaluateAll((els) =>
        els.map((e) => [e.dataset.key, e.querySelector('.tv-kv-value').textContent]));
      const want = Object.keys(target.attributes).sort().map((k) => {
        const v = target.attributes[k];
        return [k, typeof v === 'string' ? v : JSON.stringify(v)];
      });
      assert.deepEqual(rows, want);

      // Parent chain: root first, down to the direct parent.
      const chain = [];
      for (let p = tree.parentOf(target); p; p = tree.parentOf(p)) chain.unshift(p.span_id);
      const links = await page.getByTestId('parent-chain-link').evaluateAll((els) => els.map((e) => e.dataset.spanId));
      assert.deepEqual(links, chain);

      // A parent link selects the parent; Escape goes back to the summary.
      await page.getByTestId('parent-chain-link').last().click();
      assert.equal(await page.getByTestId('span-detail').getAttribute('data-span-id'), target.parent_span_id);
      await page.keyboard.press('Escape');
      await page.getByTestId('trace-summary').waitFor();
      assert.equal(await page.getByTestId('trace-viewer').getAttribute('data-selected-span-id'), null);

      // The picture: a selected span with its attributes, with the tree fully open.
      await page.locator(`[data-testid="waterfall-row"][data-span-id="${target.span_id}"] .tv-row-label`).click();
      await detail.waitFor();
      await screenshot(page, 'waterfall');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('flame graph: double-click zooms to a span, F resets the view', async () => {
    const { context, page, problems } = await openViewer();
    try {
      await page.getByTestId('view-toggle-flamegraph').click();
      assert.equal(await page.getByTestId('trace-viewer').getAttribute('data-view'), 'flamegraph');
      const canvas = page.getByTestId('flamegraph-canvas');
      await canvas.waitFor();
      const full = pick.summary.duration_ms;
      const range = async () => ({
        start: Number(await canvas.getAttribute('data-view-start')),
        end: Number(await canvas.getAttribute('data-view-end')),
      });
      const r0 = await range();
      assert.equal(r0.start, 0);
      assert.ok(Math.abs(r0.end - full) < 0.01, `the whole trace is shown: ${r0.end} vs ${full}`);

      // The longest turn, found on the canvas by hovering down its middle until the tooltip names it.
      const t0 = BigInt(pick.summary.start_time_unix_nano);
      const offset = (ns) => Number(BigInt(ns) - t0) / 1e6;
      const turn = spans.filter((s) => s.name === 'turn').sort((a, b) => b.duration_ms - a.duration_ms)[0];
      const tStart = offset(turn.start_time_unix_nano);
      const tEnd = offset(turn.end_time_unix_nano);
      const box = await canvas.boundingBox();
      const x = box.x + ((tStart + tEnd) / 2 / full) * box.width;
      const tooltip = page.getByTestId('flamegraph-tooltip');
      let y = null;
      for (let row = 0; row < 12 && y === null; row++) {
        const yy = box.y + 22 + row * 20 + 10; // axis height, row height (flamegraph.js)
        await page.mouse.move(x, yy);
        if (await tooltip.isVisible() && (await tooltip.locator('strong').textContent()) === 'turn') y = yy;
      }
      assert.ok(y !== null, 'the longest turn is found on the canvas');
      await page.mouse.dblclick(x, y);
      const r1 = await range();
      assert.ok(Math.abs(r1.start - tStart) < 0.01 && Math.abs(r1.end - tEnd) < 0.01,
        `zoomed to the turn [${tStart}, ${tEnd}], view is [${r1.start}, ${r1.end}]`);
      // The click of the double-click selected the turn too.
      assert.equal(await page.getByTestId('trace-viewer').getAttribute('data-selected-span-id'), turn.span_id);

      await page.keyboard.press('f');
      const r2 = await range();
      assert.equal(r2.start, 0);
      assert.ok(Math.abs(r2.end - full) < 0.01);
      // The picture: the whole trace, the turn still selected.
      await screenshot(page, 'flamegraph');

      // Ctrl + wheel zooms in around the pointer; the reset button restores the whole trace.
      await page.mouse.move(box.x + box.width / 2, box.y + 40);
      await page.keyboard.down('Control');
      await page.mouse.wheel(0, -300);
      await page.keyboard.up('Control');
      const r3 = await range();
      assert.ok(r3.end - r3.start < full * 0.9, `ctrl+wheel zoomed in: ${r3.end - r3.start} of ${full}`);
      await page.getByTestId('flamegraph-reset').click();
      const r4 = await range();
      assert.equal(r4.start, 0);
      assert.ok(Math.abs(r4.end - full) < 0.01);

      // Back to the waterfall, the selection is kept.
      await page.getByTestId('view-toggle-waterfall').click();
      assert.equal(await page.getByTestId('trace-viewer').getAttribute('data-view'), 'waterfall');
      await attrBecomes(page.locator(`[data-testid="waterfall-row"][data-span-id="${turn.span_id}"]`), 'aria-selected', 'true');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
