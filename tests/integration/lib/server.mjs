// Starts and stops the real voxtrace binary for the node:test integration suites, and wraps the
// CLI and the HTTP API the suites talk to.
//
// Each suite owns its server: a free loopback port and a fresh data folder, so suites never see
// each other's orgs, keys or spans. The binary comes from VOXTRACE_BIN (the Makefile sets it) or
// build/voxtrace relative to the repository root.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const VOXTRACE_BIN = process.env.VOXTRACE_BIN
  ? resolve(process.env.VOXTRACE_BIN)
  : join(REPO_ROOT, 'build/voxtrace');

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const CLI_TIMEOUT_MS = 10_000;
// Only the tail of the server's output is kept for failure messages; a chatty server must not
// grow the test process without bound.
const OUTPUT_KEEP = 64 * 1024;

// Every server this process started, so a crashed or interrupted suite does not leave one behind.
const live = new Set();
process.on('exit', () => {
  for (const s of live) {
    try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
    try { rmSync(s.dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

/** Asks the kernel for a free loopback port by binding port 0 and closing again. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

// The server must see only what the test gives it: VOXTRACE_* from the developer's shell would
// change the listen address, data folder or store behind the suite's back.
function cleanEnv(extra) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VOXTRACE_')) delete env[k];
  return { ...env, ...extra };
}

function appendTail(prev, chunk) {
  const next = prev + chunk;
  return next.length > OUTPUT_KEEP ? next.slice(next.length - OUTPUT_KEEP) : next;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `voxtrace serve` and resolves once GET /healthz answers 200.
 * @param {{args?: string[], env?: Record<string,string>}} [opts] extra serve arguments and environment
 * @returns {Promise<VoxtraceServer>}
 */
export async function startServer(opts = {}) {
  if (!existsSync(VOXTRACE_BIN)) {
    throw new Error(`voxtrace binary not found at ${VOXTRACE_BIN} (run make, or set VOXTRACE_BIN)`);
  }
  // The port is free when we look but another process may take it before the server binds;
  // a server that dies at start is retried on a new port a few times.
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = new VoxtraceServer(await freePort(), opts);
    try {
      await server.waitReady();
      return server;
    } catch (err) {
      lastErr = err;
      await server.stop();
      if (!server.exitedEarly) break;
    }
  }
  throw lastErr;
}

export class VoxtraceServer {
  constructor(port, { args = [], env = {} } = {}) {
    this.port = port;
    this.host = '127.0.0.1';
    this.url = `http://${this.host}:${port}`;
    this.dataDir = mkdtempSync(join(tmpdir(), 'voxtrace-it-'));
    this.env = cleanEnv(env);
    this.stdout = '';
    this.stderr = '';
    this.exited = null; // {code, signal} once the process is gone
    this.exitedEarly = false;
    this.proc = spawn(
      VOXTRACE_BIN,
      ['serve', '--listen', `${this.host}:${port}`, '--data', this.dataDir, ...args],
      { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d) => { this.stdout = appendTail(this.stdout, d); });
    this.proc.stderr.on('data', (d) => { this.stderr = appendTail(this.stderr, d); });
    this.exitPromise = new Promise((ok) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        ok(this.exited);
      });
      this.proc.on('error', (err) => {
        this.stderr = appendTail(this.stderr, `spawn error: ${err.message}\n`);
        this.exited = { code: null, signal: null, error: err };
        ok(this.exited);
      });
    });
    live.add(this);
  }

  /** Polls GET /healthz until it answers 200; fails with the server's stderr if it dies. */
  async waitReady() {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exited) {
        this.exitedEarly = true;
        throw new Error(
          `voxtrace serve exited before it was ready (code ${this.exited.code}, signal ` +
            `${this.exited.signal})\n--- stderr ---\n${this.stderr}\n--- stdout ---\n${this.stdout}`,
        );
      }
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        const text = await res.text();
        if (res.status === 200) {
          this.health = text;
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(
      `voxtrace serve did not answer GET /healthz with 200 within ${READY_TIMEOUT_MS} ms\n` +
        `--- stderr ---\n${this.stderr}`,
    );
  }

  /**
   * SIGTERM, then SIGKILL if it has not exited after 5 s; removes the data folder.
   * @returns {Promise<{code: number|null, signal: string|null, killed: boolean}>} how it exited
   */
  async stop() {
    let killed = false;
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      let timer;
      const grace = new Promise((ok) => { timer = setTimeout(ok, STOP_GRACE_MS, 'timeout'); });
      const first = await Promise.race([this.exitPromise, grace]);
      clearTimeout(timer); // a pending timer would keep the test process alive for 5 s
      if (first === 'timeout') {
        killed = true;
        this.proc.kill('SIGKILL');
      }
    }
    const how = await this.exitPromise;
    live.delete(this);
    rmSync(this.dataDir, { recursive: true, force: true });
    return { code: how.code, signal: how.signal, killed };
  }

  /**
   * Runs the binary with `--data DIR` appended (admin commands work while the server runs).
   * Resolves with {code, stdout, stderr}; never rejects on a non-zero exit.
   */
  runCli(args, { env = {} } = {}) {
    return new Promise((ok, fail) => {
      execFile(
        VOXTRACE_BIN,
        [...args, '--data', this.dataDir],
        { env: cleanEnv(env), timeout: CLI_TIMEOUT_MS, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') {
            fail(new Error(`voxtrace ${args.join(' ')}: ${err.message}\n${stderr}`));
            return;
          }
          ok({ code: err ? err.code : 0, stdout, stderr });
        },
      );
    });
  }

  /** Like runCli but throws unless the command exits 0. */
  async cli(args) {
    const r = await this.runCli(args);
    if (r.code !== 0) {
      throw new Error(`voxtrace ${args.join(' ')} exited ${r.code}\n--- stderr ---\n${r.stderr}`);
    }
    return r;
  }

  /** `voxtrace orgs create SLUG`. */
  async createOrg(slug, name) {
    await this.cli(['orgs', 'create', slug, ...(name ? ['--name', name] : [])]);
    return slug;
  }

  /**
   * `voxtrace keys create --org ORG [--scopes LIST]`; the CLI prints the key alone on stdout.
   * @param {string} org
   * @param {string[]|string} [scopes] e.g. ['traces:write', 'read']; the server's default if omitted
   * @returns {Promise<string>} the key
   */
  async createKey(org, scopes) {
    const args = ['keys', 'create', '--org', org];
    if (scopes) args.push('--scopes', Array.isArray(scopes) ? scopes.join(',') : scopes);
    const { stdout } = await this.cli(args);
    const key = stdout.trim();
    if (!key || /\s/.test(key)) {
      throw new Error(`keys create printed more than a key: ${JSON.stringify(stdout)}`);
    }
    return key;
  }

  /** An HTTP client that sends `key` as X-API-Key on every request. */
  client(key) {
    return new ApiClient(this.url, key);
  }
}

