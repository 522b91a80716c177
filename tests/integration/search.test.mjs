// POST /v1/traces/search (DESIGN.md 5.4, API-FACTS.md): five calls (three simulations of two
// runs, two conversations) whose spans are known, then every filter on its own (time range,
// span_name, provider, status, each attribute operator, duration bounds, agent_id,
// test_set_id), each sort_by, cursor paging across pages, the item fields, aggregate_stats, and
// the validation errors with the field they name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { assertApiError, ingestOk, otlpRequest, span, hex, nowNs, MS } from './lib/otlp_json.mjs';

let server;
let api;
const ID = {}; // label -> call id
const LABEL = {}; // call id -> label
let T; // base time, ns
let runs; // {R1, R2}

const MIN = 60_000n * MS;

/** Spans of one call: [name, startMs, endMs, status, attributes] relative to `base`. */
function callSpans(base, rows) {
  const t = hex(16);
  const rootId = hex(8);
  return rows.map(([name, s, e, status, attributes], i) => span({
    traceId: t,
    spanId: i === 0 ? rootId : hex(8),
    parentSpanId: i === 0 ? undefined : rootId,
    name,
    start: base + BigInt(s) * MS,
    end: base + BigInt(e) * MS,
    status,
    message: status === 'ERROR' ? `${name} failed` : undefined,
    attributes,
  }));
}

before(async () => {
  server = await startServer();
  await server.createOrg('searcher');
  const key = await server.createKey('searcher');
  api = server.client(key);
  T = (nowNs() / MS - 7_200_000n) * MS; // two hours ago, on a whole millisecond

  const R1 = (await api.post('/v1/runs', { display_name: 'r1' })).json.run.run_id;
  const R2 = (await api.post('/v1/runs', { display_name: 'r2' })).json.run.run_id;
  runs = { R1, R2 };
  const sim = async (label, runId, metadata) => {
    const r = await api.post('/v1/simulations', { run_id: runId, simulation_id: `sim-${label}`, metadata });
    assert.equal(r.status, 200, r.text);
    ID[label] = r.json.simulation.simulation_id;
  };
  const conv = async (label, agentId) => {
    const body = { transcript: [{ role: 'user', content: label }], agent_id: agentId };
    const r = await api.post('/v1/conversations:submit', body);
    assert.equal(r.status, 200, r.text);
    ID[label] = r.json.conversation.conversation_id;
  };
  await sim('S1', R1, { agent_id: 'agent-sim', test_set_id: 'ts-1' });
  await sim('S2', R1, { test_set_id: 'ts-2' });
  await sim('S3', R2, {});
  await sim('S4', R2, {}); // no spans: never a search result
  await conv('C1', 'agent-a');
  await conv('C2', 'agent-b');
  for (const [k, v] of Object.entries(ID)) LABEL[v] = k;

  const agentRes = { resource: { 'service.name': 'agent-s' } };
  await ingestOk(server, key, { sim: ID.S1 }, otlpRequest(callSpans(T, [
    ['stt', 0, 400, 'UNSET', { transcript: 'hello there', 'stt.confidence': 0.9 }],
    ['stt.provider.deepgram', 10, 300, 'ERROR', { 'stt.providerName': 'deepgram' }],
    ['llm', 500, 900, 'OK',
      { 'metrics.ttfb': 0.42, 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 812 }],
    ['tts', 950, 1150, 'UNSET', { 'metrics.ttfb': 0.18 }],
  ]), agentRes));
  await ingestOk(server, key, { sim: ID.S2 }, otlpRequest(callSpans(T + 10n * MIN, [
    ['llm', 0, 1500, 'ERROR',
      { 'metrics.ttfb': 1.2, 'gen_ai.request.model': 'Claude-3-Haiku', 'gen_ai.system': 'anthropic' }],
    ['tts', 1600, 1700, 'OK', { 'metrics.ttfb': 0.3, 'tts.voice': 'alloy' }],
  ]), agentRes));
  await ingestOk(server, key, { sim: ID.S3 }, otlpRequest(callSpans(T + 20n * MIN, [
    ['stt', 0, 250, 'OK', {}],
    ['stt.provider.google', 0, 250, 'OK', { 'stt.providerName': 'google', 'stt.confidence': 0.95 }],
    ['llm', 300, 350, 'UNSET', { 'metrics.ttfb': 0.3, tags: ['fast', 'cheap'] }],
  ]), agentRes));
  await ingestOk(server, key, { conv: ID.C1 }, otlpRequest(callSpans(T + 30n * MIN, [
    ['llm', 0, 800, 'OK', { 'metrics.ttfb': 0.8 }],
  ]), { resource: { 'service.name': 'prod-agent' }, scope: { name: 'livekit-agents', version: '1.0' } }));
  await ingestOk(server, key, { conv: ID.C2 }, otlpRequest(callSpans(T + 40n * MIN, [
    ['tts', 0, 2000, 'ERROR', { 'metrics.ttfb': 2.5 }],
  ]), { resource: { 'service.name': 'prod-agent' } }));
});

