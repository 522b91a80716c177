// Runs and simulations (DESIGN.md 5.2) through HTTP: a whole test-run lifecycle driven the way a
// harness and its agent drive it (the agent exports with the OpenTelemetry JS SDK), run progress
// and status derived from the simulations, PATCH of each field, deletes that take spans with them,
// paging of both lists, and every validation error with the field it names.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { startServer } from './lib/server.mjs';
import {
  RecordingExporter,
  assertAllExportsSucceeded,
  assertSameSpans,
  emitVoiceTrace,
  VOICE_TRACE_ORDER,
} from './lib/otel.mjs';
import { ULID, assertApiError, listAll, postOtlp, otlpRequest, span, nowNs, MS } from './lib/otlp_json.mjs';

let server;
let key;
let api;

before(async () => {
  server = await startServer();
  await server.createOrg('harness');
  key = await server.createKey('harness');
  api = server.client(key);
});

after(async () => {
  if (server) await server.stop();
});

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const enc = encodeURIComponent;
const patch = (path, json) => api.request('PATCH', path, { json });
const del = (path) => api.request('DELETE', path);

async function createRun(body) {
  const r = await api.post('/v1/runs', body);
  assert.equal(r.status, 200, r.text);
  return r.json.run;
}

async function createSim(body) {
  const r = await api.post('/v1/simulations', body);
  assert.equal(r.status, 200, r.text);
  return r.json.simulation;
}

async function getRun(id) {
  const r = await api.get(`/v1/runs/${enc(id)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.run;
}

async function getSim(id) {
  const r = await api.get(`/v1/simulations/${enc(id)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.simulation;
}

/** The agent's side: the OTel JS SDK exporting the voice trace with X-Simulation-Id. */
async function agentExports(simId, baseNs) {
  const rec = new RecordingExporter(
    new OTLPTraceExporter({
      url: `${server.url}/v1/traces`,
      headers: { 'X-API-Key': key, 'X-Simulation-Id': simId },
      timeoutMillis: 30_000,
    }),
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'my-agent' }),
    spanProcessors: [new BatchSpanProcessor(rec)],
  });
  emitVoiceTrace(provider.getTracer('my-agent'), baseNs, `call-${simId}`);
  await provider.forceFlush();
  await provider.shutdown();
  assertAllExportsSucceeded(rec);
  return rec.spans;
}

const progress = (total, completed, failed, inProgress) => ({
  total_test_cases: total,
  completed_test_cases: completed,
  failed_test_cases: failed,
  in_progress_test_cases: inProgress,
});

