// The server side of the web dashboard (DESIGN.md 5.7 and 6): UI sign-in sessions in a cookie
// (flags, CSRF header, scopes, sign-out, revocation), the UI's files as the binary embeds them
// (content types, the security headers, ETag revalidation, app pages answered with index.html),
// `serve --web-dir` (files from disk, no way out of the folder), and the demo data of
// `serve --demo` / `voxtrace demo` read back through the API.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { startServer, readResponse, VOXTRACE_BIN } from './lib/server.mjs';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WEB = join(REPO_ROOT, 'web');

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** fetch without a key; headers as given. */
async function get(server, path, headers = {}) {
  const res = await fetch(server.url + path, { headers, signal: AbortSignal.timeout(10_000) });
  return readResponse(res);
}

/** A request with the session cookie (and optionally the UI's CSRF header). */
async function withCookie(server, method, path, cookie, { json, ui = false, headers = {} } = {}) {
  const h = { Cookie: `vt_session=${cookie}`, ...headers };
  if (ui) h['X-Voxtrace-UI'] = '1';
  let body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const res = await fetch(server.url + path, { method, headers: h, body, signal: AbortSignal.timeout(10_000) });
  return readResponse(res);
}

/** POST /v1/sessions the way the UI does; returns the response and the cookie value. */
async function signIn(server, apiKey, { ui = true } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (ui) headers['X-Voxtrace-UI'] = '1';
  const res = await readResponse(await fetch(`${server.url}/v1/sessions`, {
    method: 'POST', headers, body: JSON.stringify({ api_key: apiKey }), signal: AbortSignal.timeout(10_000),
  }));
  const setCookie = res.headers.getSetCookie();
  const m = setCookie.length ? /^vt_session=([^;]*)/.exec(setCookie[0]) : null;
  return { res, setCookie, cookie: m ? m[1] : null };
}

/** Sends a request line byte for byte (fetch would normalise "..") and reads the whole answer. */
function rawGet(server, path) {
  return new Promise((ok, fail) => {
    const sock = connect(server.port, server.host);
    let data = '';
    sock.setEncoding('latin1');
    sock.setTimeout(10_000, () => { sock.destroy(); fail(new Error('raw request timed out')); });
    sock.on('data', (d) => { data += d; });
    sock.on('error', fail);
    sock.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
      ok({ status, text: data });
    });
    sock.write(`GET ${path} HTTP/1.1\r\nHost: ${server.host}\r\nConnection: close\r\n\r\n`);
  });
}

function assertUiHeaders(res) {
  assert.equal(res.headers.get('content-security-policy'), CSP);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
}

