#!/usr/bin/env node
// bench/viewer.mjs - how long a 100,000-span trace takes to open in the web UI (DESIGN.md 6: "fluid
// on a 100,000-span trace"; target: first paint of the viewer under 2 s). Run by `make bench` after
// the ingest benchmark, or directly after `make`: node bench/viewer.mjs
//
// It starts build/voxtrace on a free loopback port with a fresh data folder, stores one simulation
// whose single trace has 100,000 spans (a long call: conversation > turn > vad, stt > provider, llm,
// tool calls, tts), and opens the simulation's trace page in headless Chromium through the real UI
// (signed in with a session cookie, the UI built into the binary). For each measured load it opens a
// new browser context (empty cache, like a user following a link), navigates, and records on the
// page the time from the start of the navigation (performance.timeOrigin) to the first paint of the
// viewer: the first task after the frame in which the waterfall's rows were created. From Resource
// Timing it splits that time into the page and its scripts (until the first API request), the data
// (span pages and summary, until the last response ends) and the rest (building the model and
// drawing), and it checks that the viewer holds every span (data-row-count). Then, on one loaded
// page, it times a few interactions: switching to the flame graph, collapsing and expanding every
// span, and filtering a span type out.
//
// Prints the machine, each load, the median against the target, and PASS/FAIL. Knobs (environment):
// BENCH_VIEWER_SPANS (100000), BENCH_VIEWER_RUNS (5 measured loads, after 1 warm-up),
// BENCH_STRICT (0; 1 makes a missed target exit 1), VOXTRACE_BIN, VOXTRACE_CHROMIUM.

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../tests/integration/lib/server.mjs';
import { launchBrowser, CHROMIUM_PATH } from '../tests/browser/lib/browser.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SPANS = Number(process.env.BENCH_VIEWER_SPANS || 100000);
const RUNS = Number(process.env.BENCH_VIEWER_RUNS || 5);
const STRICT = process.env.BENCH_STRICT === '1';
const TARGET_MS = 2000;
// Spans per POST /v1/traces; about 3 MB of OTLP JSON each.
const BATCH = 10000;

const log = [];
function say(line = '') {
  console.log(line);
  log.push(line);
}

// ---- the trace ----------------------------------------------------------------------------------

const hexId = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');
const str = (v) => ({ stringValue: v });
const int = (v) => ({ intValue: String(v) });
const dbl = (v) => ({ doubleValue: v });

// The spans of one long call, root first. Deterministic, so every run measures the same trace. A
// turn is 10 spans (turn, vad, stt, stt.provider.deepgram, llm, llm_tool_call, llm, tts, llm,
// tts); turns follow each other 4 s apart; every 17th tool call fails.
function* callSpans(total) {
  const traceId = hexId(0xb3c4a11, 16);
  const t0 = BigInt(Date.now() - 24 * 3600 * 1000) * 1000000n;
  const ns = (msFromStart) => String(t0 + BigInt(Math.round(msFromStart * 1000)) * 1000n);
  let next = 1;
  const mk = (name, parent, start, end, attributes = [], status = {}) => ({
    traceId, spanId: hexId(next++, 8), ...(parent ? { parentSpanId: parent } : {}), name, kind: 1,
    startTimeUnixNano: ns(start), endTimeUnixNano: ns(end), attributes, status,
  });
  const turns = Math.ceil((total - 1) / 10);
  const root = mk('conversation', null, 0, turns * 4000 + 500, [{ key: 'call.id', value: str('bench-call') }]);
  yield root;
  let made = 1;
  for (let t = 0; made < total; t++) {
    const at = t * 4000 + 100;
    const turn = mk('turn', root.spanId, at, at + 3800, [{ key: 'turn.number', value: int(t + 1) }]);
    const stt = mk('stt', turn.spanId, at + 50, at + 1000);
    const failed = t % 17 === 0;
    const group = [
      turn,
      mk('vad', turn.spanId, at, at + 900),
      stt,
      mk('stt.provider.deepgram', stt.spanId, at + 60, at + 990,
        [{ key: 'transcript', value: str(`caller words of turn ${t + 1}`) }, { key: 'stt.confidence', value: dbl(0.91) }]),
      mk('llm', turn.spanId, at + 1000, at + 1700, [
        { key: 'gen_ai.request.model', value: str('gpt-4o-mini') },
        { key: 'gen_ai.usage.input_tokens', value: int(900 + (t % 300)) },
        { key: 'gen_ai.usage.output_tokens', value: int(40 + (t % 50)) },
        { key: 'metrics.ttfb', value: dbl(0.4 + (t % 10) / 50) },
      ]),
      mk('llm_tool_call', turn.spanId, at + 1700, at + 1900, [{ key: 'tool.name', value: str('lookup_account') }],
        failed ? { code: 2, message: 'timeout' } : {}),
      mk('llm', turn.spanId, at + 1900, at + 2400, [{ key: 'llm.finish_reason', value: str('stop') }]),
      mk('tts', turn.spanId, at + 2400, at + 3700, [{ key: 'metrics.ttfb', value: dbl(0.2) }]),
      mk('llm', turn.spanId, at + 2450, at + 2600),
      mk('tts', turn.spanId, at + 2600, at + 3750),
    ];
    for (const sp of group) {
      if (made >= total) break;
      made++;
      yield sp;
    }
  }
}

