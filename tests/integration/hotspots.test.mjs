// Transition Hotspots (DESIGN.md 5.5) through HTTP: a run of simulations whose spans the real JS
// SDK exports (protobuf exporter, X-Simulation-Id per simulation), each following a known state
// sequence under wrapper spans, some erring, some marked failed by PATCH, one without spans. The
// expected matrix is computed in this file from the very spans the SDK exported, by a separate
// small implementation of the 5.5 rules, and compared with GET /v1/runs/{id}/hotspots cell by
// cell: counts, simulation counts, failed-simulation counts, failure rates, error counts,
// exemplars (failed first, at most 5), states, the top-hotspots ranking, and the include /
// exclude / collapse_wrappers variants. Hand-worked cells check the implementation itself.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SpanStatusCode } from '@opentelemetry/api';
import { startServer } from './lib/server.mjs';
import { emitTree, sdkExport } from './lib/otel.mjs';
import { assertApiError } from './lib/otlp_json.mjs';

let server;
let key;
let api;
let rivalApi;

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------------------------
// Traces as data. A step is a state name, or {name, error?, children?} (children start together
// with their parent, so only the depth rule puts the parent first), or {par: [names]} (siblings
// starting at the same instant, ordered by span id). Steps of a turn run back to back; the turn
// starts with its first step, again a tie only depth breaks.

const STEP_MS = 100;

function layout(steps, t0) {
  const nodes = [];
  let t = t0;
  for (const step of steps) {
    if (step.par) {
      for (const name of step.par) nodes.push({ name, start: t, end: t + STEP_MS });
      t += STEP_MS;
      continue;
    }
    const s = typeof step === 'string' ? { name: step } : step;
    let end = t + STEP_MS;
    let children = [];
    if (s.children) {
      const inner = layout(s.children, t);
      children = inner.nodes;
      end = inner.end + 10;
    }
    nodes.push({ name: s.name, start: t, end, children, ...(s.error ? { status: 'ERROR', message: 'boom' } : {}) });
    t = end;
  }
  return { nodes, end: t };
}

/** Turns one after another, 50 ms apart, from t0. */
function turns(list, t0 = 0) {
  const out = [];
  let t = t0;
  for (const steps of list) {
    const { nodes, end } = layout(steps, t);
    out.push({ name: 'turn', start: t, end, children: nodes });
    t = end + 50;
  }
  return out;
}

/** A wrapper span around children, starting with the first of them. */
function wrap(name, children) {
  return {
    name,
    start: Math.min(...children.map((c) => c.start)),
    end: Math.max(...children.map((c) => c.end)) + 5,
    children,
  };
}

const conversation = (...turnList) => wrap('conversation', turns(turnList));

// The run. `roots` are exported as separate traces; `patch` is applied after the export.
const SIMS = [
  { id: 'hs-ok-1', patch: { status: 'COMPLETED', result: 'PASSED' },
    roots: [conversation(['greeting', 'account_lookup', 'llm', 'tts'])] },
  { id: 'hs-ok-2', patch: { status: 'COMPLETED', result: 'PASSED' },
    roots: [conversation(['greeting', 'account_lookup', 'llm', 'tts'], ['stt', 'llm', 'tts'])] },
  { id: 'hs-tool-error', patch: { status: 'COMPLETED', result: 'PASSED' },
    roots: [conversation(['greeting', { name: 'llm', children: [{ name: 'tool_call', error: true }] }, 'tts'])] },
  { id: 'hs-status-failed', patch: { status: 'FAILED' },
    roots: [conversation(['greeting', { name: 'account_lookup', error: true }, 'llm', 'tts'], ['stt', 'llm', 'tts'])] },
  { id: 'hs-result-failed', patch: { status: 'COMPLETED', result: 'FAILED' },
    roots: [conversation(['greeting', 'account_lookup', 'llm', 'llm', 'tts'], ['stt', 'llm', 'transfer'])] },
  { id: 'hs-session', patch: { status: 'COMPLETED', result: 'PASSED' },
    roots: [(() => {
      const pipeline = wrap('pipeline', [conversation(['greeting', 'stt', 'llm', 'tts'])]);
      const transport = { name: 'transport', start: pipeline.start, end: pipeline.end };
      return wrap('session:7f3a', [transport, pipeline]);
    })()] },
  { id: 'hs-parallel', patch: { status: 'COMPLETED', result: 'PASSED' },
    roots: [conversation([
      'greeting',
      { par: ['stt', 'vad'] },
      { name: 'llm', children: [{ name: 'tool_call', error: true }, 'tool_call'] },
      'tts',
    ])] },
  { id: 'hs-multi-trace', patch: { status: 'COMPLETED', result: 'PASSED' },
    roots: turns([
      ['greeting', 'llm', 'tts'],
      ['llm', { name: 'tool_call', error: true }, 'tts'],
      ['llm', 'tts'],
    ]) },
  { id: 'hs-no-spans', patch: null, roots: [] },
];