after(async () => {
  if (server) await server.stop();
});

async function search(body) {
  const r = await api.post('/v1/traces/search', body);
  assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
  assert.ok(Array.isArray(r.json.items), r.text);
  return r.json;
}

/** The labels of every item the filters match, following cursors, in answer order. */
async function labels(filters, limit = 100) {
  const out = [];
  let cursor;
  for (let page = 0; page < 20; page++) {
    const res = await search({ limit, filters, ...(cursor ? { cursor } : {}) });
    out.push(...res.items.map((i) => LABEL[i.simulation_output_id] ?? i.simulation_output_id));
    cursor = res.next_cursor;
    if (!cursor) return out;
  }
  throw new Error('more than 20 pages');
}

const iso = (ns) => new Date(Number(ns / MS)).toISOString();

test('no filters: every call with spans, newest first, with its figures', async () => {
  const res = await search({});
  assert.equal(res.total_count, 5);
  assert.deepEqual(res.items.map((i) => LABEL[i.simulation_output_id]), ['C2', 'C1', 'S3', 'S2', 'S1']);
  assert.ok(!res.next_cursor, `next_cursor on the only page: ${res.next_cursor}`);
  // S1, S2 and C2 have an ERROR span.
  assert.equal(res.aggregate_stats.error_count, 3);
  assert.ok(Math.abs(res.aggregate_stats.error_rate - 0.6) < 1e-9, `error_rate ${res.aggregate_stats.error_rate}`);

  const s1 = res.items.find((i) => i.simulation_output_id === ID.S1);
  assert.equal(s1.run_id, runs.R1);
  assert.equal(s1.first_matched_timestamp_ms, Number(T / MS));
  assert.equal(s1.latest_matched_timestamp_ms, Number(T / MS) + 950);
  assert.equal(s1.matched_span_count, 4);
  assert.equal(s1.total_span_count, 4);
  assert.equal(s1.error_span_count, 1);
  assert.equal(s1.ok_span_count, 1);
  assert.equal(s1.unset_span_count, 2);
  assert.equal(s1.overall_status, 'ERROR');
  assert.deepEqual(s1.matched_span_names, ['llm', 'stt', 'stt.provider.deepgram', 'tts']);
  assert.deepEqual(s1.matched_provider_names, ['deepgram']);
  assert.deepEqual(s1.matched_service_names, ['agent-s']);
  assert.deepEqual(s1.matched_scope_names, ['my-agent']);

  const s3 = res.items.find((i) => i.simulation_output_id === ID.S3);
  assert.equal(s3.run_id, runs.R2);
  assert.equal(s3.overall_status, 'OK');
  assert.deepEqual([s3.error_span_count, s3.ok_span_count, s3.unset_span_count], [0, 2, 1]);
  const c1 = res.items.find((i) => i.simulation_output_id === ID.C1);
  assert.equal(c1.run_id ?? null, null, 'a conversation has no run');
  assert.deepEqual(c1.matched_service_names, ['prod-agent']);
  assert.deepEqual(c1.matched_scope_names, ['livekit-agents']);
  assert.equal(c1.overall_status, 'OK');
});