/** Every file under dir, relative paths with '/', hidden ones left out (as the build does). */
function listFiles(dir, prefix = '') {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

// ---- sessions -------------------------------------------------------------------------------

describe('sessions', () => {
  let server;
  let key;
  let readKey;

  before(async () => {
    server = await startServer();
    await server.createOrg('acme', 'Acme Dental');
    key = await server.createKey('acme');
    readKey = await server.createKey('acme', ['read']);
  });
  after(async () => { if (server) await server.stop(); });

  test('sign in sets an HttpOnly SameSite=Strict cookie and returns the org and scopes', async () => {
    const { res, setCookie, cookie } = await signIn(server, key);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { org: { slug: 'acme', name: 'Acme Dental' }, scopes: ['traces:write', 'read', 'write'] });
    assert.equal(setCookie.length, 1);
    const parts = setCookie[0].split(';').map((s) => s.trim());
    assert.match(parts[0], /^vt_session=[A-Za-z0-9_-]{71}$/);
    assert.ok(parts.includes('HttpOnly'), setCookie[0]);
    assert.ok(parts.includes('SameSite=Strict'), setCookie[0]);
    assert.ok(parts.includes('Path=/'), setCookie[0]);
    assert.ok(parts.includes('Max-Age=43200'), setCookie[0]);
    // Plain HTTP here: a Secure cookie would never be sent back.
    assert.ok(!parts.some((p) => p.toLowerCase() === 'secure'), setCookie[0]);
    // The cookie is not the key, and the key appears nowhere in the response.
    assert.ok(!cookie.includes(key.slice(12)));
    assert.ok(!res.text.includes(key));

    const who = await withCookie(server, 'GET', '/v1/sessions', cookie);
    assert.equal(who.status, 200, who.text);
    assert.deepEqual(who.json, res.json);
  });

  test('sign in refuses bad keys and requests without the UI header', async () => {
    const bad = await signIn(server, key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'));
    assert.equal(bad.res.status, 401);
    assert.equal(bad.res.json.error.code, 'UNAUTHENTICATED');
    assert.equal(bad.setCookie.length, 0);
    const junk = await signIn(server, 'not a key');
    assert.equal(junk.res.status, 401);
    const noUi = await signIn(server, key, { ui: false });
    assert.equal(noUi.res.status, 403);
    assert.match(noUi.res.json.error.message, /missing CSRF header/);
    assert.equal(noUi.setCookie.length, 0);
    const missing = await readResponse(await fetch(`${server.url}/v1/sessions`, {
      method: 'POST', headers: { 'X-Voxtrace-UI': '1', 'Content-Type': 'application/json' }, body: '{}',
    }));
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.details[0].field, 'api_key');
  });

  test('GET /v1/sessions says "nobody" without a valid session; other endpoints are 401', async () => {
    const none = await get(server, '/v1/sessions');
    assert.equal(none.status, 200);
    assert.deepEqual(none.json, { org: null, scopes: [] });
    const { cookie } = await signIn(server, key);
    const flipped = cookie.slice(0, 20) + (cookie[20] === 'A' ? 'B' : 'A') + cookie.slice(21);
    const tampered = await withCookie(server, 'GET', '/v1/sessions', flipped);
    assert.equal(tampered.status, 200);
    assert.equal(tampered.json.org, null);
    const tamperedRuns = await withCookie(server, 'GET', '/v1/runs', flipped);
    assert.equal(tamperedRuns.status, 401);
    assert.equal(tamperedRuns.json.error.code, 'UNAUTHENTICATED');
    const garbage = await withCookie(server, 'GET', '/v1/runs', 'garbage');
    assert.equal(garbage.status, 401);
  });

  test('the API works with the cookie; changes need X-Voxtrace-UI: 1', async () => {
    const { cookie } = await signIn(server, key);
    const list = await withCookie(server, 'GET', '/v1/runs', cookie);
    assert.equal(list.status, 200, list.text);
    assert.ok(Array.isArray(list.json.runs));

    const noHeader = await withCookie(server, 'POST', '/v1/runs', cookie, { json: { display_name: 'from ui' } });
    assert.equal(noHeader.status, 403);
    assert.equal(noHeader.json.error.code, 'PERMISSION_DENIED');
    assert.match(noHeader.json.error.message, /missing CSRF header/);
    const wrongValue = await withCookie(server, 'POST', '/v1/runs', cookie, {
      json: { display_name: 'from ui' }, headers: { 'X-Voxtrace-UI': '0' },
    });
    assert.equal(wrongValue.status, 403);

    const created = await withCookie(server, 'POST', '/v1/runs', cookie, { json: { display_name: 'from ui' }, ui: true });
    assert.equal(created.status, 200, created.text);
    const runId = created.json.run.run_id;
    // The run belongs to the session's org: the key sees it.
    const viaKey = await server.client(key).get(`/v1/runs/${runId}`);
    assert.equal(viaKey.status, 200);

    const delNoHeader = await withCookie(server, 'DELETE', `/v1/runs/${runId}`, cookie);
    assert.equal(delNoHeader.status, 403);
    const delOk = await withCookie(server, 'DELETE', `/v1/runs/${runId}`, cookie, { ui: true });
    assert.equal(delOk.status, 200, delOk.text);
  });

  test("a session carries its key's scopes", async () => {
    const { res, cookie } = await signIn(server, readKey);
    assert.deepEqual(res.json.scopes, ['read']);
    assert.equal((await withCookie(server, 'GET', '/v1/runs', cookie)).status, 200);
    const write = await withCookie(server, 'POST', '/v1/runs', cookie, { json: { display_name: 'x' }, ui: true });
    assert.equal(write.status, 403);
    assert.match(write.json.error.message, /write/);
  });

  test('an API key header wins over the cookie', async () => {
    const { cookie } = await signIn(server, key);
    const r = await withCookie(server, 'GET', '/v1/runs', cookie, { headers: { 'X-API-Key': 'vtk_wrong' } });
    assert.equal(r.status, 401);
  });

  test('sign out clears the cookie', async () => {
    const out = await readResponse(await fetch(`${server.url}/v1/sessions`, {
      method: 'DELETE', headers: { 'X-Voxtrace-UI': '1' },
    }));
    assert.equal(out.status, 200);
    const sc = out.headers.getSetCookie();
    assert.equal(sc.length, 1);
    assert.match(sc[0], /^vt_session=;/);
    assert.match(sc[0], /Max-Age=0/);
    assert.match(sc[0], /HttpOnly/);
  });

  test("revoking the key ends its sessions", async () => {
    const victim = await server.createKey('acme');
    const { cookie } = await signIn(server, victim);
    assert.equal((await withCookie(server, 'GET', '/v1/sessions', cookie)).status, 200);
    await server.cli(['keys', 'revoke', victim.slice(0, 12)]);
    const after = await withCookie(server, 'GET', '/v1/sessions', cookie);
    assert.equal(after.status, 200);
    assert.equal(after.json.org, null);
    const runs = await withCookie(server, 'GET', '/v1/runs', cookie);
    assert.equal(runs.status, 401);
    assert.match(runs.json.error.message, /revoked/);
    // Other keys' sessions are untouched.
    const other = await signIn(server, key);
    assert.equal((await withCookie(server, 'GET', '/v1/sessions', other.cookie)).status, 200);
  });
});