// callSpans in lists of BATCH.
function* batches(total) {
  let batch = [];
  for (const sp of callSpans(total)) {
    batch.push(sp);
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

function otlp(spans) {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: str('bench-agent') }] },
      scopeSpans: [{ scope: { name: 'bench' }, spans }],
    }],
  };
}

// ---- measuring in the page ------------------------------------------------------------------------

// Runs in the page before its scripts: notes the first frame in which a waterfall row exists. The
// rows are created inside a requestAnimationFrame callback; a task posted from there runs after
// that frame has been rendered, which is when the user sees the rows.
function paintProbe() {
  const seen = () => {
    if (window.__viewerPaint !== undefined || window.__viewerRowsAt !== undefined) return;
    if (!document.querySelector('[data-testid="waterfall-row"]')) return;
    window.__viewerRowsAt = performance.now();
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { window.__viewerPaint = performance.now(); };
    requestAnimationFrame(() => ch.port2.postMessage(0));
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
}

async function measureLoad(browser, server, key, url) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: server.url });
  try {
    const res = await context.request.post('/v1/sessions', { data: { api_key: key }, headers: { 'X-Voxtrace-UI': '1' } });
    if (res.status() !== 200) throw new Error(`POST /v1/sessions: ${res.status()}`);
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(paintProbe);
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__viewerPaint !== undefined, null, { timeout: 60_000, polling: 50 });
    const m = await page.evaluate(() => {
      const median = (xs) => {
        const v = [...xs].sort((a, b) => a - b);
        return v.length ? v[v.length >> 1] : 0;
      };
      const res = performance.getEntriesByType('resource');
      const api = res.filter((r) => /\/v1\/traces\/(spans|summary)/.test(r.name));
      return {
        paint: window.__viewerPaint,
        rowsAt: window.__viewerRowsAt,
        dataEnd: api.reduce((mx, r) => Math.max(mx, r.responseEnd), 0),
        dataStart: api.reduce((mn, r) => Math.min(mn, r.startTime), Infinity),
        summaryMs: api.filter((r) => r.name.includes('/summary')).reduce((mx, r) => Math.max(mx, r.duration), 0),
        spanPageMs: median(api.filter((r) => r.name.includes('/spans')).map((r) => r.duration)),
        spanBytes: api.filter((r) => r.name.includes('/spans')).reduce((n, r) => n + r.encodedBodySize, 0),
        apiRequests: api.length,
        rowCount: Number(document.querySelector('[data-testid="waterfall"]').dataset.rowCount),
      };
    });
    if (errors.length) throw new Error(`the page logged errors: ${errors.join(' | ')}`);
    return { m, page, context };
  } catch (err) {
    await context.close();
    throw err;
  }
}

// Time of one interaction: from just before the click to the task after the next frame.
async function timeInteraction(page, selector) {
  return page.evaluate((sel) => new Promise((done) => {
    const el = document.querySelector(sel);
    const t0 = performance.now();
    el.click();
    const ch = new MessageChannel();
    ch.port1.onmessage = () => done(performance.now() - t0);
    requestAnimationFrame(() => ch.port2.postMessage(0));
  }), selector);
}

// ---- main -----------------------------------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

