// Shared pieces of the browser suites: Debian's Chromium driven by playwright-core against the real
// voxtrace binary (started with tests/integration/lib/server.mjs), plus the checks every page gets.
//
// Each suite starts its own `voxtrace serve --demo` (a fresh data folder, so a suite that adds spans
// changes nothing for the others) and its own headless Chromium. Playwright gives every launch a
// fresh temporary --user-data-dir and removes it on close; every test opens a new browser context,
// so cookies never leak from one test into the next.
//
// Loopback only: the server listens on 127.0.0.1, Chromium's own background traffic is switched off
// by the flags below, host names other than the loopback ones resolve to nothing, and every page
// records any request that leaves the server's origin as a problem.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../integration/lib/server.mjs';

export { startServer };

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const CHROMIUM_PATH = process.env.VOXTRACE_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Anything that is not the loopback address fails to resolve instead of reaching the network.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

// The screenshots of the README are written by the suites, so they always show the current UI.
export const SCREENSHOT_DIR = process.env.VOXTRACE_SCREENSHOT_DIR
  ? resolve(process.env.VOXTRACE_SCREENSHOT_DIR)
  : join(REPO_ROOT, 'docs/screenshots');

export const VIEWPORT = { width: 1440, height: 900 };

// Timeouts of single waits; a healthy page answers in well under a second on the demo data.
export const WAIT_MS = 10_000;

/** Launches headless Chromium with the suite's flags. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * Reads the admin key `voxtrace serve` prints on its first start: the line after "keep it
 * somewhere safe:", indented, the key alone.
 */
export function printedKey(stdout) {
  const m = /somewhere safe:\s+(\S+)/.exec(stdout);
  if (!m) throw new Error(`no API key in the server's output:\n${stdout}`);
  return m[1];
}

/**
 * Starts `voxtrace serve --demo` and returns the server, the key it printed and an API client with
 * that key. The UI is the one built into the binary, which is what users get; a UI developer can
 * set VOXTRACE_TEST_WEB_DIR=web to run the suites against the files on disk instead.
 */
export async function startDemo() {
  const webDir = process.env.VOXTRACE_TEST_WEB_DIR;
  const server = await startServer({ args: ['--demo', ...(webDir ? ['--web-dir', resolve(webDir)] : [])] });
  const key = printedKey(server.stdout);
  return { server, key, api: server.client(key) };
}

/**
 * A new context and page at 1440x900 that records every problem a user could notice or a developer
 * would see in the console: console errors (including CSP violations and failed loads), uncaught
 * exceptions, and requests that leave the server's origin.
 *
 * opts.allowSession401: accept the console error Chromium logs for a 401 answer of /v1/sessions
 * (the session probe of a signed-out page, or a rejected key on the sign-in form). Whether the
 * signed-out probe should answer 401 at all is an open question for the server (see the report).
 * @returns {Promise<{context, page, problems: string[]}>}
 */
export async function openPage(browser, server, opts = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, baseURL: server.url, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const problems = [];
  const session401 = [];
  page.on('response', (res) => {
    if (res.status() === 401 && new URL(res.url()).pathname === '/v1/sessions') session401.push(res.url());
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location() && msg.location().url ? msg.location().url : '';
    if (opts.allowSession401 && /status of 401/.test(msg.text()) && where &&
        new URL(where).pathname === '/v1/sessions' && session401.length > 0) {
      return;
    }
    problems.push(`console error: ${msg.text()}${where ? ` (at ${where})` : ''}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  context.on('request', (req) => {
    const u = req.url();
    if (u.startsWith('data:') || u.startsWith('blob:')) return;
    if (!u.startsWith(server.url + '/')) problems.push(`request outside the server: ${u}`);
  });
  return { context, page, problems };
}

/**
 * Signs a context in without the UI (POST /v1/sessions through the context's own request client,
 * so the cookie lands in its jar). For suites whose subject is not the sign-in page.
 */
export async function signInByApi(context, key) {
  const res = await context.request.post('/v1/sessions', {
    data: { api_key: key },
    headers: { 'X-Voxtrace-UI': '1' },
  });
  if (res.status() !== 200) throw new Error(`POST /v1/sessions: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** Saves a 1440x900 screenshot of the page as docs/screenshots/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Caret blinking and hover effects would make the image depend on timing.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), caret: 'hide', animations: 'disabled' });
}