test('span_name', async () => {
  assert.deepEqual(await labels({ span_name: 'llm' }), ['C1', 'S3', 'S2', 'S1']);
  assert.deepEqual(await labels({ span_name: 'stt.provider.google' }), ['S3']);
  assert.deepEqual(await labels({ span_name: 'no-such-span' }), []);
  const res = await search({ filters: { span_name: 'llm' } });
  assert.equal(res.total_count, 4);
  const s1 = res.items.find((i) => i.simulation_output_id === ID.S1);
  assert.equal(s1.matched_span_count, 1);
  assert.equal(s1.total_span_count, 4, 'totals count every span of the call');
  assert.deepEqual(s1.matched_span_names, ['llm']);
  assert.equal(s1.first_matched_timestamp_ms, Number(T / MS) + 500);
  assert.equal(s1.latest_matched_timestamp_ms, Number(T / MS) + 500);
});

test('provider', async () => {
  assert.deepEqual(await labels({ provider: 'deepgram' }), ['S1']);
  assert.deepEqual(await labels({ provider: 'google' }), ['S3']);
  assert.deepEqual(await labels({ provider: 'azure' }), []);
  const res = await search({ filters: { provider: 'deepgram' } });
  assert.deepEqual(res.items[0].matched_span_names, ['stt.provider.deepgram']);
  assert.deepEqual(res.items[0].matched_provider_names, ['deepgram']);
  assert.equal(res.items[0].matched_span_count, 1);
});

test('status', async () => {
  assert.deepEqual(await labels({ status: 'ERROR' }), ['C2', 'S2', 'S1']);
  assert.deepEqual(await labels({ status: 'OK' }), ['C1', 'S3', 'S2', 'S1']);
  assert.deepEqual(await labels({ status: 'UNSET' }), ['S3', 'S1']);
  const err = await search({ filters: { status: 'ERROR' } });
  assert.equal(err.aggregate_stats.error_count, 3);
  assert.equal(err.aggregate_stats.error_rate, 1);
  const ok = await search({ filters: { status: 'OK' } });
  assert.equal(ok.items.find((i) => i.simulation_output_id === ID.S3).matched_span_count, 2);
});

test('attribute filters: every operator', async () => {
  const f = (key, operator, value) =>
    ({ attribute_filters: [{ key, operator, ...(value !== undefined ? { value } : {}) }] });
  assert.deepEqual(await labels(f('gen_ai.request.model', 'eq', 'gpt-4o-mini')), ['S1']);
  assert.deepEqual(await labels(f('gen_ai.request.model', 'eq', 'gpt-4o')), [], 'eq is not a prefix match');
  assert.deepEqual(await labels(f('gen_ai.usage.input_tokens', 'eq', 812)), ['S1']);
  assert.deepEqual(await labels(f('gen_ai.request.model', 'contains', 'Haiku')), ['S2']);
  assert.deepEqual(await labels(f('gen_ai.request.model', 'contains', '4o')), ['S1']);
  assert.deepEqual(await labels(f('stt.confidence', 'exists')), ['S3', 'S1']);
  assert.deepEqual(await labels(f('tts.voice', 'exists')), ['S2']);
  assert.deepEqual(await labels(f('metrics.ttfb', 'gt', 0.8)), ['C2', 'S2']);
  assert.deepEqual(await labels(f('metrics.ttfb', 'gte', 0.8)), ['C2', 'C1', 'S2']);
  assert.deepEqual(await labels(f('metrics.ttfb', 'lt', 0.3)), ['S1']);
  assert.deepEqual(await labels(f('metrics.ttfb', 'lte', 0.3)), ['S3', 'S2', 'S1']);
  assert.deepEqual(await labels(f('metrics.ttfb', 'gt', 100)), []);
  // Several filters must hold for the same span.
  assert.deepEqual(await labels({
    attribute_filters: [
      { key: 'metrics.ttfb', operator: 'gte', value: 0.3 },
      { key: 'gen_ai.request.model', operator: 'exists' },
    ],
  }), ['S2', 'S1']);
  assert.deepEqual(await labels({
    attribute_filters: [
      { key: 'tts.voice', operator: 'exists' },
      { key: 'metrics.ttfb', operator: 'gte', value: 1.0 },
    ],
  }), [], "S2's voice and its slow ttfb are on different spans");
  // Combined with the other span filters.
  assert.deepEqual(await labels({ span_name: 'tts', ...f('metrics.ttfb', 'lte', 0.3) }), ['S2', 'S1']);
  const hit = await search({ filters: f('metrics.ttfb', 'lte', 0.3) });
  const s1 = hit.items.find((i) => i.simulation_output_id === ID.S1);
  assert.deepEqual(s1.matched_span_names, ['tts']);
  assert.equal(s1.matched_span_count, 1);
});