// ---------------------------------------------------------------------------------------------
// The 5.5 rules, written independently of the server, over the SDK's ReadableSpans.

const isWrapper = (n) => n === 'conversation' || n === 'pipeline' || n === 'transport' || n.startsWith('session:');
const startNs = (s) => BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);

/** The states of one simulation in transition order: [{name, error}]. */
function stateSequence(spans, { include, exclude, collapse = true }) {
  const key = (traceId, spanId) => `${traceId}/${spanId}`;
  const byKey = new Map(spans.map((s) => [key(s.spanContext().traceId, s.spanContext().spanId), s]));
  const depth = (s) => {
    let d = 0;
    for (let p = s.parentSpanContext?.spanId; p && byKey.has(key(s.spanContext().traceId, p)); ) {
      d++;
      p = byKey.get(key(s.spanContext().traceId, p)).parentSpanContext?.spanId;
    }
    return d;
  };
  const kept = spans
    .filter((s) => !(collapse && isWrapper(s.name)))
    .filter((s) => !include || include.includes(s.name))
    .filter((s) => !exclude || !exclude.includes(s.name))
    .map((s) => ({ s, start: startNs(s), depth: depth(s) }));
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  kept.sort((a, b) =>
    cmp(a.start, b.start) ||
    a.depth - b.depth ||
    cmp(a.s.spanContext().spanId, b.s.spanContext().spanId) ||
    cmp(a.s.spanContext().traceId, b.s.spanContext().traceId));
  return kept.map(({ s }) => ({ name: s.name, error: s.status.code === SpanStatusCode.ERROR }));
}

/**
 * @param {{id: string, failed: boolean, spans: object[]}[]} sims
 * @returns {{simulation_count, traced_simulation_count, states: string[], cells: Map}}
 */
function expectedHotspots(sims, opts = {}) {
  const cells = new Map();
  for (const sim of sims) {
    const seq = stateSequence(sim.spans, opts);
    for (let i = 1; i < seq.length; i++) {
      const k = `${seq[i - 1].name} -> ${seq[i].name}`;
      let c = cells.get(k);
      if (!c) {
        c = { from: seq[i - 1].name, to: seq[i].name, count: 0, error_count: 0, sims: new Set(), failed: new Set() };
        cells.set(k, c);
      }
      c.count++;
      c.sims.add(sim.id);
      if (sim.failed) c.failed.add(sim.id);
      if (seq[i].error) {
        c.error_count++;
        c.failed.add(sim.id);
      }
    }
  }
  for (const c of cells.values()) {
    c.simulation_count = c.sims.size;
    c.failed_simulation_count = c.failed.size;
    c.failure_rate = (c.failed.size / c.sims.size) * 100;
  }
  const states = [...new Set([...cells.values()].flatMap((c) => [c.from, c.to]))].sort();
  return {
    simulation_count: sims.length,
    traced_simulation_count: sims.filter((s) => s.spans.length > 0).length,
    states,
    cells,
  };
}

const cellKey = (t) => `${t.from} -> ${t.to}`;
// Ranking key of 5.5: most failed simulations, then higher failure rate, then higher count.
const rankKey = (c) => `${c.failed_simulation_count}|${c.failure_rate.toFixed(9)}|${c.count}`;
const rankCmp = (a, b) =>
  b.failed_simulation_count - a.failed_simulation_count ||
  b.failure_rate - a.failure_rate ||
  b.count - a.count;

/**
 * Compares a hotspots answer with the expectation, every cell. The order of transitions[] and
 * states[] is not part of the contract; top_hotspots must follow the ranking, where transitions
 * with equal keys may come in any order and the cut at 10 may fall inside such a group.
 */