/** Waits for a testid's element and returns its trimmed text. */
export async function textOf(page, testid) {
  const loc = page.getByTestId(testid).first();
  await loc.waitFor();
  return (await loc.textContent()).trim();
}

/** The waterfall's row count (rows shown when fully scrolled through), as a number. */
export async function rowCount(page) {
  return Number(await page.getByTestId('waterfall').getAttribute('data-row-count'));
}

/** Waits until the trace viewer is mounted and its waterfall has rows. */
export async function waitForViewer(page) {
  await page.getByTestId('trace-viewer').waitFor();
  await page.getByTestId('waterfall-row').first().waitFor();
}

/** en-US number formatting, as the UI shows counts. */
export function num(n) {
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: 0 });
}

/**
 * Reads a duration the UI wrote with a unit ("51.56 s", "840 ms", "1.2 min", "12 µs") back into
 * milliseconds: {ms, tolerance}, the tolerance being half a unit of the last digit shown.
 */
export function parseDuration(text) {
  const m = /^([0-9,]+)(?:\.([0-9]+))?\s*(µs|ms|s|min)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  const unit = { 'µs': 0.001, ms: 1, s: 1000, min: 60000 }[m[3]];
  const decimals = m[2] ? m[2].length : 0;
  const v = Number(`${m[1].replace(/,/g, '')}.${m[2] || '0'}`);
  return { ms: v * unit, tolerance: 0.5 * 10 ** -decimals * unit * 1.0001 };
}

/**
 * The demo simulation the viewer suites look at: the run's simulation with the most spans among
 * those whose trace holds an error span (the stt provider fallback), so the screenshots show a
 * failing provider as well.
 * @returns {Promise<{run: object, sim: object, summary: object}>}
 */
export async function pickTracedSimulation(api) {
  const runs = await api.get('/v1/runs?page_size=10');
  if (runs.status !== 200 || runs.json.runs.length === 0) throw new Error(`GET /v1/runs: ${runs.status} ${runs.text}`);
  const run = runs.json.runs[0];
  const q = new URLSearchParams({ filter: `run_id="${run.run_id}"`, page_size: '100' });
  const sims = await api.get(`/v1/simulations?${q}`);
  if (sims.status !== 200) throw new Error(`GET /v1/simulations: ${sims.status} ${sims.text}`);
  const traced = sims.json.simulations.filter((s) => s.span_count > 0).sort((a, b) => b.span_count - a.span_count);
  if (traced.length === 0) throw new Error('the demo run has no traced simulation');
  for (const sim of traced) {
    const r = await api.get(`/v1/traces/summary?simulation_id=${sim.simulation_id}`);
    if (r.status !== 200) throw new Error(`GET /v1/traces/summary: ${r.status} ${r.text}`);
    if (r.json.trace_summary.status_counts.ERROR > 0) return { run, sim, summary: r.json.trace_summary };
  }
  const r = await api.get(`/v1/traces/summary?simulation_id=${traced[0].simulation_id}`);
  return { run, sim: traced[0], summary: r.json.trace_summary };
}

/**
 * The spans of a target as a tree, from the API, keyed by "trace id/span id" (span ids are unique
 * only within a trace): byKey, children (key -> child spans), roots, and descendants(span) -> how
 * many spans sit below a span.
 */
export function spanTree(spans) {
  const key = (traceId, spanId) => `${traceId}/${spanId}`;
  const byKey = new Map(spans.map((s) => [key(s.trace_id, s.span_id), s]));
  const children = new Map();
  const roots = [];
  for (const s of spans) {
    const parent = s.parent_span_id ? key(s.trace_id, s.parent_span_id) : null;
    if (parent && byKey.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(s);
    } else {
      roots.push(s);
    }
  }
  const descendants = (s) => {
    let n = 0;
    for (const c of children.get(key(s.trace_id, s.span_id)) || []) n += 1 + descendants(c);
    return n;
  };
  const parentOf = (s) => (s.parent_span_id ? byKey.get(key(s.trace_id, s.parent_span_id)) || null : null);
  return { byKey, children, roots, descendants, parentOf };
}

/**
 * Polls check() until it returns a truthy value (which is returned) or WAIT_MS pass. For what the
 * page does in its next animation frame (the waterfall re-fills its pooled rows there).
 */
export async function until(check, what) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until a locator's attribute has a value (rows are re-filled in the next frame). */
export async function attrBecomes(locator, name, value) {
  await until(async () => (await locator.getAttribute(name)) === value, `${name}="${value}" on ${locator}`);
}