test('duration bounds', async () => {
  assert.deepEqual(await labels({ duration_ms_min: 1000 }), ['C2', 'S2']);
  assert.deepEqual(await labels({ duration_ms_max: 60 }), ['S3']);
  assert.deepEqual(await labels({ duration_ms_min: 240, duration_ms_max: 410 }), ['S3', 'S1']);
  const res = await search({ filters: { duration_ms_min: 240, duration_ms_max: 410 } });
  const s1 = res.items.find((i) => i.simulation_output_id === ID.S1);
  // stt 400, its deepgram attempt 290, llm 400; not tts (200).
  assert.deepEqual(s1.matched_span_names, ['llm', 'stt', 'stt.provider.deepgram']);
  assert.equal(s1.matched_span_count, 3);
});

test('time range', async () => {
  assert.deepEqual(await labels({ start_date: iso(T + 5n * MIN), end_date: iso(T + 25n * MIN) }), ['S3', 'S2']);
  assert.deepEqual(await labels({ end_date: iso(T + 5n * MIN) }), ['S1']);
  assert.deepEqual(await labels({ start_date: iso(T + 35n * MIN) }), ['C2']);
  assert.deepEqual(await labels({ start_date: iso(T + 50n * MIN) }), []);
  // A range cutting through S1's spans matches only the spans inside it.
  const res = await search({ filters: { start_date: iso(T + 400n * MS), end_date: iso(T + 2n * MIN) } });
  assert.deepEqual(res.items.map((i) => LABEL[i.simulation_output_id]), ['S1']);
  assert.deepEqual(res.items[0].matched_span_names, ['llm', 'tts']);
});

test('agent_id and test_set_id', async () => {
  assert.deepEqual(await labels({ agent_id: 'agent-a' }), ['C1']);
  assert.deepEqual(await labels({ agent_id: 'agent-b', status: 'ERROR' }), ['C2']);
  assert.deepEqual(await labels({ agent_id: 'agent-b', status: 'OK' }), []);
  assert.deepEqual(await labels({ agent_id: 'nobody' }), []);
  assert.deepEqual(await labels({ test_set_id: 'ts-2' }), ['S2']);
  assert.deepEqual(await labels({ test_set_id: 'ts-1', span_name: 'llm' }), ['S1']);
  const res = await search({ filters: { agent_id: 'agent-a' } });
  assert.equal(res.total_count, 1);
  assert.equal(res.aggregate_stats.error_count, 0);
  assert.equal(res.aggregate_stats.error_rate, 0);
});

test('each sort_by', async () => {
  // llm spans: S1 400 ms at T+500ms, S2 1500 ms at T+10min, S3 50 ms at T+20min, C1 800 ms at T+30min.
  const by = (sort_by) => labels({ span_name: 'llm', sort_by });
  assert.deepEqual(await by('newest'), ['C1', 'S3', 'S2', 'S1']);
  assert.deepEqual(await by('oldest'), ['S1', 'S2', 'S3', 'C1']);
  assert.deepEqual(await by('slowest'), ['S2', 'C1', 'S1', 'S3']);
  assert.deepEqual(await by('fastest'), ['S3', 'S1', 'C1', 'S2']);
  assert.deepEqual(await labels({ sort_by: 'oldest' }), ['S1', 'S2', 'S3', 'C1', 'C2']);
  assert.deepEqual(await labels({ sort_by: 'slowest' }), ['C2', 'S2', 'C1', 'S1', 'S3']);
});