function machine() {
  const c = cpus();
  let os = '';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))[1];
  } catch { /* not Linux: leave it out */ }
  return `${c.length} cores, ${c[0] ? c[0].model.trim() : 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `kernel ${release()}${os ? `, ${os}` : ''}`;
}

async function main() {
  say(`voxtrace viewer benchmark, ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC`);
  say(`machine: ${machine()}`);
  const load1 = loadavg()[0];
  say(`load average before the run: ${load1.toFixed(2)}` +
    (load1 > 0.5 ? ' (the machine is busy: the times will be high and noisy)' : ''));
  const server = await startServer();
  let browser;
  try {
    const { stdout: keyOut } = await server.cli(['keys', 'create', '--org', 'default', '--name', 'viewer-bench']);
    const key = keyOut.trim();
    const api = server.client(key);
    const run = await api.post('/v1/runs', { display_name: 'viewer benchmark' });
    const sim = await api.post('/v1/simulations', { run_id: run.json.run.run_id });
    const simId = sim.json.simulation.simulation_id;

    const t0 = Date.now();
    let stored = 0;
    for (const batch of batches(SPANS)) {
      const r = await api.request('POST', '/v1/traces', {
        json: otlp(batch), headers: { 'X-Simulation-Id': simId },
      });
      if (r.status !== 200 || (r.json && r.json.partialSuccess)) throw new Error(`POST /v1/traces: ${r.status} ${r.text}`);
      stored += batch.length;
    }
    const count = (await api.get(`/v1/simulations/${simId}`)).json.simulation.span_count;
    if (count !== SPANS) throw new Error(`stored ${count} spans, expected ${SPANS}`);
    say(`trace: ${stored.toLocaleString('en-US')} spans in one trace, stored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    browser = await launchBrowser();
    say(`browser: Chromium ${browser.version()} (${CHROMIUM_PATH}), headless, 1440x900, a new context (empty cache) per load`);
    const url = `/default/runs/${run.json.run.run_id}/results/${simId}/traces`;
    say(`page: ${url}`);
    say('');

    const loads = [];
    for (let i = 0; i <= RUNS; i++) {
      const { m, context } = await measureLoad(browser, server, key, url);
      await context.close();
      if (m.rowCount !== SPANS) throw new Error(`the viewer shows ${m.rowCount} rows, expected ${SPANS}`);
      const label = i === 0 ? 'warm-up' : `load ${i}`;
      say(`${label.padEnd(8)} first paint ${m.paint.toFixed(0).padStart(5)} ms = page and scripts ${m.dataStart.toFixed(0)} ms` +
        ` + data ${(m.dataEnd - m.dataStart).toFixed(0)} ms + model and first draw ${(m.paint - m.dataEnd).toFixed(0)} ms`);
      say(`${''.padEnd(8)} (${m.apiRequests} requests: span pages ${m.spanPageMs.toFixed(0)} ms each, ` +
        `${(m.spanBytes / 2 ** 20).toFixed(1)} MiB in all; summary ${m.summaryMs.toFixed(0)} ms)`);
      if (i > 0) loads.push(m);
    }

    // Interactions on one loaded page.
    const { page, context } = await measureLoad(browser, server, key, url);
    const flame = await timeInteraction(page, '[data-testid="view-toggle-flamegraph"]');
    const back = await timeInteraction(page, '[data-testid="view-toggle-waterfall"]');
    const collapse = await timeInteraction(page, '[data-testid="collapse-all"]');
    const expand = await timeInteraction(page, '[data-testid="expand-all"]');
    const filter = await timeInteraction(page, '[data-testid="legend-pill"][data-span-type="llm"]');
    await context.close();
    say('');
    say(`interactions: flame graph first draw ${flame.toFixed(0)} ms, back to waterfall ${back.toFixed(0)} ms, ` +
      `collapse all ${collapse.toFixed(0)} ms, expand all ${expand.toFixed(0)} ms, hide llm spans ${filter.toFixed(0)} ms`);

    const med = median(loads.map((m) => m.paint));
    const best = Math.min(...loads.map((m) => m.paint));
    const worst = Math.max(...loads.map((m) => m.paint));
    const pass = med < TARGET_MS;
    say('');
    say(`${'figure'.padEnd(44)} ${'value'.padStart(10)}  ${'target'.padEnd(8)} result`);
    say(`${`open a ${SPANS.toLocaleString('en-US')}-span trace, median of ${loads.length}`.padEnd(44)} ` +
      `${`${med.toFixed(0)} ms`.padStart(10)}  ${'< 2 s'.padEnd(8)} ${pass ? 'PASS' : 'FAIL'}`);
    say(`${'  range'.padEnd(44)} ${`${best.toFixed(0)}-${worst.toFixed(0)} ms`.padStart(10)}`);
    const dataMs = median(loads.map((m) => m.dataEnd - m.dataStart));
    say(`${'  of which data (span pages + summary)'.padEnd(44)} ${`${dataMs.toFixed(0)} ms`.padStart(10)}`);

    mkdirSync(join(ROOT, 'build/bench'), { recursive: true });
    writeFileSync(join(ROOT, 'build/bench/viewer-last-run.txt'), log.join('\n') + '\n');
    if (!pass && STRICT) process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(`bench/viewer.mjs: ${err.stack || err}`);
  process.exit(1);
});