function assertHotspots(got, want, runId, label) {
  assert.equal(got.run_id, runId, `${label}: run_id`);
  assert.equal(got.simulation_count, want.simulation_count, `${label}: simulation_count`);
  assert.equal(got.traced_simulation_count, want.traced_simulation_count, `${label}: traced_simulation_count`);
  assert.deepEqual([...got.states].sort(), want.states, `${label}: states`);

  const gotKeys = got.transitions.map(cellKey);
  assert.equal(new Set(gotKeys).size, gotKeys.length, `${label}: a transition appears twice: ${gotKeys}`);
  assert.deepEqual([...gotKeys].sort(), [...want.cells.keys()].sort(), `${label}: the set of transitions`);
  for (const t of got.transitions) {
    const c = want.cells.get(cellKey(t));
    const what = `${label}: ${cellKey(t)}`;
    assert.equal(t.count, c.count, `${what}: count`);
    assert.equal(t.simulation_count, c.simulation_count, `${what}: simulation_count`);
    assert.equal(t.failed_simulation_count, c.failed_simulation_count, `${what}: failed_simulation_count`);
    assert.ok(Math.abs(t.failure_rate - c.failure_rate) < 1e-9, `${what}: failure_rate ${t.failure_rate} != ${c.failure_rate}`);
    assert.equal(t.error_count, c.error_count, `${what}: error_count`);
    assertExemplars(t.exemplars, c, what);
  }

  // docs/api.md: transitions without a failed simulation are no hotspots, so the list is the
  // (at most 10) failing transitions, each the same object as in transitions[].
  const failing = [...want.cells.values()].filter((c) => c.failed_simulation_count > 0);
  assert.ok(Array.isArray(got.top_hotspots), `${label}: top_hotspots`);
  assert.equal(
    got.top_hotspots.length, Math.min(10, failing.length),
    `${label}: ${got.top_hotspots.map(cellKey)}; transitions with failed simulations: ${failing.map(cellKey)}`,
  );
  // Walk the answer through the ranking groups.
  const remaining = [...want.cells.values()].sort(rankCmp);
  for (const [i, t] of got.top_hotspots.entries()) {
    const c = want.cells.get(cellKey(t));
    assert.ok(c, `${label}: top_hotspots[${i}] ${cellKey(t)} is no transition`);
    const headKey = rankKey(remaining[0]);
    assert.equal(
      rankKey(c), headKey,
      `${label}: top_hotspots[${i}] is ${cellKey(t)} (${rankKey(c)}), expected one ranked ${headKey}: ` +
        remaining.filter((r) => rankKey(r) === headKey).map(cellKey).join(', '),
    );
    remaining.splice(remaining.indexOf(c), 1);
    assert.deepEqual(t, got.transitions.find((x) => cellKey(x) === cellKey(t)), `${label}: top_hotspots[${i}]`);
  }
}

/** Up to 5 distinct simulations of the cell, failed ones (for this cell) first. */
function assertExemplars(ids, c, what) {
  assert.ok(Array.isArray(ids), `${what}: exemplars is not an array`);
  assert.ok(ids.every((e) => typeof e === 'string'), `${what}: exemplars are simulation ids`);
  assert.equal(ids.length, Math.min(5, c.sims.size), `${what}: exemplar count (${ids})`);
  assert.equal(new Set(ids).size, ids.length, `${what}: repeated exemplar (${ids})`);
  for (const id of ids) assert.ok(c.sims.has(id), `${what}: exemplar ${id} never made this transition`);
  const nFailedFirst = Math.min(5, c.failed.size);
  ids.forEach((id, i) => {
    assert.equal(
      c.failed.has(id), i < nFailedFirst,
      `${what}: exemplars ${JSON.stringify(ids)} must list the failed ones (${[...c.failed]}) first`,
    );
  });
}

// ---------------------------------------------------------------------------------------------

let runId;
/** [{id, failed, spans}] as exported, in SIMS order. */
let built;
let baseNs = BigInt(Date.now() - 3_600_000) * 1_000_000n;

async function createRun(displayName, extra = {}) {
  const r = await api.post('/v1/runs', { display_name: displayName, ...extra });
  assert.equal(r.status, 200, r.text);
  return r.json.run.run_id;
}