/** A fetch wrapper: JSON in, {status, headers, text, json, body} out. */
export class ApiClient {
  constructor(baseUrl, key) {
    this.baseUrl = baseUrl;
    this.key = key;
  }

  /**
   * @param {string} method
   * @param {string} path e.g. '/v1/runs'
   * @param {{json?: any, body?: any, headers?: Record<string,string>, duplex?: string}} [opts]
   */
  async request(method, path, opts = {}) {
    const headers = { ...(this.key ? { 'X-API-Key': this.key } : {}), ...(opts.headers || {}) };
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json';
      }
    }
    const init = { method, headers, body, signal: AbortSignal.timeout(20_000) };
    if (opts.duplex) init.duplex = opts.duplex;
    const res = await fetch(this.baseUrl + path, init);
    return readResponse(res);
  }

  get(path, opts) { return this.request('GET', path, opts); }
  post(path, json, opts = {}) { return this.request('POST', path, { ...opts, json }); }

  /** POST /v1/runs then POST /v1/simulations; returns the simulation id. */
  async createSimulation(displayName = 'integration run') {
    const run = await this.post('/v1/runs', { display_name: displayName });
    if (run.status !== 200) throw new Error(`POST /v1/runs: ${run.status} ${run.text}`);
    const sim = await this.post('/v1/simulations', { run_id: run.json.run.run_id });
    if (sim.status !== 200) throw new Error(`POST /v1/simulations: ${sim.status} ${sim.text}`);
    return sim.json.simulation.simulation_id;
  }

  /**
   * Every span of a target, following limit/offset pages.
   * @param {{simulation_output_id?: string, conversation_id?: string}} target
   * @returns {Promise<{traces: object[], total_spans: number}>}
   */
  async allSpans(target) {
    const traces = [];
    let total = 0;
    for (let offset = 0; ; ) {
      const q = new URLSearchParams({ ...target, limit: '1000', offset: String(offset) });
      const r = await this.get(`/v1/traces/spans?${q}`);
      if (r.status !== 200) throw new Error(`GET /v1/traces/spans: ${r.status} ${r.text}`);
      traces.push(...r.json.traces);
      total = r.json.total_spans;
      offset += r.json.traces.length;
      if (r.json.traces.length === 0 || offset >= total) break;
    }
    return { traces, total_spans: total };
  }
}

/** Reads a fetch Response fully; json is the parsed body when it is JSON, else undefined. */
export async function readResponse(res) {
  const body = Buffer.from(await res.arrayBuffer());
  const text = body.toString('utf8');
  let json;
  const ct = res.headers.get('content-type') || '';
  if (ct.includes('json')) {
    try { json = JSON.parse(text); } catch { /* left undefined: the test will say so */ }
  }
  return { status: res.status, headers: res.headers, body, text, json };
}