test('cursor paging across pages', async () => {
  const seen = [];
  let cursor = '';
  const pages = [];
  for (;;) {
    const res = await search({ limit: 2, ...(cursor ? { cursor } : {}) });
    assert.equal(res.total_count, 5, 'total_count is the whole result on every page');
    assert.equal(res.aggregate_stats.error_count, 3, 'aggregates cover the whole result');
    pages.push(res.items.length);
    seen.push(...res.items.map((i) => LABEL[i.simulation_output_id]));
    cursor = res.next_cursor;
    if (!cursor) break;
    assert.equal(typeof cursor, 'string');
  }
  assert.deepEqual(pages, [2, 2, 1]);
  assert.deepEqual(seen, ['C2', 'C1', 'S3', 'S2', 'S1']);

  // One item per page, slowest first, across a filter.
  assert.deepEqual(await labels({ span_name: 'llm', sort_by: 'slowest' }, 1), ['S2', 'C1', 'S1', 'S3']);
  assert.deepEqual(await labels({ sort_by: 'oldest' }, 3), ['S1', 'S2', 'S3', 'C1', 'C2']);

  // The cursor carries the position: page two of the same search continues where page one ended.
  const first = await search({ limit: 2, filters: { sort_by: 'oldest' } });
  assert.deepEqual(first.items.map((i) => LABEL[i.simulation_output_id]), ['S1', 'S2']);
  const second = await search({ limit: 2, cursor: first.next_cursor, filters: { sort_by: 'oldest' } });
  assert.deepEqual(second.items.map((i) => LABEL[i.simulation_output_id]), ['S3', 'C1']);

  // The default limit is 25; a search without a body is a search without filters.
  const raw = await api.request('POST', '/v1/traces/search');
  assert.equal(raw.status, 200, raw.text);
  assert.equal(raw.json.total_count, 5);
});

test('the details docs/api.md gives', async () => {
  // aggregate_stats counts calls whose overall status is ERROR over all their spans: S1's llm
  // is OK but its deepgram attempt failed.
  const llm = await search({ filters: { span_name: 'llm' } });
  assert.equal(llm.aggregate_stats.error_count, 2);
  assert.equal(llm.aggregate_stats.error_rate, 0.5);
  // A trailing * matches a name prefix; provider ignores case.
  assert.deepEqual(await labels({ span_name: 'stt.provider.*' }), ['S3', 'S1']);
  assert.deepEqual(await labels({ provider: 'GOOGLE' }), ['S3']);
  assert.deepEqual(await labels({ provider: 'anthropic' }), ['S2'], 'gen_ai.system names a provider');
  // An attribute key the span lacks is looked up on its resource.
  const one = (key, operator, value) => ({ attribute_filters: [{ key, operator, value }] });
  assert.deepEqual(await labels(one('service.name', 'eq', 'prod-agent')), ['C2', 'C1']);
  // eq: a number equals a numeric string; contains: an element of an array attribute, or a
  // substring ignoring case.
  assert.deepEqual(await labels(one('gen_ai.usage.input_tokens', 'eq', '812')), ['S1']);
  assert.deepEqual(await labels(one('tags', 'contains', 'cheap')), ['S3']);
  assert.deepEqual(await labels(one('gen_ai.request.model', 'contains', 'haiku')), ['S2']);
  // Dates as epoch milliseconds and as plain dates.
  const ms = Number(T / MS);
  assert.deepEqual(await labels({ start_date: ms + 5 * 60_000, end_date: ms + 25 * 60_000 }), ['S3', 'S2']);
  const day = iso(T).slice(0, 10);
  const all = await labels({ start_date: day, end_date: day });
  const tomorrow = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
  const after = await labels({ start_date: tomorrow });
  assert.deepEqual([...all, ...after].sort(), ['C1', 'C2', 'S1', 'S2', 'S3'], 'the two days cover every call once');
  // Item fields.
  const res = await search({ filters: { sort_by: 'slowest' } });
  const c2 = res.items[0];
  assert.equal(c2.simulation_output_id, ID.C2);
  assert.equal(c2.conversation_id, ID.C2);
  assert.equal(c2.target_type, 'conversation');
  assert.equal(c2.max_matched_duration_ms, 2000);
  const s2 = res.items[1];
  assert.equal(s2.target_type, 'simulation');
  assert.equal(s2.conversation_id, undefined);
  assert.equal(s2.max_matched_duration_ms, 1500);
  // limit above 100 is 100, 0 is the default.
  assert.equal((await api.post('/v1/traces/search', { limit: 1000 })).status, 200);
  assert.equal((await search({ limit: 0 })).items.length, 5);
});

