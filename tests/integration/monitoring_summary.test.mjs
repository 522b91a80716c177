// GET /v1/traces/summary (DESIGN.md 5.4): first the seed's monitoring flow end to end (spans
// buffered in memory during the call, transcript submitted, spans exported with
// X-Conversation-Id) and its summary; then a hand-built trace whose every summary figure is known
// in advance: an orphan, a child starting before its parent and one ending after it, overlapping
// spans of one name (time_percent is the union of their intervals over the trace's duration),
// error spans, two traces, two resources, re-sent duplicates; then export lag with clock skew.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { NodeTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { startServer } from './lib/server.mjs';
import { assertApiError, ingestOk, otlpRequest, span, hex, nowNs, MS } from './lib/otlp_json.mjs';

let server;
let key;
let api;

before(async () => {
  server = await startServer();
  await server.createOrg('summary-co');
  key = await server.createKey('summary-co');
  api = server.client(key);
});

after(async () => {
  if (server) await server.stop();
});

const near = (got, want, what, eps = 1e-6) =>
  assert.ok(typeof got === 'number' && Math.abs(got - want) <= eps, `${what}: ${got} != ${want}`);

async function summary(query) {
  const r = await api.get(`/v1/traces/summary?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.trace_summary, `no trace_summary in ${r.text}`);
  return r.json;
}

test("the seed's monitoring flow, then the conversation's summary", async () => {
  // Call setup: a provider whose spans wait in memory until the conversation id is known.
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'my-agent' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('my-agent');
  tracer.startActiveSpan('llm', (s) => { s.setAttribute('metrics.ttfb', 0.42); s.end(); });
  tracer.startActiveSpan('tts', (s) => { s.setAttribute('metrics.ttfb', 0.18); s.end(); });
  const finished = [...memory.getFinishedSpans()];

  // After the call: submit the transcript, then export with the id it returned.
  const sub = await api.post('/v1/conversations:submit', {
    transcript: [
      { role: 'user', content: 'Hello', start_time: 0.0, end_time: 1.2 },
      { role: 'assistant', content: 'Hi! How can I help?', start_time: 1.5, end_time: 3.0 },
    ],
  });
  assert.equal(sub.status, 200, sub.text);
  const convId = sub.json.conversation.conversation_id;
  const exporter = new OTLPTraceExporter({
    url: `${server.url}/v1/traces`,
    headers: { 'X-API-Key': key, 'X-Conversation-Id': convId },
    timeoutMillis: 30_000,
  });
  const result = await new Promise((ok) => exporter.export(finished, ok));
  await exporter.shutdown();
  await provider.shutdown();
  assert.equal(result.code, 0, result.error?.message);

  const spans = await api.allSpans({ conversation_id: convId });
  assert.equal(spans.total_spans, 2);
  const { target, trace_summary: s } = await summary({ conversation_id: convId });
  assert.deepEqual(target, { type: 'conversation', id: convId });
  assert.equal(s.simulation_output_id, convId);
  assert.equal(s.run_id ?? null, null, 'a conversation has no run');
  assert.equal(s.total_spans, 2);
  assert.equal(s.unique_span_count, 2);
  assert.equal(s.duplicate_span_count, 0);
  // Two start_as_current_span blocks one after the other: two root spans, two traces.
  assert.equal(s.trace_count, 2);
  assert.equal(s.root_span_count, 2);
  assert.equal(s.orphan_span_count, 0);
  assert.equal(s.child_timing_violation_count, 0);
  assert.deepEqual(s.status_counts, { UNSET: 2, OK: 0, ERROR: 0 });
  assert.deepEqual(s.span_groups.map((g) => g.name).sort(), ['llm', 'tts']);
  for (const g of s.span_groups) {
    assert.equal(g.count, 1);
    assert.equal(g.error_count, 0);
    const sp = spans.traces.find((x) => x.name === g.name);
    near(g.total_duration_ms, sp.duration_ms, `${g.name} total_duration_ms`, 1e-3);
  }
  assert.deepEqual(s.error_spans, []);
  assert.deepEqual(s.slowest_spans.map((x) => x.span_id).sort(), spans.traces.map((x) => x.span_id).sort());
  // The SDK's default resource keys plus service.name, exactly the keys the spans carry.
  const keys = [...new Set(spans.traces.flatMap((x) => Object.keys(x.resource)))].sort();
  assert.ok(keys.includes('service.name'));
  assert.deepEqual([...s.resource_attribute_keys].sort(), keys);
  assert.equal(s.export_lag.sample_count, 2);
  assert.equal(s.export_lag.clock_skew_sample_count, 0);
  assert.ok(s.export_lag.max_seconds >= 0 && s.export_lag.max_seconds < 60, `max lag ${s.export_lag.max_seconds}`);
  assert.ok(s.export_lag.average_seconds >= 0 && s.export_lag.average_seconds <= s.export_lag.max_seconds);
  assert.ok(s.export_lag.p95_seconds <= s.export_lag.max_seconds + 1e-9);
});

test('a trace whose summary is known: orphans, violations, overlaps, errors, duplicates', async () => {
  const run = (await api.post('/v1/runs', { display_name: 'summary' })).json.run;
  const sim = (await api.post('/v1/simulations', { run_id: run.run_id, simulation_id: 'sum-1' })).json.simulation;

  // Ten minutes ago, on a whole millisecond, so every export lag is about 600 s.
  const base = (nowNs() / MS - 600_000n) * MS;
  const at = (ms) => base + BigInt(ms) * MS;
  const tA = hex(16);
  const tB = hex(16);
  // A span of trace A: [name, parent, start ms, end ms, status, message].
  const mk = (name, parent, s, e, status, message) =>
    ({ traceId: tA, spanId: hex(8), parentSpanId: parent, name, start: at(s), end: at(e), status, message });
  const R = mk('conversation', undefined, 0, 1000);
  const L1 = mk('llm', R.spanId, 100, 300, 'OK');
  const L2 = mk('llm', R.spanId, 200, 420, 'ERROR', 'rate limited');
  const L3 = mk('llm', R.spanId, 700, 750, 'OK');
  const T1 = mk('tool', L1.spanId, 50, 150); // starts 50 ms before its parent L1
  const S = mk('tts', R.spanId, 500, 630);
  const S2 = mk('tts.chunk', S.spanId, 550, 660); // ends 30 ms after its parent S
  const O = mk('vad', hex(8), 800, 890, 'ERROR', 'vad crashed'); // its parent was never sent
  const X = { traceId: tB, spanId: hex(8), name: 'transport', start: at(0), end: at(500) };
  const traceA = [R, L1, L2, L3, T1, S, S2, O];

  const agentResource = { 'service.name': 'my-agent', 'agent.name': 'booker', 'coval.agent_type': 'voice' };
  const transportResource = { 'service.name': 'transport', 'deployment.environment': 'staging' };
  const body = {
    resourceSpans: [
      ...otlpRequest(traceA.map(span), { resource: agentResource }).resourceSpans,
      ...otlpRequest([span(X)], { resource: transportResource, scope: { name: 'livekit' } }).resourceSpans,
    ],
  };
  const first = await ingestOk(server, key, { sim: sim.simulation_id }, body);
  assert.equal(first.accepted_spans, 9);
  // The exporter re-sends three spans after a lost response.
  const again = await ingestOk(server, key, { sim: sim.simulation_id }, {
    resourceSpans: [
      ...otlpRequest([span(L1), span(L2)], { resource: agentResource }).resourceSpans,
      ...otlpRequest([span(X)], { resource: transportResource, scope: { name: 'livekit' } }).resourceSpans,
    ],
  });
  assert.equal(again.duplicate_spans, 3);

  const { target, trace_summary: s } = await summary({ simulation_id: sim.simulation_id });
  assert.deepEqual(target, { type: 'simulation', id: 'sum-1' });
  assert.equal(s.simulation_output_id, 'sum-1');
  assert.equal(s.run_id, run.run_id);
  assert.equal(s.total_spans, 9);
  assert.equal(s.unique_span_count, 9);
  assert.equal(s.duplicate_span_count, 3);
  assert.equal(s.trace_count, 2);
  assert.equal(s.root_span_count, 2, 'conversation and transport; the orphan has a parent id');
  assert.equal(s.orphan_span_count, 1);
  assert.equal(s.child_timing_violation_count, 2);
  assert.deepEqual(s.status_counts, { UNSET: 5, OK: 2, ERROR: 2 });
  near(s.duration_ms, 1000, 'duration_ms');

  const want = {
    conversation: { count: 1, total: 1000, pct: 100, errors: 0 },
    // [100,300] and [200,420] overlap: their union is 320 ms, plus 50 ms = 37 %.
    llm: { count: 3, total: 470, pct: 37, errors: 1 },
    tool: { count: 1, total: 100, pct: 10, errors: 0 },
    tts: { count: 1, total: 130, pct: 13, errors: 0 },
    'tts.chunk': { count: 1, total: 110, pct: 11, errors: 0 },
    vad: { count: 1, total: 90, pct: 9, errors: 1 },
    transport: { count: 1, total: 500, pct: 50, errors: 0 },
  };
  assert.deepEqual(s.span_groups.map((g) => g.name).sort(), Object.keys(want).sort());
  for (const g of s.span_groups) {
    const w = want[g.name];
    assert.equal(g.count, w.count, `${g.name} count`);
    near(g.total_duration_ms, w.total, `${g.name} total_duration_ms`);
    near(g.time_percent, w.pct, `${g.name} time_percent`, 1e-6);
    assert.equal(g.error_count, w.errors, `${g.name} error_count`);
  }

  assert.deepEqual(
    s.slowest_spans.map((x) => [x.name, x.span_id]),
    [['conversation', R.spanId], ['transport', X.spanId], ['llm', L2.spanId], ['llm', L1.spanId], ['tts', S.spanId]],
  );
  near(s.slowest_spans[2].duration_ms, 220, 'slowest duration_ms');
  assert.deepEqual(
    s.error_spans.map((x) => x.span_id).sort(),
    [L2.spanId, O.spanId].sort(),
  );
  const vad = s.error_spans.find((x) => x.span_id === O.spanId);
  assert.equal(vad.name, 'vad');
  assert.equal(vad.status_message, 'vad crashed');
  assert.equal(vad.parent_span_id, O.parentSpanId);
  near(vad.start_offset_ms, 800, 'start_offset_ms');
  near(vad.duration_ms, 90, 'error span duration_ms');
  assert.equal(s.slowest_spans[0].status_code, 'UNSET');
  assert.equal(s.start_time_unix_nano, String(at(0)));
  assert.equal(s.end_time_unix_nano, String(at(1000)));
  // Groups come longest first (by total duration).
  assert.deepEqual(s.span_groups.map((g) => g.name),
    ['conversation', 'transport', 'llm', 'tts', 'tts.chunk', 'tool', 'vad']);

  assert.deepEqual(
    [...s.resource_attribute_keys].sort(),
    ['agent.name', 'coval.agent_type', 'deployment.environment', 'service.name'],
  );

  // Every span ended 599-600 s before it was received; no clock skew.
  assert.equal(s.export_lag.sample_count, 9);
  assert.equal(s.export_lag.clock_skew_sample_count, 0);
  for (const f of ['average_seconds', 'p95_seconds', 'max_seconds']) {
    assert.ok(s.export_lag[f] >= 599 && s.export_lag[f] < 700, `${f} ${s.export_lag[f]}`);
  }
  assert.ok(s.export_lag.average_seconds <= s.export_lag.p95_seconds + 1e-9);
  assert.ok(s.export_lag.p95_seconds <= s.export_lag.max_seconds + 1e-9);
});

test('export lag counts spans from a clock running ahead as skew', async () => {
  const run = (await api.post('/v1/runs', { display_name: 'skew' })).json.run;
  const sim = (await api.post('/v1/simulations', { run_id: run.run_id })).json.simulation;
  const now = nowNs();
  const t = hex(16);
  await ingestOk(server, key, { sim: sim.simulation_id }, otlpRequest([
    span({ traceId: t, name: 'past', start: now - 6_000n * MS, end: now - 5_000n * MS }),
    // Ends two minutes after the server receives it: the agent's clock is ahead.
    span({ traceId: t, name: 'ahead', start: now + 119_000n * MS, end: now + 120_000n * MS }),
  ]));
  const { trace_summary: s } = await summary({ simulation_id: sim.simulation_id });
  assert.equal(s.total_spans, 2);
  assert.equal(s.export_lag.sample_count, 2);
  assert.equal(s.export_lag.clock_skew_sample_count, 1);
  assert.ok(s.export_lag.max_seconds >= 5 && s.export_lag.max_seconds < 30, `max ${s.export_lag.max_seconds}`);
  // The trace spans both: from the first start to the last end.
  near(s.duration_ms, 126_000, 'duration_ms', 1e-3);
});

test('summary of a target without spans, and its errors', async () => {
  const run = (await api.post('/v1/runs', { display_name: 'empty' })).json.run;
  const sim = (await api.post('/v1/simulations', { run_id: run.run_id })).json.simulation;
  const { trace_summary: s } = await summary({ simulation_id: sim.simulation_id });
  assert.equal(s.total_spans, 0);
  assert.equal(s.unique_span_count, 0);
  assert.equal(s.trace_count, 0);
  assert.equal(s.root_span_count, 0);
  assert.deepEqual(s.status_counts, { UNSET: 0, OK: 0, ERROR: 0 });
  assert.deepEqual(s.span_groups, []);
  assert.deepEqual(s.slowest_spans, []);
  assert.deepEqual(s.error_spans, []);
  assert.deepEqual(s.resource_attribute_keys, []);
  assert.deepEqual(s.export_lag, {
    sample_count: 0, clock_skew_sample_count: 0, average_seconds: null, p95_seconds: null, max_seconds: null,
  });
  assert.equal(s.duration_ms, 0);
  assert.equal(s.start_time_unix_nano, null);

  assertApiError(await api.get('/v1/traces/summary'), 400, 'INVALID_ARGUMENT');
  assertApiError(
    await api.get(`/v1/traces/summary?simulation_id=${sim.simulation_id}&conversation_id=x`), 400, 'INVALID_ARGUMENT');
  assertApiError(await api.get('/v1/traces/summary?simulation_id=no-such-sim'), 404, 'NOT_FOUND');
  assertApiError(await api.get('/v1/traces/summary?conversation_id=01HZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'NOT_FOUND');
});