/** Creates a simulation, exports its roots (one trace each) with the SDK, then PATCHes it. */
async function buildSim(run, def) {
  const c = await api.post('/v1/simulations', { run_id: run, simulation_id: def.id });
  assert.equal(c.status, 200, c.text);
  let spans = [];
  if (def.roots.length > 0) {
    const base = baseNs;
    baseNs += 60_000_000_000n;
    spans = await sdkExport(server, key, { sim: def.id }, (tracer) => {
      for (const root of def.roots) emitTree(tracer, base, root);
    });
  }
  if (def.patch) {
    const p = await api.request('PATCH', `/v1/simulations/${enc(def.id)}`, { json: def.patch });
    assert.equal(p.status, 200, p.text);
  }
  const failed = def.patch?.status === 'FAILED' || def.patch?.result === 'FAILED';
  return { id: def.id, failed, spans };
}

async function hotspots(run, query = '', client = api) {
  return client.get(`/v1/runs/${enc(run)}/hotspots${query}`);
}

async function hotspotsOk(run, query = '') {
  const r = await hotspots(run, query);
  assert.equal(r.status, 200, `GET hotspots${query}: ${r.text}`);
  return r.json;
}

before(async () => {
  server = await startServer();
  await server.createOrg('acme');
  await server.createOrg('rival');
  key = await server.createKey('acme', ['traces:write', 'read', 'write']);
  api = server.client(key);
  rivalApi = server.client(await server.createKey('rival', ['traces:write', 'read', 'write']));

  runId = await createRun('hotspots');
  built = [];
  for (const def of SIMS) built.push(await buildSim(runId, def));
});

after(async () => {
  if (server) await server.stop();
});