test('invalid searches name the field', async () => {
  const bad = async (body, field) =>
    assertApiError(await api.post('/v1/traces/search', body), 400, 'INVALID_ARGUMENT', field);
  await bad({ limit: -1 }, 'limit');
  await bad({ limit: 'ten' }, 'limit');
  await bad({ limit: 2.5 }, 'limit');
  await bad({ cursor: 5 }, 'cursor');
  await bad({ cursor: 'not-a-cursor!' }, 'cursor');
  await bad({ filters: [] }, 'filters');
  await bad({ filters: { status: 'FAILED' } }, 'filters.status');
  await bad({ filters: { sort_by: 'random' } }, 'filters.sort_by');
  await bad({ filters: { start_date: 'yesterday' } }, 'filters.start_date');
  await bad({ filters: { end_date: '2025-13-01' } }, 'filters.end_date');
  await bad({ filters: { duration_ms_min: -5 } }, 'filters.duration_ms_min');
  await bad({ filters: { duration_ms_max: 'long' } }, 'filters.duration_ms_max');
  await bad({ filters: { span_name: 7 } }, 'filters.span_name');
  await bad({ filters: { provider: ['deepgram'] } }, 'filters.provider');
  await bad({ filters: { agent_id: {} } }, 'filters.agent_id');
  await bad({ filters: { test_set_id: 3 } }, 'filters.test_set_id');
  await bad({ filters: { attribute_filters: {} } }, 'filters.attribute_filters');
  await bad({ filters: { attribute_filters: Array.from({ length: 11 }, () => ({ key: 'k', operator: 'exists' })) } },
    'filters.attribute_filters');
  await bad({ filters: { attribute_filters: [{ key: 'k', operator: 'like', value: 'x' }] } },
    'filters.attribute_filters[0].operator');
  await bad({ filters: { attribute_filters: [{ key: 'k', operator: 'exists' }, { operator: 'exists' }] } },
    'filters.attribute_filters[1].key');
  await bad({ filters: { attribute_filters: [{ key: 'metrics.ttfb', operator: 'gt', value: 'fast' }] } },
    'filters.attribute_filters[0].value');
  // Ten attribute filters are allowed.
  const ten = await api.post('/v1/traces/search', {
    filters: { attribute_filters: Array.from({ length: 10 }, () => ({ key: 'metrics.ttfb', operator: 'exists' })) },
  });
  assert.equal(ten.status, 200, ten.text);
  assert.equal(ten.json.total_count, 5);

  // A cursor belongs to its sort order.
  const page = await search({ limit: 1 });
  assert.ok(page.next_cursor);
  await bad({ limit: 1, cursor: page.next_cursor, filters: { sort_by: 'slowest' } }, 'cursor');

  const r = await api.request('POST', '/v1/traces/search',
    { body: '{"filters":', headers: { 'Content-Type': 'application/json' } });
  assertApiError(r, 400, 'INVALID_ARGUMENT');
});