test('a test run from creation to deletion', async () => {
  // The harness creates the run.
  const run = await createRun({
    display_name: 'nightly regression',
    metadata: { branch: 'main', build: 412 },
    metric_ids: [],
  });
  assert.match(run.run_id, ULID);
  assert.equal(run.display_name, 'nightly regression');
  assert.equal(run.status, 'PENDING');
  assert.match(run.create_time, RFC3339);
  assert.match(run.update_time, RFC3339);
  assert.deepEqual(run.metadata, { branch: 'main', build: 412 });
  assert.deepEqual(run.metric_ids, []);
  assert.deepEqual(run.progress, progress(0, 0, 0, 0));
  assert.deepEqual(run.metric_averages, {});

  // One simulation per test case: one with an id the harness chose, three generated.
  const transcript = [
    { role: 'assistant', content: 'Thanks for calling, how can I help?' },
    { role: 'user', content: 'A table for two at seven, please.' },
  ];
  const a = await createSim({
    run_id: run.run_id,
    simulation_id: 'tc-book.table_1',
    test_case_id: 'tc-book-table',
    transcript,
    metadata: { persona: 'polite' },
  });
  assert.equal(a.simulation_id, 'tc-book.table_1');
  assert.equal(a.run_id, run.run_id);
  assert.equal(a.status, 'PENDING');
  assert.equal(a.result ?? null, null, 'no result before one is set');
  assert.equal(a.test_case_id, 'tc-book-table');
  assert.deepEqual(a.transcript, transcript);
  assert.deepEqual(a.metadata, { persona: 'polite' });
  assert.equal(a.span_count, 0);
  assert.deepEqual(a.metric_values, {});
  assert.match(a.create_time, RFC3339);

  const b = await createSim({ run_id: run.run_id, test_case_id: 'tc-cancel' });
  const c = await createSim({ run_id: run.run_id, test_case_id: 'tc-refund', status: 'IN PROGRESS' });
  const d = await createSim({ run_id: run.run_id, test_case_id: 'tc-hours' });
  for (const s of [b, c, d]) assert.match(s.simulation_id, ULID);
  assert.equal(c.status, 'IN PROGRESS');
  assert.equal(new Set([a, b, c, d].map((s) => s.simulation_id)).size, 4);

  assert.deepEqual((await getRun(run.run_id)).progress, progress(4, 0, 0, 4));

  // The agent answers call A and exports its spans with the SDK.
  const base = (nowNs() / MS - 60_000n) * MS;
  const exported = await agentExports(a.simulation_id, base);
  assert.equal((await getSim(a.simulation_id)).span_count, VOICE_TRACE_ORDER.length);
  const { traces } = await api.allSpans({ simulation_output_id: a.simulation_id });
  assertSameSpans(traces, exported, 'my-agent');

  // The harness records outcomes. PATCH changes only the fields it names.
  const prior = await getSim(a.simulation_id);
  const longer = [...transcript, { role: 'assistant', content: 'Booked for 19:00.' }];
  let r = await patch(`/v1/simulations/${enc(a.simulation_id)}`, {
    status: 'COMPLETED',
    result: 'PASSED',
    transcript: longer,
    metadata: { persona: 'polite', judged: true },
  });
  assert.equal(r.status, 200, r.text);
  const patched = r.json.simulation;
  assert.equal(patched.status, 'COMPLETED');
  assert.equal(patched.result, 'PASSED');
  assert.deepEqual(patched.transcript, longer);
  assert.deepEqual(patched.metadata, { persona: 'polite', judged: true });
  assert.equal(patched.test_case_id, 'tc-book-table', 'untouched by the PATCH');
  assert.equal(patched.create_time, prior.create_time);
  assert.ok(patched.update_time >= prior.update_time, 'update_time moves forward');
  assert.equal(patched.span_count, VOICE_TRACE_ORDER.length);
  assert.deepEqual(await getSim(a.simulation_id), patched, 'GET returns what PATCH answered');

  r = await patch(`/v1/simulations/${enc(a.simulation_id)}`, { result: 'FAILED' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.simulation.status, 'COMPLETED', 'status kept when only result is sent');
  assert.equal(r.json.simulation.result, 'FAILED');
  assert.deepEqual(r.json.simulation.transcript, longer, 'transcript kept');
  r = await patch(`/v1/simulations/${enc(a.simulation_id)}`, { result: 'PASSED' });
  assert.equal(r.status, 200, r.text);

  // B failed outright, C completed but was judged failed, D still running.
  r = await patch(`/v1/simulations/${enc(b.simulation_id)}`, { status: 'FAILED' });
  assert.equal(r.status, 200, r.text);
  r = await patch(`/v1/simulations/${enc(c.simulation_id)}`, { status: 'COMPLETED', result: 'FAILED' });
  assert.equal(r.status, 200, r.text);
  r = await patch(`/v1/simulations/${enc(d.simulation_id)}`, { status: 'IN_PROGRESS' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.simulation.status, 'IN PROGRESS', 'IN_PROGRESS is read as IN PROGRESS');

  let got = await getRun(run.run_id);
  assert.deepEqual(got.progress, progress(4, 3, 2, 1));
  assert.equal(got.status, 'IN PROGRESS', 'a run with a simulation still running is in progress');

  // Listing the run's simulations: creation order, span counts included.
  const listed = await listAll(api, `/v1/simulations?filter=${enc(`run_id="${run.run_id}"`)}`, 'simulations');
  assert.deepEqual(
    listed.items.map((s) => s.simulation_id),
    [a, b, c, d].map((s) => s.simulation_id),
  );
  assert.deepEqual(listed.items.map((s) => s.span_count), [VOICE_TRACE_ORDER.length, 0, 0, 0]);
  assert.deepEqual(listed.items.map((s) => s.status), ['COMPLETED', 'FAILED', 'COMPLETED', 'IN PROGRESS']);
  assert.deepEqual(listed.items.map((s) => s.result ?? null), ['PASSED', null, 'FAILED', null]);

  // D is dropped: its spans go with it and progress no longer counts it.
  await agentExports(d.simulation_id, base + 10_000n * MS);
  r = await del(`/v1/simulations/${enc(d.simulation_id)}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {});
  assertApiError(await api.get(`/v1/simulations/${enc(d.simulation_id)}`), 404, 'NOT_FOUND');
  assertApiError(
    await api.get(`/v1/traces/spans?simulation_output_id=${enc(d.simulation_id)}`), 404, 'NOT_FOUND');
  assertApiError(await del(`/v1/simulations/${enc(d.simulation_id)}`), 404, 'NOT_FOUND');
  got = await getRun(run.run_id);
  assert.deepEqual(got.progress, progress(3, 3, 2, 0));
  assert.equal(got.status, 'COMPLETED', 'every simulation has finished');

  // Deleting the run deletes its simulations and their spans.
  r = await del(`/v1/runs/${enc(run.run_id)}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {});
  assertApiError(await api.get(`/v1/runs/${enc(run.run_id)}`), 404, 'NOT_FOUND');
  const orphans = await api.get(`/v1/simulations?filter=${enc(`run_id="${run.run_id}"`)}`);
  assert.equal(orphans.status, 200, orphans.text);
  assert.deepEqual(orphans.json.simulations, []);
  for (const s of [a, b, c]) {
    assertApiError(await api.get(`/v1/simulations/${enc(s.simulation_id)}`), 404, 'NOT_FOUND');
  }
  assertApiError(
    await api.get(`/v1/traces/spans?simulation_output_id=${enc(a.simulation_id)}`), 404, 'NOT_FOUND');
  // The agent exporting late for a deleted call is told the simulation is gone.
  const late = await postOtlp(server, key, { sim: a.simulation_id },
    otlpRequest([span({ name: 'llm', start: base, end: base + MS })]));
  assertApiError(late, 404, 'NOT_FOUND');
  assert.equal(late.json.error.message, 'Simulation output not found');
  assertApiError(await del(`/v1/runs/${enc(run.run_id)}`), 404, 'NOT_FOUND');
  // The deleted spans are gone from search too, not only from the target's reads.
  const found = await api.post('/v1/traces/search', { limit: 100, filters: {} });
  assert.equal(found.status, 200, found.text);
  const gone = new Set([a, b, c, d].map((s) => s.simulation_id));
  assert.deepEqual(found.json.items.filter((i) => gone.has(i.simulation_output_id)), []);

  // The id the harness chose is free again.
  const again = await createRun({ display_name: 'rerun' });
  const reused = await createSim({ run_id: again.run_id, simulation_id: 'tc-book.table_1' });
  assert.equal(reused.span_count, 0, 'no spans survive from the deleted simulation');
});

test('a deleted simulation keeps the rest of its run intact', async () => {
  const run = await createRun({ display_name: 'partial delete' });
  const keep = await createSim({ run_id: run.run_id });
  const drop = await createSim({ run_id: run.run_id });
  const base = (nowNs() / MS - 120_000n) * MS;
  await agentExports(keep.simulation_id, base);
  await agentExports(drop.simulation_id, base + 20_000n * MS);
  const r = await del(`/v1/simulations/${enc(drop.simulation_id)}`);
  assert.equal(r.status, 200, r.text);
  assert.equal((await getSim(keep.simulation_id)).span_count, VOICE_TRACE_ORDER.length);
  const spans = await api.allSpans({ simulation_output_id: keep.simulation_id });
  assert.equal(spans.total_spans, VOICE_TRACE_ORDER.length);
  assert.deepEqual((await getRun(run.run_id)).progress, progress(1, 0, 0, 1));
});

test('run status follows its simulations', async () => {
  const run = await createRun({ display_name: 'status' });
  assert.equal(run.status, 'PENDING');
  const s1 = await createSim({ run_id: run.run_id });
  const s2 = await createSim({ run_id: run.run_id });
  // docs/api.md: IN PROGRESS while any simulation is PENDING or IN PROGRESS, COMPLETED after.
  assert.equal((await getRun(run.run_id)).status, 'IN PROGRESS', 'simulations are pending');
  await patch(`/v1/simulations/${s1.simulation_id}`, { status: 'IN PROGRESS' });
  assert.equal((await getRun(run.run_id)).status, 'IN PROGRESS');
  await patch(`/v1/simulations/${s1.simulation_id}`, { status: 'COMPLETED' });
  assert.equal((await getRun(run.run_id)).status, 'IN PROGRESS', 's2 is still pending');
  await patch(`/v1/simulations/${s2.simulation_id}`, { status: 'CANCELLED' });
  const done = await getRun(run.run_id);
  assert.deepEqual(done.progress, progress(2, 2, 0, 0));
  assert.equal(done.status, 'COMPLETED', 'every simulation has finished, one of them cancelled');
  const listed = (await api.get('/v1/runs?page_size=100')).json.runs.find((x) => x.run_id === run.run_id);
  assert.equal(listed.status, 'COMPLETED', 'the list derives the status too');
  assert.deepEqual(listed.progress, done.progress);
});

test('runs list newest first with page_size and page_token', async () => {
  // A separate org, so the list holds only these runs.
  await server.createOrg('lists');
  const lapi = server.client(await server.createKey('lists'));
  const ids = [];
  for (let i = 0; i < 105; i++) {
    const r = await lapi.post('/v1/runs', { display_name: `run ${i}` });
    assert.equal(r.status, 200, r.text);
    ids.push(r.json.run.run_id);
  }
  const newestFirst = [...ids].reverse();

  const def = await lapi.get('/v1/runs');
  assert.equal(def.status, 200, def.text);
  assert.equal(def.json.runs.length, 50, 'default page size');
  assert.deepEqual(def.json.runs.map((r) => r.run_id), newestFirst.slice(0, 50));
  assert.equal(typeof def.json.next_page_token, 'string');
  assert.ok(def.json.next_page_token.length > 0);
  assert.ok(def.json.runs[0].progress, 'list items carry progress');

  const big = await lapi.get('/v1/runs?page_size=1000');
  assert.equal(big.status, 200, big.text);
  assert.equal(big.json.runs.length, 100, 'page_size is clamped to 100');

  const all = await listAll(lapi, '/v1/runs?page_size=7', 'runs');
  assert.equal(all.pages, 15);
  assert.deepEqual(all.items.map((r) => r.run_id), newestFirst);
  assert.equal(all.items[104].display_name, 'run 0');

  // The last page has no next_page_token (absent or empty).
  const last = await lapi.get('/v1/runs?page_size=200');
  assert.equal(last.status, 200);
  const p2 = await lapi.get(`/v1/runs?page_size=100&page_token=${enc(last.json.next_page_token)}`);
  assert.equal(p2.status, 200, p2.text);
  assert.deepEqual(p2.json.runs.map((r) => r.run_id), newestFirst.slice(100));
  assert.equal(p2.json.next_page_token, '', 'next_page_token on the last page');

  for (const bad of ['abc', '-1', '1.5', '10x']) {
    assertApiError(await lapi.get(`/v1/runs?page_size=${bad}`), 400, 'INVALID_ARGUMENT', 'page_size');
  }
  for (const bad of ['!!!', '%%', 'a b']) {
    assertApiError(await lapi.get(`/v1/runs?page_token=${enc(bad)}`), 400, 'INVALID_ARGUMENT', 'page_token');
  }
  // page_size=0 is the default; an empty page_token starts over; runs take no filter.
  const zero = await lapi.get('/v1/runs?page_size=0&page_token=');
  assert.equal(zero.status, 200, zero.text);
  assert.deepEqual(zero.json.runs.map((r) => r.run_id), newestFirst.slice(0, 50));
  assertApiError(await lapi.get(`/v1/runs?filter=${enc('status="COMPLETED"')}`), 400, 'INVALID_ARGUMENT', 'filter');
});

test('a page token this API did not hand out is 400 on every list', async () => {
  // base64url of text that has no cursor's shape (a run id is a ULID; the others are
  // "<ms>:<id>"): docs/api.md says 400, field page_token.
  const forged = ['hello', 'not a cursor', '-1'].map((t) => Buffer.from(t).toString('base64url'));
  const problems = [];
  for (const list of ['/v1/runs', '/v1/simulations', '/v1/conversations']) {
    for (const tok of forged) {
      const r = await api.get(`${list}?page_token=${tok}`);
      if (r.status !== 400 || r.json?.error?.details?.[0]?.field !== 'page_token') {
        problems.push(`${list} page_token=${Buffer.from(tok, 'base64url')}: ${r.status}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('simulations list: paging, run filter, whole org', async () => {
  await server.createOrg('simlists');
  const sapi = server.client(await server.createKey('simlists'));
  const r1 = (await sapi.post('/v1/runs', { display_name: 'r1' })).json.run;
  const r2 = (await sapi.post('/v1/runs', { display_name: 'r2' })).json.run;
  const in1 = [];
  const in2 = [];
  for (let i = 0; i < 12; i++) {
    const runId = i % 3 === 0 ? r2.run_id : r1.run_id;
    const s = await sapi.post('/v1/simulations', { run_id: runId, test_case_id: `tc${i}` });
    assert.equal(s.status, 200, s.text);
    (i % 3 === 0 ? in2 : in1).push(s.json.simulation.simulation_id);
  }
  const f1 = await listAll(sapi, `/v1/simulations?page_size=3&filter=${enc(`run_id="${r1.run_id}"`)}`, 'simulations');
  assert.deepEqual(f1.items.map((s) => s.simulation_id), in1);
  assert.equal(f1.pages, 3);
  assert.ok(f1.items.every((s) => s.run_id === r1.run_id));
  const f2 = await listAll(sapi, `/v1/simulations?filter=${enc(`run_id="${r2.run_id}"`)}`, 'simulations');
  assert.deepEqual(f2.items.map((s) => s.simulation_id), in2);
  assert.deepEqual(f2.items.map((s) => s.test_case_id), ['tc0', 'tc3', 'tc6', 'tc9']);
  const everyone = await listAll(sapi, '/v1/simulations?page_size=5', 'simulations');
  assert.deepEqual(new Set(everyone.items.map((s) => s.simulation_id)), new Set([...in1, ...in2]));
  assert.equal(everyone.items.length, 12);

  const none = await sapi.get(`/v1/simulations?filter=${enc('run_id="01HZZZZZZZZZZZZZZZZZZZZZZZ"')}`);
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.json.simulations, []);

  assertApiError(await sapi.get('/v1/simulations?page_size=x'), 400, 'INVALID_ARGUMENT', 'page_size');
  assertApiError(await sapi.get('/v1/simulations?page_token=%25%25'), 400, 'INVALID_ARGUMENT', 'page_token');
  for (const bad of ['run_id=', 'color="red"', `run_id="${r1.run_id}`, 'run_id']) {
    assertApiError(await sapi.get(`/v1/simulations?filter=${enc(bad)}`), 400, 'INVALID_ARGUMENT', 'filter');
  }
});

test('run validation names the field', async () => {
  const raw = (body) => api.request('POST', '/v1/runs', { body, headers: { 'Content-Type': 'application/json' } });
  assertApiError(await api.post('/v1/runs', {}), 400, 'INVALID_ARGUMENT', 'display_name');
  assertApiError(await api.post('/v1/runs', { display_name: 7 }), 400, 'INVALID_ARGUMENT', 'display_name');
  assertApiError(await api.post('/v1/runs', { display_name: 'x'.repeat(257) }),
    400, 'INVALID_ARGUMENT', 'display_name');
  assertApiError(await api.post('/v1/runs', { display_name: 'm', metadata: [1] }), 400, 'INVALID_ARGUMENT', 'metadata');
  assertApiError(await api.post('/v1/runs', { display_name: 'm', metric_ids: 'x' }),
    400, 'INVALID_ARGUMENT', 'metric_ids');
  assertApiError(await raw('{"display_name":'), 400, 'INVALID_ARGUMENT');
  assertApiError(await raw('[]'), 400, 'INVALID_ARGUMENT');
  assertApiError(await api.get('/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'NOT_FOUND');
  assertApiError(await del('/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'NOT_FOUND');
});

test('simulation validation names the field', async () => {
  const run = await createRun({ display_name: 'validation' });
  const post = (b) => api.post('/v1/simulations', b);
  assertApiError(await post({}), 400, 'INVALID_ARGUMENT', 'run_id');
  assertApiError(await post({ run_id: 42 }), 400, 'INVALID_ARGUMENT', 'run_id');
  assertApiError(await post({ run_id: '01HZZZZZZZZZZZZZZZZZZZZZZZ' }), 404, 'NOT_FOUND', 'run_id');
  for (const bad of ['has space', 'a/b', 'x'.repeat(65), '', 'ünï']) {
    assertApiError(await post({ run_id: run.run_id, simulation_id: bad }), 400, 'INVALID_ARGUMENT', 'simulation_id');
  }
  const ok64 = await post({ run_id: run.run_id, simulation_id: 'A'.repeat(64) });
  assert.equal(ok64.status, 200, ok64.text);
  assertApiError(await post({ run_id: run.run_id, simulation_id: 'A'.repeat(64) }), 409, 'ALREADY_EXISTS');
  assertApiError(await post({ run_id: run.run_id, status: 'DONE' }), 400, 'INVALID_ARGUMENT', 'status');
  assertApiError(await post({ run_id: run.run_id, transcript: {} }), 400, 'INVALID_ARGUMENT', 'transcript');
  assertApiError(await post({ run_id: run.run_id, metadata: 'x' }), 400, 'INVALID_ARGUMENT', 'metadata');

  const sim = await createSim({ run_id: run.run_id });
  const p = (b) => patch(`/v1/simulations/${sim.simulation_id}`, b);
  assertApiError(await p({ status: 'DONE' }), 400, 'INVALID_ARGUMENT', 'status');
  assertApiError(await p({ status: 3 }), 400, 'INVALID_ARGUMENT', 'status');
  assertApiError(await p({ result: 'MAYBE' }), 400, 'INVALID_ARGUMENT', 'result');
  assertApiError(await p({ transcript: 'hello' }), 400, 'INVALID_ARGUMENT', 'transcript');
  assertApiError(await p({ metadata: [] }), 400, 'INVALID_ARGUMENT', 'metadata');
  assertApiError(await p({ run_id: run.run_id }), 400, 'INVALID_ARGUMENT', 'run_id');
  assertApiError(await p({ span_count: 5 }), 400, 'INVALID_ARGUMENT', 'span_count');
  assertApiError(await p({ status: 'COMPLETED', color: 'red' }), 400, 'INVALID_ARGUMENT', 'color');
  // null keeps the stored value.
  const kept = await p({ status: null, metadata: null });
  assert.equal(kept.status, 200, kept.text);
  assert.equal(kept.json.simulation.status, 'PENDING');
  // A rejected PATCH changes nothing.
  const unchanged = await getSim(sim.simulation_id);
  assert.equal(unchanged.status, 'PENDING');
  assert.equal(unchanged.result ?? null, null);
  assertApiError(await patch('/v1/simulations/nope', { status: 'COMPLETED' }), 404, 'NOT_FOUND');
  assertApiError(await del('/v1/simulations/nope'), 404, 'NOT_FOUND');
});

test('a key without the write scope can read but not change', async () => {
  const run = await createRun({ display_name: 'scopes' });
  const sim = await createSim({ run_id: run.run_id });
  const reader = server.client(await server.createKey('harness', ['read']));
  assert.equal((await reader.get(`/v1/runs/${run.run_id}`)).status, 200);
  assert.equal((await reader.get('/v1/runs')).status, 200);
  assertApiError(await reader.post('/v1/runs', { display_name: 'no' }), 403, 'PERMISSION_DENIED');
  assertApiError(
    await reader.request('PATCH', `/v1/simulations/${sim.simulation_id}`, { json: { status: 'FAILED' } }),
    403, 'PERMISSION_DENIED');
  assertApiError(await reader.request('DELETE', `/v1/simulations/${sim.simulation_id}`), 403, 'PERMISSION_DENIED');
  assertApiError(await reader.request('DELETE', `/v1/runs/${run.run_id}`), 403, 'PERMISSION_DENIED');
  assert.equal((await getSim(sim.simulation_id)).status, 'PENDING');
});