test('the fixture is what this suite thinks it is', async () => {
  // The exported spans read back unchanged, so the expectation works on what the server holds.
  for (const sim of built) {
    const r = await api.get(`/v1/simulations/${enc(sim.id)}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.simulation.span_count, sim.spans.length, `${sim.id}: span_count`);
  }
  // At least 10 transitions with failed simulations: the top 10 needs no transition without one.
  const want = expectedHotspots(built);
  assert.ok([...want.cells.values()].filter((c) => c.failed_simulation_count > 0).length >= 10);
  // A cell with more than 5 simulations, so the exemplar cap is exercised.
  assert.ok([...want.cells.values()].some((c) => c.simulation_count > 5));
});

test('default hotspots: wrappers collapsed, every cell as computed', async () => {
  const got = await hotspotsOk(runId);
  assertHotspots(got, expectedHotspots(built), runId, 'default');
  assert.deepEqual(got.filters.include, [], 'filters.include');
  assert.deepEqual(got.filters.exclude, [], 'filters.exclude');
  assert.equal(got.filters.collapse_wrappers, true, 'filters.collapse_wrappers');
  assert.deepEqual(
    [...got.filters.collapsed].sort(),
    ['conversation', 'pipeline', 'session:7f3a', 'transport'],
    'filters.collapsed: the wrapper names dropped',
  );
  // The wrappers are no states.
  for (const w of ['conversation', 'pipeline', 'transport', 'session:7f3a']) {
    assert.ok(!got.states.includes(w), `wrapper ${w} is a state`);
  }
});

test('hand-worked cells of the default matrix', async () => {
  const got = await hotspotsOk(runId);
  const cell = (from, to) => {
    const t = got.transitions.find((x) => x.from === from && x.to === to);
    assert.ok(t, `no transition ${from} -> ${to}`);
    return t;
  };
  // greeting -> account_lookup: hs-ok-1, hs-ok-2, hs-status-failed (whose account_lookup errs),
  // hs-result-failed. Failed: the two PATCHed ones.
  let t = cell('greeting', 'account_lookup');
  assert.deepEqual(
    [t.count, t.simulation_count, t.failed_simulation_count, t.failure_rate, t.error_count],
    [4, 4, 2, 50, 1],
  );
  // llm -> tool_call: hs-tool-error, hs-parallel (its first tool_call errs, the second does not),
  // hs-multi-trace; each errs once, so all three count as failed for this cell.
  t = cell('llm', 'tool_call');
  assert.deepEqual(
    [t.count, t.simulation_count, t.failed_simulation_count, t.failure_rate, t.error_count],
    [3, 3, 3, 100, 3],
  );
  // tool_call -> tts: the same simulations, none failed and no erring `to`: an error on the
  // `from` side does not fail the transition.
  t = cell('tool_call', 'tts');
  assert.deepEqual([t.count, t.simulation_count, t.failed_simulation_count, t.error_count], [3, 3, 0, 0]);
  // llm -> llm: only hs-result-failed (llm, llm within its first turn).
  t = cell('llm', 'llm');
  assert.deepEqual([t.count, t.simulation_count, t.failed_simulation_count, t.failure_rate], [1, 1, 1, 100]);
  assert.deepEqual(t.exemplars, ['hs-result-failed']);
  // llm -> tts over the run: hs-ok-1 1, hs-ok-2 2, hs-status-failed 2, hs-result-failed 1,
  // hs-session 1, hs-multi-trace 2 (turns 1 and 3) = 9 occurrences in 6 simulations.
  t = cell('llm', 'tts');
  assert.deepEqual([t.count, t.simulation_count, t.failed_simulation_count], [9, 6, 2]);
  // The turn starts with its first step: depth puts turn first, so turn -> greeting, never
  // greeting -> turn. Every traced simulation opens with it.
  t = cell('turn', 'greeting');
  assert.equal(t.simulation_count, 8);
  assert.ok(!got.transitions.some((x) => x.from === 'greeting' && x.to === 'turn'));
  assert.equal(t.exemplars.length, 5, 'exemplars capped at 5');
  assert.deepEqual(
    t.exemplars.slice(0, 2).sort(),
    ['hs-result-failed', 'hs-status-failed'],
  );
  // The top hotspot is llm -> tool_call: 3 failed simulations, more than any other cell.
  assert.deepEqual([got.top_hotspots[0].from, got.top_hotspots[0].to], ['llm', 'tool_call']);
});

test('include keeps only the named states', async () => {
  const include = ['greeting', 'llm', 'tts'];
  const got = await hotspotsOk(runId, `?include=${include.join(',')}`);
  assertHotspots(got, expectedHotspots(built, { include }), runId, 'include');
  assert.deepEqual([...got.filters.include].sort(), [...include].sort(), 'filters.include');
  assert.deepEqual([...got.states].sort(), ['greeting', 'llm', 'tts']);
});

test('exclude drops the named states', async () => {
  const exclude = ['turn', 'tool_call'];
  const got = await hotspotsOk(runId, `?exclude=${exclude.join(',')}`);
  assertHotspots(got, expectedHotspots(built, { exclude }), runId, 'exclude');
  assert.deepEqual([...got.filters.exclude].sort(), [...exclude].sort(), 'filters.exclude');
  assert.ok(!got.states.includes('turn') && !got.states.includes('tool_call'));
});

test('include and exclude together: exclude wins', async () => {
  const include = ['stt', 'llm', 'tts', 'vad'];
  const exclude = ['vad'];
  const got = await hotspotsOk(runId, `?include=${include.join(',')}&exclude=${exclude.join(',')}`);
  assertHotspots(got, expectedHotspots(built, { include, exclude }), runId, 'include+exclude');
  assert.ok(!got.states.includes('vad'));
});

test('collapse_wrappers=false keeps the wrapper spans as states', async () => {
  const got = await hotspotsOk(runId, '?collapse_wrappers=false');
  assertHotspots(got, expectedHotspots(built, { collapse: false }), runId, 'collapse_wrappers=false');
  assert.deepEqual(got.filters.collapsed, [], 'nothing collapsed');
  assert.equal(got.filters.collapse_wrappers, false, 'filters.collapse_wrappers');
  for (const w of ['conversation', 'pipeline', 'transport', 'session:7f3a']) {
    assert.ok(got.states.includes(w), `wrapper ${w} missing from the states`);
  }
  // Explicit true is the default.
  const dflt = await hotspotsOk(runId, '?collapse_wrappers=true');
  assertHotspots(dflt, expectedHotspots(built), runId, 'collapse_wrappers=true');
});

test('include naming a wrapper: collapsing comes first', async () => {
  const include = ['conversation', 'turn'];
  const got = await hotspotsOk(runId, `?include=${include.join(',')}`);
  assertHotspots(got, expectedHotspots(built, { include }), runId, 'include wrappers, collapsed');
  // Only hs-ok-2, hs-status-failed, hs-result-failed and hs-multi-trace have 2+ turns.
  assert.deepEqual(got.transitions.map(cellKey), ['turn -> turn']);
  const open = await hotspotsOk(runId, `?include=${include.join(',')}&collapse_wrappers=false`);
  assertHotspots(open, expectedHotspots(built, { include, collapse: false }), runId, 'include wrappers, not collapsed');
});

test('a bad collapse_wrappers value is a 400 naming it', async () => {
  const r = await hotspots(runId, '?collapse_wrappers=maybe');
  assertApiError(r, 400, 'INVALID_ARGUMENT', 'collapse_wrappers');
});

test('another org\'s run and an unknown run are 404', async () => {
  assertApiError(await hotspots(runId, '', rivalApi), 404, 'NOT_FOUND');
  assertApiError(await hotspots('01JB2Q6W1Y8K2M4N5P7R9S0T1V'), 404, 'NOT_FOUND');
  // The rival's 404 is the same answer as a missing run's: no hint the run exists.
  const a = await hotspots(runId, '', rivalApi);
  const b = await rivalApi.get('/v1/runs/01JB2Q6W1Y8K2M4N5P7R9S0T1V/hotspots');
  assert.deepEqual(a.json, b.json);
});

test('hotspots need the read scope', async () => {
  const writer = server.client(await server.createKey('acme', ['traces:write']));
  assertApiError(await hotspots(runId, '', writer), 403, 'PERMISSION_DENIED');
});

test('a run without traced simulations has an empty matrix', async () => {
  const run = await createRun('untraced');
  for (const id of ['hs-empty-a', 'hs-empty-b']) {
    const c = await api.post('/v1/simulations', { run_id: run, simulation_id: id });
    assert.equal(c.status, 200, c.text);
  }
  const got = await hotspotsOk(run);
  assert.equal(got.run_id, run);
  assert.equal(got.simulation_count, 2);
  assert.equal(got.traced_simulation_count, 0);
  assert.deepEqual(got.states, []);
  assert.deepEqual(got.transitions, []);
  assert.deepEqual(got.top_hotspots, []);

  const none = await hotspotsOk(await createRun('no simulations'));
  assert.equal(none.simulation_count, 0);
  assert.deepEqual(none.transitions, []);
});

test('late spans change the matrix', async () => {
  const run = await createRun('late spans');
  const first = await buildSim(run, {
    id: 'hs-late', patch: null, roots: [conversation(['greeting', 'llm'])],
  });
  let got = await hotspotsOk(run);
  assertHotspots(got, expectedHotspots([first]), run, 'before');
  // The agent's last span arrives after the first read.
  const late = await sdkExport(server, key, { sim: 'hs-late' }, (tracer) => {
    emitTree(tracer, baseNs, { name: 'tts', start: 0, end: 100, status: 'ERROR' });
  });
  baseNs += 60_000_000_000n;
  got = await hotspotsOk(run);
  const after = [{ id: 'hs-late', failed: false, spans: [...first.spans, ...late] }];
  assertHotspots(got, expectedHotspots(after), run, 'after');
  const t = got.transitions.find((x) => x.from === 'llm' && x.to === 'tts');
  assert.ok(t, 'llm -> tts appears once the late span is in');
  assert.equal(t.error_count, 1);
});

test('a run metric whose target condition fails marks the simulation failed', async () => {
  const m = await api.post('/v1/metrics', {
    metric_name: 'llm ttfb under a second',
    metric_type: 'METRIC_CUSTOM_TRACE',
    span_name: 'llm',
    value_source: 'attribute',
    metric_attribute: 'metrics.ttfb',
    aggregation_method: 'max',
    unit: 's',
    target_condition: { comparison_operator: 'lt', target_float: 1.0 },
  });
  assert.equal(m.status, 200, m.text);
  const metricId = m.json.metric.metric_id;
  const run = await createRun('metric gated', { metric_ids: [metricId] });
  const sims = [];
  for (const [id, ttfb] of [['hs-fast', 0.4], ['hs-slow', 1.6], ['hs-fast-2', 0.9]]) {
    const steps = ['greeting', { name: 'llm' }, 'tts'];
    const def = { id, patch: { status: 'COMPLETED', result: 'PASSED' }, roots: [conversation(steps)] };
    def.roots[0].children[0].children[1].attributes = { 'metrics.ttfb': ttfb };
    const sim = await buildSim(run, def);
    sims.push({ ...sim, failed: ttfb >= 1.0 });
  }
  const got = await hotspotsOk(run);
  assertHotspots(got, expectedHotspots(sims), run, 'metric-gated');
  const t = got.transitions.find((x) => x.from === 'greeting' && x.to === 'llm');
  assert.equal(t.failed_simulation_count, 1);
  assert.deepEqual(t.exemplars[0], 'hs-slow');
});