// ---- the embedded UI ------------------------------------------------------------------------

describe('embedded UI files', () => {
  let server;
  const files = listFiles(WEB);

  before(async () => { server = await startServer(); });
  after(async () => { if (server) await server.stop(); });

  test('web/ has an index.html to serve', () => {
    assert.ok(files.includes('index.html'), `web/ holds: ${files.join(', ')}`);
  });

  test('/ is index.html with the security and caching headers', async () => {
    const r = await get(server, '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assertUiHeaders(r);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('etag'), /^"[0-9a-f]{16}"$/);
    assert.deepEqual(r.body, readFileSync(join(WEB, 'index.html')));
  });

  test('every file under web/ is served with its content type and exact bytes', async () => {
    for (const f of files) {
      const r = await get(server, `/${f}`);
      assert.equal(r.status, 200, f);
      const want = TYPES[extname(f)];
      if (want) assert.equal(r.headers.get('content-type'), want, f);
      assertUiHeaders(r);
      assert.deepEqual(r.body, readFileSync(join(WEB, f)), f);
    }
  });

  test('app pages get index.html, with the CSP', async () => {
    const index = readFileSync(join(WEB, 'index.html'));
    for (const path of ['/default/runs', '/acme/runs/01J0000000000000000000000/results/sim-1.2/traces',
      '/acme/monitoring/', '/acme/metrics']) {
      const r = await get(server, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8', path);
      assertUiHeaders(r);
      assert.deepEqual(r.body, index, path);
    }
  });

  test('If-None-Match with the current ETag answers 304', async () => {
    const first = await get(server, '/');
    const etag = first.headers.get('etag');
    const again = await get(server, '/', { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.get('etag'), etag);
    assert.equal((await get(server, '/', { 'If-None-Match': `W/${etag}` })).status, 304);
    assert.equal((await get(server, '/', { 'If-None-Match': `"nope", ${etag}` })).status, 304);
    const stale = await get(server, '/', { 'If-None-Match': '"0000000000000000"' });
    assert.equal(stale.status, 200);
    // An app page is index.html, so the same validator applies.
    assert.equal((await get(server, '/default/runs', { 'If-None-Match': etag })).status, 304);
  });

  test('a missing script is a 404, unless the browser navigates to it', async () => {
    const r = await get(server, '/no-such-module.js');
    assert.equal(r.status, 404);
    assertUiHeaders(r);
    const page = await get(server, '/no-such-module.js', { 'Sec-Fetch-Dest': 'document' });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  });

  test('unknown API paths stay JSON 404s, never the app', async () => {
    const r = await get(server, '/v1/no-such-endpoint');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'NOT_FOUND');
    const post = await readResponse(await fetch(`${server.url}/some/page`, { method: 'POST', body: '{}' }));
    assert.equal(post.status, 404);
    assert.equal(post.json.error.code, 'NOT_FOUND');
  });

  test('dot segments and hidden paths are refused', async () => {
    for (const path of ['/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/trace/../../etc/passwd', '/.git/config']) {
      const r = await rawGet(server, path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.text.includes('root:'), path);
    }
  });
});

// ---- --web-dir ------------------------------------------------------------------------------

describe('serve --web-dir', () => {
  let server;
  let dir;
  let web;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voxtrace-webdir-'));
    web = join(dir, 'web');
    mkdirSync(join(web, 'views'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>dev</title>');
    writeFileSync(join(web, 'app.js'), 'export const v = 1;\n');
    writeFileSync(join(web, 'views', 'runs.css'), 'body{}');
    writeFileSync(join(web, '.env.js'), 'HIDDEN');
    writeFileSync(join(dir, 'secret.js'), 'TOP SECRET');
    symlinkSync(join(dir, 'secret.js'), join(web, 'out.js'));
    symlinkSync('app.js', join(web, 'alias.js'));
    server = await startServer({ args: ['--web-dir', web] });
  });
  after(async () => {
    if (server) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('files come from the folder, with types and headers, and changes show without a restart', async () => {
    const a = await get(server, '/app.js');
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assertUiHeaders(a);
    assert.equal(a.text, 'export const v = 1;\n');
    const css = await get(server, '/views/runs.css');
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.equal(css.text, 'body{}');

    writeFileSync(join(web, 'app.js'), 'export const v = 2;\n');
    const b = await get(server, '/app.js', { 'If-None-Match': a.headers.get('etag') });
    assert.equal(b.status, 200);
    assert.equal(b.text, 'export const v = 2;\n');
    assert.notEqual(b.headers.get('etag'), a.headers.get('etag'));
    assert.equal((await get(server, '/app.js', { 'If-None-Match': b.headers.get('etag') })).status, 304);
  });

  test('app pages get the folder index.html', async () => {
    const r = await get(server, '/acme/runs');
    assert.equal(r.status, 200);
    assert.equal(r.text, '<!doctype html><title>dev</title>');
    assertUiHeaders(r);
  });

  test('nothing outside the folder is reachable: links out, .., hidden files', async () => {
    const out = await get(server, '/out.js');
    assert.equal(out.status, 404);
    assert.ok(!out.text.includes('SECRET'));
    // A link that stays inside the folder is fine.
    assert.equal((await get(server, '/alias.js')).status, 200);
    assert.equal((await get(server, '/.env.js')).status, 404);
    for (const path of ['/../secret.js', '/%2e%2e/secret.js', '/views/../../secret.js', '/..%2fsecret.js']) {
      const r = await rawGet(server, path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.text.includes('SECRET'), path);
    }
  });

  test('a --web-dir that is not a folder stops serve at once', () => {
    const r = spawnSync(VOXTRACE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--web-dir', join(dir, 'nope')], {
      encoding: 'utf8', timeout: 10_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--web-dir .* is not a folder/);
  });
});

// ---- demo data ------------------------------------------------------------------------------

describe('serve --demo', () => {
  let server;
  let api;

  before(async () => {
    server = await startServer({ args: ['--demo'] });
    // The first-start key is printed just after the server starts listening.
    for (let i = 0; i < 100 && !/vtk_[A-Za-z0-9_-]{43}/.test(server.stdout); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const key = /vtk_[A-Za-z0-9_-]{43}/.exec(server.stdout)?.[0];
    assert.ok(key, server.stdout);
    api = server.client(key);
  });
  after(async () => { if (server) await server.stop(); });

  test('startup says what it seeded, and prints the UI address', () => {
    assert.match(server.stdout, /demo: added to org default: 2 runs, 100 simulated calls, 12 monitored conversations, \d+ spans/);
    assert.match(server.stdout, new RegExp(`UI: +${server.url.replace(/[.]/g, '\\.')}/`));
  });

  test('two runs of 50 traced simulations, some of them failed', async () => {
    const runs = await api.get('/v1/runs');
    assert.equal(runs.status, 200);
    assert.equal(runs.json.runs.length, 2);
    for (const run of runs.json.runs) {
      assert.equal(run.metadata.voxtrace_demo, true);
      assert.equal(run.progress.total_test_cases, 50);
      assert.equal(run.status, 'COMPLETED');
      assert.ok(run.progress.failed_test_cases > 0, JSON.stringify(run.progress));
      const sims = await api.get(`/v1/simulations?filter=${encodeURIComponent(`run_id="${run.run_id}"`)}&page_size=100`);
      assert.equal(sims.status, 200);
      assert.equal(sims.json.simulations.length, 50);
      for (const s of sims.json.simulations) {
        assert.ok(s.span_count >= 5, `${s.simulation_id} has ${s.span_count} spans`);
        assert.ok(s.transcript.some((m) => m.role === 'user') && s.transcript.some((m) => m.role === 'assistant'));
      }
      assert.ok(sims.json.simulations.some((s) => s.result === 'FAILED'));
      assert.ok(sims.json.simulations.some((s) => s.result === 'PASSED'));
    }
    // The older run (listed second) is the worse one.
    const [newer, older] = runs.json.runs;
    assert.ok(older.progress.failed_test_cases > newer.progress.failed_test_cases);
  });

  test('every call is one well-formed trace', async () => {
    const runs = await api.get('/v1/runs');
    for (const run of runs.json.runs) {
      const sims = await api.get(`/v1/simulations?filter=${encodeURIComponent(`run_id="${run.run_id}"`)}&page_size=100`);
      for (const s of sims.json.simulations) {
        const sum = await api.get(`/v1/traces/summary?simulation_id=${s.simulation_id}`);
        assert.equal(sum.status, 200, sum.text);
        const ts = sum.json.trace_summary;
        assert.equal(ts.total_spans, s.span_count);
        assert.equal(ts.trace_count, 1, s.simulation_id);
        assert.equal(ts.root_span_count, 1, s.simulation_id);
        assert.equal(ts.orphan_span_count, 0, s.simulation_id);
        assert.equal(ts.child_timing_violation_count, 0, s.simulation_id);
        assert.equal(ts.export_lag.clock_skew_sample_count, 0, s.simulation_id);
        // Exported every 5 s as the calls went on, not all at the end.
        assert.ok(ts.export_lag.max_seconds < 6, `${s.simulation_id}: ${JSON.stringify(ts.export_lag)}`);
      }
    }
  });

  test('calls have the documented span shapes', async () => {
    const runs = await api.get('/v1/runs');
    const runId = runs.json.runs[1].run_id;
    const sims = await api.get(`/v1/simulations?filter=${encodeURIComponent(`run_id="${runId}"`)}&page_size=100`);
    const names = new Set();
    let fallback = false;
    let toolError = false;
    for (const s of sims.json.simulations.slice(0, 25)) {
      const { traces, total_spans: total } = await api.allSpans({ simulation_output_id: s.simulation_id });
      assert.equal(traces.length, s.span_count);
      assert.equal(total, s.span_count);
      for (const sp of traces) {
        names.add(sp.name);
        if (sp.name === 'stt.provider.google') fallback = true;
        if (sp.name === 'llm_tool_call' && sp.status.code === 'ERROR') toolError = true;
        if (sp.name === 'stt') {
          assert.equal(typeof sp.attributes.transcript, 'string');
          assert.equal(typeof sp.attributes['metrics.ttfb'], 'number');
        }
        if (sp.name === 'llm') {
          assert.ok(Number.isInteger(sp.attributes['gen_ai.usage.input_tokens']));
          assert.ok(['stop', 'tool_calls', 'length'].includes(sp.attributes['llm.finish_reason']));
        }
        if (sp.name === 'llm_tool_call') {
          assert.equal(typeof sp.attributes['function.name'], 'string');
          assert.match(sp.attributes.tool_call_id, /^call_/);
          assert.doesNotThrow(() => JSON.parse(sp.attributes['function.arguments']));
        }
      }
    }
    for (const n of ['conversation', 'turn', 'vad', 'stt', 'stt.provider.deepgram', 'llm', 'llm_tool_call', 'tts', 'greeting', 'account_lookup']) {
      assert.ok(names.has(n), `no ${n} span in ${[...names].join(', ')}`);
    }
    assert.ok(fallback, 'no STT provider fallback');
    assert.ok(toolError, 'no failed tool call');
  });

  test('hotspots show agent states with failing transitions', async () => {
    const runs = await api.get('/v1/runs');
    const older = runs.json.runs[1].run_id;
    const all = await api.get(`/v1/runs/${older}/hotspots`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.traced_simulation_count, 50);
    assert.ok(all.json.top_hotspots.length > 0);
    const states = 'greeting,account_lookup,triage,booking,reschedule,cancellation,billing,transfer,confirmation,goodbye';
    const h = await api.get(`/v1/runs/${older}/hotspots?include=${states}`);
    assert.equal(h.status, 200, h.text);
    for (const s of ['greeting', 'account_lookup', 'booking', 'transfer']) assert.ok(h.json.states.includes(s), s);
    const cell = (from, to) => h.json.transitions.find((t) => t.from === from && t.to === to);
    assert.ok(cell('greeting', 'account_lookup').count > 20);
    const failing = h.json.transitions.filter((t) => t.error_count > 0 && t.failure_rate >= 30);
    assert.ok(failing.length >= 2, JSON.stringify(h.json.transitions));
    assert.ok(h.json.top_hotspots[0].failed_simulation_count > 0);
    assert.ok(h.json.top_hotspots[0].exemplars.length > 0);
  });

  test('monitoring has conversations with transcripts and traces', async () => {
    const list = await api.get('/v1/conversations?page_size=50');
    assert.equal(list.status, 200);
    const convs = list.json.conversations;
    assert.ok(convs.length >= 10, `${convs.length} conversations`);
    for (const c of convs) {
      assert.ok(c.span_count > 0, c.conversation_id);
      const full = await api.get(`/v1/conversations/${c.conversation_id}`);
      assert.ok(full.json.conversation.transcript.length >= 4);
    }
    const sum = await api.get(`/v1/traces/summary?conversation_id=${convs[0].conversation_id}`);
    assert.equal(sum.status, 200);
    assert.equal(sum.json.trace_summary.total_spans, convs[0].span_count);
  });

  test('custom metrics exist and evaluate on demo calls', async () => {
    const m = await api.get('/v1/metrics');
    assert.equal(m.status, 200, m.text);
    const names = m.json.metrics.map((x) => x.metric_name);
    assert.ok(names.includes('Tool call error rate'), names.join(', '));
    assert.ok(names.length >= 3);
    const runs = await api.get('/v1/runs');
    const sims = await api.get(`/v1/simulations?filter=${encodeURIComponent(`run_id="${runs.json.runs[0].run_id}"`)}&page_size=1`);
    const out = await api.get(`/v1/simulations/${sims.json.simulations[0].simulation_id}/metrics`);
    assert.equal(out.status, 200);
    const wer = out.json.metric_outputs.find((o) => o.metric_id === 'stt_wer');
    assert.equal(wer.status, 'COMPLETED');
    const conf = out.json.metric_outputs.find((o) => o.metric_name === 'STT confidence');
    assert.equal(conf.status, 'COMPLETED');
    assert.ok(conf.value > 0.5 && conf.value <= 1);
  });

  test('voxtrace demo adds nothing to an org that has demo data, and seeds another org', async () => {
    const again = await server.runCli(['demo']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /org default already has demo data; no demo data added/);
    assert.equal((await api.get('/v1/runs')).json.runs.length, 2);

    const missing = await server.runCli(['demo', '--org', 'nobody']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no org nobody/);

    await server.createOrg('sandbox');
    const seeded = await server.runCli(['demo', '--org', 'sandbox']);
    assert.equal(seeded.code, 0, seeded.stderr);
    assert.match(seeded.stdout, /demo: added to org sandbox: 2 runs/);
    const sandbox = server.client(await server.createKey('sandbox'));
    assert.equal((await sandbox.get('/v1/runs')).json.runs.length, 2);
    // The default org is untouched by the other org's demo.
    assert.equal((await api.get('/v1/runs')).json.runs.length, 2);
  });
});
