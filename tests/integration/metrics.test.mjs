// Metrics (DESIGN.md 5.6) through HTTP: the seed's custom trace metric (span `llm`, attribute
// `metrics.ttfb`) with every aggregation on a simulation whose llm spans the real JS SDK exported,
// duration values, prefix span names, numeric strings, target conditions, a metric on spans that
// do not exist, the built-in metrics, STT word error rate on known transcripts, conversation and
// run outputs, late spans, validation errors and org isolation. Every expected value is computed
// here from the data the test sent (percentiles as numpy's default linear interpolation), or by
// hand where the comment says so.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, readResponse } from './lib/server.mjs';
import { emitTree, sdkExport } from './lib/otel.mjs';
import { assertApiError, listAll, otlpRequest, span, nowNs, MS } from './lib/otlp_json.mjs';

let server;
let key;
let api;
let rivalKey;
let rivalApi;
let runId;

const enc = encodeURIComponent;
const TOL = 1e-9;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

// ---------------------------------------------------------------------------------------------
// Reference arithmetic.

const sum = (v) => v.reduce((a, b) => a + b, 0);
const mean = (v) => sum(v) / v.length;
/** numpy.percentile(v, p) with the default linear method: rank = p/100 * (n-1). */
function percentile(v, p) {
  const s = [...v].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

function approx(got, want, what) {
  assert.equal(typeof got, 'number', `${what}: value ${JSON.stringify(got)} is not a number`);
  assert.ok(Math.abs(got - want) <= TOL * Math.max(1, Math.abs(want)), `${what}: ${got} != ${want}`);
}

// ---------------------------------------------------------------------------------------------
// Traces as data: spans laid out one after another (10 ms apart) under a conversation root;
// children run inside their parent, back to back from its start.

function layout(items, t0) {
  const nodes = [];
  let t = t0;
  for (const it of items) {
    const node = { name: it.name, start: t, end: t + it.ms, attributes: it.attributes ?? {} };
    if (it.error) node.status = 'ERROR';
    if (it.children) node.children = layout(it.children, t).nodes;
    nodes.push(node);
    t = node.end + 10;
  }
  return { nodes, end: t };
}

function callTree(items) {
  const { nodes, end } = layout(items, 0);
  return { name: 'conversation', start: 0, end, children: nodes };
}

let baseNs = BigInt(Date.now() - 3_600_000) * 1_000_000n;

/** Exports one call's spans with the SDK to a simulation or conversation. */
async function sendCall(target, items) {
  const base = baseNs;
  baseNs += 120_000_000_000n;
  return sdkExport(server, key, target, (tracer) => emitTree(tracer, base, callTree(items)));
}

// The seed's example, on simulation m-llm: seven llm spans with metrics.ttfb (one a numeric
// string), two of them ERROR; their durations; tokens. Plus spans whose names only look alike.
const LLM = [
  { ttfb: 0.42, ms: 800, input: 812, output: 64 },
  { ttfb: 0.31, ms: 1100, input: 640, output: 32 },
  { ttfb: 0.95, ms: 2400, input: 1024, output: 128, error: true },
  { ttfb: 0.2, ms: 600, input: 300, output: 16 },
  { ttfb: 0.5, ms: 1000, input: 410, output: 40 },
  { ttfb: '0.7', ms: 1500, input: 520, output: 51 },
  { ttfb: 1.25, ms: 3200, input: 999, output: 7, error: true },
];
const LLM_TTFB = LLM.map((l) => Number(l.ttfb));
const LLM_SECONDS = LLM.map((l) => l.ms / 1000);
const STT_TTFB = [0.5, 0.35];
const TTS_TTFB = [0.18, 0.22, 0.3];
// stt.provider.* spans: durations and (for three of the four) metrics.ttfb, one as a string.
const PROVIDERS = [
  { name: 'stt.provider.deepgram', ms: 400, ttfb: 0.3, error: true },
  { name: 'stt.provider.google', ms: 250, ttfb: 0.12 },
  { name: 'stt.provider.azure', ms: 500, ttfb: '0.25' },
  { name: 'stt.provider.assembly', ms: 300 },
];

const llmSpan = (l) => ({
  name: 'llm',
  ms: l.ms,
  error: l.error,
  attributes: {
    'metrics.ttfb': l.ttfb,
    'gen_ai.usage.input_tokens': l.input,
    'gen_ai.usage.output_tokens': l.output,
  },
});
const provider = (p) => ({
  name: p.name, ms: p.ms, error: p.error, attributes: p.ttfb === undefined ? {} : { 'metrics.ttfb': p.ttfb },
});

const M_LLM_CALL = [
  { name: 'turn', ms: 6000, children: [
    { name: 'stt', ms: 800, attributes: { 'metrics.ttfb': STT_TTFB[0], transcript: 'hello there' },
      children: [provider(PROVIDERS[0]), provider(PROVIDERS[1])] },
    { ...llmSpan(LLM[0]), children: [{ name: 'llm_tool_call', ms: 100, attributes: { 'function.name': 'lookup' } }] },
    { name: 'tts', ms: 500, attributes: { 'metrics.ttfb': TTS_TTFB[0] } },
  ] },
  { name: 'turn', ms: 9000, children: [
    { name: 'stt', ms: 900, attributes: { 'metrics.ttfb': STT_TTFB[1], transcript: 'book it' },
      children: [provider(PROVIDERS[2]), provider(PROVIDERS[3])] },
    // Not a provider span: the prefix is "stt.provider.", dot included.
    { name: 'stt.providerX', ms: 900, attributes: { 'metrics.ttfb': 7 } },
    llmSpan(LLM[1]),
    { ...llmSpan(LLM[2]), children: [{ name: 'llm_tool_call', ms: 100 }] },
    { name: 'tool_call', ms: 200, attributes: { 'tool.name': 'book_table' } },
    { name: 'tool_call_result', ms: 100 },
    { name: 'tts', ms: 500, attributes: { 'metrics.ttfb': TTS_TTFB[1] } },
  ] },
  { name: 'turn', ms: 12000, children: [
    llmSpan(LLM[3]),
    llmSpan(LLM[4]),
    llmSpan(LLM[5]),
    llmSpan(LLM[6]),
    // Names that start like llm but are not it: exact names match exactly.
    { name: 'llm.retry', ms: 100, attributes: { 'metrics.ttfb': 99, 'gen_ai.usage.input_tokens': 1000 } },
    { name: 'llm_tool_call_result', ms: 100 },
    { name: 'tts', ms: 300, attributes: { 'metrics.ttfb': TTS_TTFB[2] } },
  ] },
];

const BUILTIN_IDS = [
  'llm_ttfb', 'stt_ttfb', 'tts_ttfb', 'llm_input_tokens', 'llm_output_tokens', 'tool_call_count',
  'stt_wer', 'stt_wer_audio_upload',
];

// ---------------------------------------------------------------------------------------------
// API helpers.

async function createMetric(body, client = api) {
  const r = await client.post('/v1/metrics', body);
  assert.equal(r.status, 200, `POST /v1/metrics ${JSON.stringify(body)}: ${r.text}`);
  assert.ok(r.json.metric && typeof r.json.metric.metric_id === 'string', r.text);
  return r.json.metric;
}

const traceMetric = (name, fields) => ({
  metric_name: name,
  metric_type: 'METRIC_CUSTOM_TRACE',
  value_source: 'attribute',
  unit: 's',
  ...fields,
});

async function createSim(id, extra = {}, run = runId) {
  const r = await api.post('/v1/simulations', { run_id: run, simulation_id: id, ...extra });
  assert.equal(r.status, 200, r.text);
  return r.json.simulation;
}

/** GET /v1/simulations/{id}/metrics -> metric_outputs, as a map by metric_id (checked unique). */
async function simOutputs(simId, query = '', client = api) {
  const r = await client.get(`/v1/simulations/${enc(simId)}/metrics${query}`);
  assert.equal(r.status, 200, `GET metrics of ${simId}: ${r.text}`);
  return byMetric(r.json.metric_outputs, simId);
}

async function convOutputs(convId, query = '') {
  const r = await api.get(`/v1/conversations/${enc(convId)}/metrics${query}`);
  assert.equal(r.status, 200, `GET metrics of ${convId}: ${r.text}`);
  return byMetric(r.json.metric_outputs, convId);
}

function byMetric(outputs, what) {
  assert.ok(Array.isArray(outputs), `${what}: metric_outputs is not an array`);
  const m = new Map();
  for (const o of outputs) {
    assert.ok(!m.has(o.metric_id), `${what}: two outputs for ${o.metric_id}`);
    m.set(o.metric_id, o);
  }
  return m;
}

/** A completed output with this value (and sample count, when given). */
function assertValue(o, want, what, sampleCount) {
  assert.ok(o, `${what}: no output`);
  assert.equal(o.status, 'COMPLETED', `${what}: status ${o.status} (${o.status_reason})`);
  approx(o.value, want, what);
  if (sampleCount !== undefined) assert.equal(o.sample_count, sampleCount, `${what}: sample_count`);
}

/** A FAILED output that says why and carries no value. */
function assertFailedOutput(o, what) {
  assert.ok(o, `${what}: no output`);
  assert.equal(o.status, 'FAILED', `${what}: status (value ${o.value})`);
  assert.equal(typeof o.status_reason, 'string', `${what}: status_reason`);
  assert.ok(o.status_reason.length > 0, `${what}: empty status_reason`);
  assert.equal(o.value, null, `${what}: value`);
}

before(async () => {
  server = await startServer();
  await server.createOrg('acme');
  await server.createOrg('rival');
  key = await server.createKey('acme', ['traces:write', 'read', 'write']);
  api = server.client(key);
  rivalKey = await server.createKey('rival', ['traces:write', 'read', 'write']);
  rivalApi = server.client(rivalKey);
  const r = await api.post('/v1/runs', { display_name: 'metrics' });
  assert.equal(r.status, 200, r.text);
  runId = r.json.run.run_id;
  await createSim('m-llm');
  await sendCall({ sim: 'm-llm' }, M_LLM_CALL);
});

after(async () => {
  if (server) await server.stop();
});

// ---------------------------------------------------------------------------------------------

const AGGREGATIONS = {
  average: mean,
  median: (v) => percentile(v, 50),
  p90: (v) => percentile(v, 90),
  p95: (v) => percentile(v, 95),
  p99: (v) => percentile(v, 99),
  max: (v) => Math.max(...v),
  min: (v) => Math.min(...v),
  sum,
  count: (v) => v.length,
};

test('the seed\'s custom trace metric (llm, metrics.ttfb) with every aggregation', async () => {
  const ids = {};
  for (const method of [...Object.keys(AGGREGATIONS), 'error_rate', 'success_rate']) {
    const body = traceMetric(`llm ttfb ${method}`, {
      description: `metrics.ttfb of llm spans, ${method}`,
      span_name: 'llm',
      metric_attribute: 'metrics.ttfb',
      aggregation_method: method,
    });
    const m = await createMetric(body);
    // The metric reads back as created.
    for (const f of ['metric_name', 'description', 'metric_type', 'span_name', 'metric_attribute',
      'value_source', 'aggregation_method', 'unit']) {
      assert.equal(m[f], body[f], `${method}: ${f}`);
    }
    assert.equal(m.builtin, false);
    assert.equal(m.target_condition, null, `${method}: no target_condition`);
    assert.match(m.create_time, RFC3339);
    assert.match(m.update_time, RFC3339);
    const g = await api.get(`/v1/metrics/${enc(m.metric_id)}`);
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.json.metric, m, `${method}: GET equals the POST answer`);
    ids[method] = m.metric_id;
  }
  assert.equal(new Set(Object.values(ids)).size, 11, 'distinct metric ids');

  const out = await simOutputs('m-llm');
  // Hand-worked anchors: sorted ttfb 0.2 0.31 0.42 0.5 0.7 0.95 1.25; the median is the 4th;
  // p90 sits at rank 5.4, between 0.95 and 1.25: 0.95 + 0.4 * 0.3 = 1.07.
  approx(percentile(LLM_TTFB, 50), 0.5, 'reference median');
  approx(percentile(LLM_TTFB, 90), 1.07, 'reference p90');
  for (const [method, f] of Object.entries(AGGREGATIONS)) {
    const o = out.get(ids[method]);
    assertValue(o, f(LLM_TTFB), `llm ttfb ${method}`, LLM.length);
    assert.equal(o.metric_name, `llm ttfb ${method}`);
    assert.equal(o.unit, 's');
    assert.equal(o.result ?? null, null, `${method}: no target condition, no result`);
    assert.equal(o.metric_output_id, `m-llm:${ids[method]}`, 'metric_output_id');
    assert.equal(o.status_reason, null);
  }
  // 2 of the 7 llm spans are ERROR.
  assertValue(out.get(ids.error_rate), 2 / 7, 'llm error_rate', 7);
  assertValue(out.get(ids.success_rate), 5 / 7, 'llm success_rate', 7);

  // ?metric_id= narrows the outputs to one.
  const one = await api.get(`/v1/simulations/m-llm/metrics?metric_id=${enc(ids.p95)}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.metric_outputs.length, 1);
  assert.equal(one.json.metric_outputs[0].metric_id, ids.p95);
  approx(one.json.metric_outputs[0].value, percentile(LLM_TTFB, 95), 'narrowed p95');
});

test('value_source duration aggregates span durations in seconds', async () => {
  const ids = {};
  for (const method of ['average', 'median', 'p99', 'max', 'min', 'sum']) {
    const m = await createMetric(traceMetric(`llm seconds ${method}`, {
      span_name: 'llm', value_source: 'duration', aggregation_method: method,
    }));
    assert.equal(m.value_source, 'duration');
    ids[method] = m.metric_id;
  }
  const out = await simOutputs('m-llm');
  for (const [method, id] of Object.entries(ids)) {
    assertValue(out.get(id), AGGREGATIONS[method](LLM_SECONDS), `llm duration ${method}`, LLM.length);
  }
  // By hand: 0.8 + 1.1 + 2.4 + 0.6 + 1.0 + 1.5 + 3.2 = 10.6 s.
  approx(out.get(ids.sum).value, 10.6, 'llm duration sum');
});

test('a span name ending in * matches the prefix before it', async () => {
  const dur = await createMetric(traceMetric('provider seconds median', {
    span_name: 'stt.provider.*', value_source: 'duration', aggregation_method: 'median',
  }));
  const ttfb = await createMetric(traceMetric('provider ttfb average', {
    span_name: 'stt.provider.*', metric_attribute: 'metrics.ttfb', aggregation_method: 'average',
  }));
  const errs = await createMetric(traceMetric('provider error rate', {
    span_name: 'stt.provider.*', metric_attribute: 'metrics.ttfb', aggregation_method: 'error_rate', unit: 'ratio',
  }));
  const out = await simOutputs('m-llm');
  // Four provider spans (an even count): median of 0.25 0.3 0.4 0.5 = (0.3 + 0.4) / 2 = 0.35.
  // stt.providerX (0.9 s) does not match "stt.provider.".
  assertValue(out.get(dur.metric_id), 0.35, 'provider duration median', 4);
  approx(percentile(PROVIDERS.map((p) => p.ms / 1000), 50), 0.35, 'reference');
  // Three of them carry metrics.ttfb, one as the string "0.25": (0.3 + 0.12 + 0.25) / 3.
  assertValue(out.get(ttfb.metric_id), (0.3 + 0.12 + 0.25) / 3, 'provider ttfb average', 3);
  // One of the four provider spans is ERROR.
  assertValue(out.get(errs.metric_id), 1 / 4, 'provider error_rate');
});

test('numeric strings count, other values are skipped', async () => {
  await createSim('m-mixed');
  const values = [0.4, '0.6', 'fast', true, '1e-1', '', '12abc', ' 7 '];
  await sendCall({ sim: 'm-mixed' }, [
    ...values.map((v) => ({ name: 'llm', ms: 100, attributes: { 'metrics.ttfb': v } })),
    { name: 'llm', ms: 100 }, // no attribute at all
    { name: 'llm', ms: 100, attributes: { 'metrics.ttfb': 3 } }, // an integer
  ]);
  const avg = await createMetric(traceMetric('mixed average', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'average',
  }));
  const count = await createMetric(traceMetric('mixed count', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'count', unit: 'count',
  }));
  const out = await simOutputs('m-mixed');
  // Numeric: 0.4, "0.6", "1e-1", " 7 ", 3.
  assertValue(out.get(avg.metric_id), (0.4 + 0.6 + 0.1 + 7 + 3) / 5, 'mixed average', 5);
  // count counts the matching spans, with or without a number: all 10 llm spans.
  assertValue(out.get(count.metric_id), 10, 'mixed count', 10);
});

test('a unit defaults from what the metric measures', async () => {
  const cases = [
    [{ span_name: 'llm', value_source: 'duration', aggregation_method: 'p90' }, 's'],
    [{ span_name: 'llm', aggregation_method: 'count' }, 'count'],
    [{ span_name: 'llm', aggregation_method: 'error_rate' }, 'ratio'],
    [{ span_name: 'llm', aggregation_method: 'success_rate' }, 'ratio'],
    [{ span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'max' }, null],
  ];
  for (const [fields, unit] of cases) {
    const body = { metric_name: `unit ${fields.aggregation_method}`, metric_type: 'METRIC_CUSTOM_TRACE', ...fields };
    const m = await createMetric(body);
    assert.equal(m.unit, unit, `unit of ${JSON.stringify(fields)}`);
    assert.equal(m.value_source, fields.value_source ?? 'attribute', 'value_source defaults to attribute');
    const out = await simOutputs('m-llm', `?metric_id=${enc(m.metric_id)}`);
    assert.equal(out.get(m.metric_id).unit, unit, 'the output carries the unit');
  }
  // count, error_rate and success_rate need no attribute: they work on the spans.
  const out = await simOutputs('m-llm');
  const byName = new Map([...out.values()].map((o) => [o.metric_name, o]));
  assertValue(byName.get('unit count'), 7, 'count without an attribute', 7);
  assertValue(byName.get('unit error_rate'), 2 / 7, 'error_rate without an attribute', 7);
  assertValue(byName.get('unit p90'), percentile(LLM_SECONDS, 90), 'p90 of durations', 7);
});

test('target conditions give PASSED or FAILED', async () => {
  // The value is max(llm metrics.ttfb) = 1.25 on m-llm.
  const cases = [
    ['gt', 1.0, 'PASSED'], ['gt', 1.25, 'FAILED'],
    ['gte', 1.25, 'PASSED'], ['gte', 1.3, 'FAILED'],
    ['lt', 2.0, 'PASSED'], ['lt', 1.25, 'FAILED'],
    ['lte', 1.25, 'PASSED'], ['lte', 1.2, 'FAILED'],
    ['eq', 1.25, 'PASSED'], ['eq', 1.0, 'FAILED'],
    ['neq', 1.0, 'PASSED'], ['neq', 1.25, 'FAILED'],
  ];
  const ids = [];
  for (const [op, target] of cases) {
    const body = traceMetric(`max ttfb ${op} ${target}`, {
      span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'max',
      target_condition: { comparison_operator: op, target_float: target },
    });
    const m = await createMetric(body);
    assert.deepEqual(m.target_condition, body.target_condition, `${op} ${target}: target_condition`);
    ids.push(m.metric_id);
  }
  const sets = [['in', [1, 1.25], 'PASSED'], ['in', [0.5, 1], 'FAILED'], ['nin', [0.5, 1], 'PASSED'], ['nin', [1.25], 'FAILED']];
  for (const [op, values] of sets) {
    const body = traceMetric(`max ttfb ${op} ${values}`, {
      span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'max',
      target_condition: { comparison_operator: op, target_values: values },
    });
    const m = await createMetric(body);
    assert.deepEqual(m.target_condition.target_values, values, `${op}: target_values`);
    ids.push(m.metric_id);
  }
  const out = await simOutputs('m-llm');
  [...cases, ...sets].forEach(([op, target, result], i) => {
    const o = out.get(ids[i]);
    assertValue(o, 1.25, `max ttfb ${op} ${target}`);
    assert.equal(o.result, result, `1.25 ${op} ${target}`);
  });

  // eq tolerates rounding: 0.1 + 0.2 is 0.30000000000000004 in doubles.
  await createSim('m-sum');
  await sendCall({ sim: 'm-sum' }, [0.1, 0.2].map((v) => ({ name: 'llm', ms: 10, attributes: { 'metrics.ttfb': v } })));
  const eq = await createMetric(traceMetric('sum eq 0.3', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'sum',
    target_condition: { comparison_operator: 'eq', target_float: 0.3 },
  }));
  const o = (await simOutputs('m-sum', `?metric_id=${enc(eq.metric_id)}`)).get(eq.metric_id);
  assertValue(o, 0.3, 'sum');
  assert.equal(o.result, 'PASSED', '0.1 + 0.2 eq 0.3');
});

test('a metric whose spans do not exist is FAILED with a reason', async () => {
  const none = await createMetric(traceMetric('asr ttfb', {
    span_name: 'asr', metric_attribute: 'metrics.ttfb', aggregation_method: 'average',
  }));
  const noneDur = await createMetric(traceMetric('asr seconds', {
    span_name: 'asr.*', value_source: 'duration', aggregation_method: 'count', unit: 'count',
  }));
  const gated = await createMetric(traceMetric('asr ttfb gated', {
    span_name: 'asr', metric_attribute: 'metrics.ttfb', aggregation_method: 'max',
    target_condition: { comparison_operator: 'lt', target_float: 1 },
  }));
  const noNumber = await createMetric(traceMetric('llm nope', {
    span_name: 'llm', metric_attribute: 'metrics.nope', aggregation_method: 'average',
  }));
  const out = await simOutputs('m-llm');
  assertFailedOutput(out.get(none.metric_id), 'no asr span');
  assert.match(out.get(none.metric_id).status_reason, /asr/, 'the reason names the span');
  assertFailedOutput(out.get(noneDur.metric_id), 'no asr.* span');
  assertFailedOutput(out.get(gated.metric_id), 'no asr span, with a target');
  assert.equal(out.get(gated.metric_id).result, null, 'no value, no result');
  // Spans exist, but none carries the attribute.
  assertFailedOutput(out.get(noNumber.metric_id), 'no metrics.nope values');
  assert.match(out.get(noNumber.metric_id).status_reason, /metrics\.nope/, 'the reason names the attribute');
  assert.equal(out.get(noNumber.metric_id).sample_count, 0);
});

test('built-in metrics: listed with include_builtin, fixed ids, known values', async () => {
  const custom = await listAll(api, '/v1/metrics?page_size=100', 'metrics');
  assert.ok(custom.items.length > 0);
  for (const id of BUILTIN_IDS) {
    assert.ok(!custom.items.some((m) => m.metric_id === id), `${id} listed without include_builtin`);
  }
  const all = await listAll(api, '/v1/metrics?include_builtin=true&page_size=100', 'metrics');
  for (const id of BUILTIN_IDS) {
    assert.equal(all.items.filter((m) => m.metric_id === id).length, 1, `${id} listed once with include_builtin`);
  }
  assert.equal(all.items.length, custom.items.length + BUILTIN_IDS.length);
  // The built-ins come first, in their fixed order, then the org's metrics in creation order.
  assert.deepEqual(all.items.map((m) => m.metric_id),
    [...BUILTIN_IDS, ...custom.items.map((m) => m.metric_id)]);
  for (const b of all.items.slice(0, BUILTIN_IDS.length)) {
    assert.equal(b.builtin, true, `${b.metric_id}: builtin`);
    assert.equal(b.create_time, null, `${b.metric_id}: create_time`);
  }
  const g = await api.get('/v1/metrics/llm_ttfb');
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.json.metric, all.items[0]);
  assert.equal(g.json.metric.metric_type, 'METRIC_CUSTOM_TRACE');
  assert.equal(g.json.metric.span_name, 'llm');
  assert.equal(g.json.metric.metric_attribute, 'metrics.ttfb');
  assert.equal(g.json.metric.aggregation_method, 'average');
  assert.equal(all.items[6].metric_type, 'METRIC_STT_WER');
  assert.equal(all.items[7].metric_type, 'METRIC_STT_WER_AUDIO_UPLOAD');
  // Built-ins cannot be changed or deleted.
  assertApiError(await api.request('PATCH', '/v1/metrics/llm_ttfb', { json: { aggregation_method: 'max' } }),
    403, 'PERMISSION_DENIED');
  assertApiError(await api.request('DELETE', '/v1/metrics/stt_wer'), 403, 'PERMISSION_DENIED');
  assert.equal((await api.get('/v1/metrics/stt_wer')).status, 200);

  const r = await api.get('/v1/simulations/m-llm/metrics');
  assert.equal(r.status, 200, r.text);
  // One output per built-in and per metric of the org, in the list's order.
  assert.deepEqual(r.json.metric_outputs.map((o) => o.metric_id), all.items.map((m) => m.metric_id));
  const out = byMetric(r.json.metric_outputs, 'm-llm');
  // Averages of metrics.ttfb on the spans named exactly llm / stt / tts (not stt.provider.*).
  assertValue(out.get('llm_ttfb'), mean(LLM_TTFB), 'llm_ttfb', 7);
  assertValue(out.get('stt_ttfb'), mean(STT_TTFB), 'stt_ttfb', 2);
  assertValue(out.get('tts_ttfb'), mean(TTS_TTFB), 'tts_ttfb', 3);
  assertValue(out.get('llm_input_tokens'), sum(LLM.map((l) => l.input)), 'llm_input_tokens');
  assertValue(out.get('llm_output_tokens'), sum(LLM.map((l) => l.output)), 'llm_output_tokens');
  // By hand: 4705 input tokens, 338 output tokens.
  approx(out.get('llm_input_tokens').value, 4705, 'input tokens by hand');
  approx(out.get('llm_output_tokens').value, 338, 'output tokens by hand');
  // Two llm_tool_call spans and one tool_call span; tool_call_result and llm_tool_call_result
  // are not tool calls.
  assertValue(out.get('tool_call_count'), 3, 'tool_call_count');
  // m-llm has stt spans but no transcript: no reference, so no WER.
  assertFailedOutput(out.get('stt_wer'), 'stt_wer without a reference');
});

test('STT word error rate of a simulation against its transcript', async () => {
  await createSim('m-wer', {
    transcript: [
      { role: 'user', content: 'Book a table for two.' },
      { role: 'assistant', content: 'Sure, what time?' },
      { role: 'user', content: "At seven, please! I'd like the window." },
    ],
  });
  await sendCall({ sim: 'm-wer' }, [
    { name: 'stt', ms: 500, attributes: { transcript: 'book the table for' },
      // A provider attempt's transcript is not the stt output.
      children: [{ name: 'stt.provider.google', ms: 200, attributes: { transcript: 'totally different words' } }] },
    { name: 'llm', ms: 300 },
    { name: 'stt', ms: 500, attributes: { 'stt.transcription': "at seven please I'd like a window" } },
  ]);
  // By hand. Reference (user messages, normalised): book a table for two at seven please i'd
  // like the window = 12 words. Hypothesis: book the table for at seven please i'd like a window.
  // Alignment: a->the (S), two deleted (D), the->a (S): (2 + 1 + 0) / 12 = 0.25.
  const own = await createMetric({ metric_name: 'my wer', metric_type: 'METRIC_STT_WER',
    target_condition: { comparison_operator: 'lte', target_float: 0.2 } });
  assert.equal(own.span_name, null, 'a WER metric has no span_name');
  assert.equal(own.unit, 'ratio', 'WER defaults to ratio');
  const out = await simOutputs('m-wer');
  assertValue(out.get('stt_wer'), 0.25, 'stt_wer', 2);
  assertValue(out.get(own.metric_id), 0.25, 'own METRIC_STT_WER', 2);
  assert.equal(out.get(own.metric_id).result, 'FAILED', '0.25 > 0.2');
  // A simulation has no reference_transcript.
  assertFailedOutput(out.get('stt_wer_audio_upload'), 'audio-upload WER of a simulation');

  // Insertions can take the WER past 1: reference "yes" (1 word), hypothesis of 3 words.
  await createSim('m-wer-insert', { transcript: [{ role: 'user', content: 'Yes.' }] });
  await sendCall({ sim: 'm-wer-insert' }, [
    { name: 'stt', ms: 500, attributes: { transcript: 'yes yes yes' } },
  ]);
  assertValue((await simOutputs('m-wer-insert')).get('stt_wer'), 2, 'stt_wer with insertions');

  // A transcript but no stt span: FAILED.
  await createSim('m-wer-nostt', { transcript: [{ role: 'user', content: 'Hello' }] });
  await sendCall({ sim: 'm-wer-nostt' }, [{ name: 'llm', ms: 100 }]);
  assertFailedOutput((await simOutputs('m-wer-nostt')).get('stt_wer'), 'stt_wer without stt spans');
});

test('conversations: metrics[] at submit and GET /v1/conversations/{id}/metrics', async () => {
  const ttfb = await createMetric(traceMetric('conv llm ttfb p90', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'p90',
    target_condition: { comparison_operator: 'lte', target_float: 1.0 },
  }));
  const s = await api.post('/v1/conversations:submit', {
    transcript: [
      { role: 'user', content: 'Book a table for two' },
      { role: 'assistant', content: 'For when?' },
    ],
    metrics: [ttfb.metric_id, 'stt_wer'],
  });
  assert.equal(s.status, 200, s.text);
  const conv = s.json.conversation;
  assert.deepEqual(conv.metric_ids, [ttfb.metric_id, 'stt_wer']);
  const ttfbs = [0.3, 0.9, 0.6, 1.4];
  await sendCall({ conv: conv.conversation_id }, [
    { name: 'stt', ms: 400, attributes: { transcript: 'book the table for' } },
    ...ttfbs.map((v) => ({ name: 'llm', ms: 200, attributes: { 'metrics.ttfb': v } })),
  ]);
  const out = await convOutputs(conv.conversation_id);
  // By hand: "book a table for two" vs "book the table for": 1 substitution + 1 deletion of 5.
  assertValue(out.get('stt_wer'), 0.4, 'conversation stt_wer');
  // p90 of 0.3 0.6 0.9 1.4: rank 2.7, 0.9 + 0.7 * 0.5 = 1.25 > 1.0: FAILED.
  approx(percentile(ttfbs, 90), 1.25, 'reference p90');
  assertValue(out.get(ttfb.metric_id), 1.25, 'conversation p90', 4);
  assert.equal(out.get(ttfb.metric_id).result, 'FAILED');
  // Outputs for every metric of the org and every built-in, not only the ones asked for.
  const all = await listAll(api, '/v1/metrics?include_builtin=true&page_size=100', 'metrics');
  assert.deepEqual([...out.keys()].sort(), all.items.map((x) => x.metric_id).sort(), 'one output per metric');
  assert.equal(out.get('stt_wer').metric_output_id, `${conv.conversation_id}:stt_wer`);
  const one = await convOutputs(conv.conversation_id, `?metric_id=${enc(ttfb.metric_id)}`);
  assert.deepEqual([...one.keys()], [ttfb.metric_id]);
  assertApiError(await api.get(`/v1/conversations/${enc(conv.conversation_id)}/metrics?metric_id=nope`),
    404, 'NOT_FOUND', 'metric_id');

  // The conversation's metric values are filled from its outputs for the metrics it asked for.
  const g = await api.get(`/v1/conversations/${enc(conv.conversation_id)}`);
  assert.equal(g.status, 200, g.text);
  const values = g.json.conversation.metric_values;
  const valueOf = (id) => (Array.isArray(values) ? values.find((v) => v.metric_id === id)?.value : values?.[id]);
  approx(valueOf(ttfb.metric_id), 1.25, 'conversation metric_values ttfb');
  approx(valueOf('stt_wer'), 0.4, 'conversation metric_values stt_wer');

  // A metric that does not exist in the org is refused at submit, naming the entry.
  const bad = await api.post('/v1/conversations:submit', {
    transcript: [{ role: 'user', content: 'hi' }],
    metrics: ['stt_wer', 'no-such-metric'],
  });
  assertApiError(bad, 400, 'INVALID_ARGUMENT', 'metrics[1]');
  // Another org's conversation: 404.
  assertApiError(await rivalApi.get(`/v1/conversations/${enc(conv.conversation_id)}/metrics`), 404, 'NOT_FOUND');
});

test('audio-upload WER uses the conversation\'s reference_transcript', async () => {
  const t0 = nowNs() - 600_000n * MS;
  const traces = otlpRequest([
    span({ name: 'stt', start: t0, end: t0 + 300n * MS, attributes: { transcript: 'is the pharmacy open on sunday' } }),
  ]);
  const fd = new FormData();
  fd.append('transcript', new Blob([JSON.stringify([{ role: 'user', content: 'Is the pharmacy open Sunday?' }])],
    { type: 'application/json' }), 'transcript.json');
  fd.append('traces', new Blob([JSON.stringify(traces)], { type: 'application/json' }), 'traces.json');
  fd.append('reference_transcript', 'Is the pharmacy open on Sunday, please?');
  const res = await readResponse(await fetch(`${server.url}/v1/conversations:upload`, {
    method: 'POST', headers: { 'X-API-Key': key }, body: fd, signal: AbortSignal.timeout(20_000),
  }));
  assert.equal(res.status, 200, res.text);
  const out = await convOutputs(res.json.conversation.conversation_id);
  // By hand. Against the reference_transcript (7 words), "please" is missing: 1/7.
  assertValue(out.get('stt_wer_audio_upload'), 1 / 7, 'stt_wer_audio_upload');
  // Against the user messages (5 words), "on" is inserted: 1/5.
  assertValue(out.get('stt_wer'), 1 / 5, 'stt_wer of the same conversation');
});

test('run metrics: per-simulation values and their average', async () => {
  const avg = await createMetric(traceMetric('run llm ttfb', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'average',
    target_condition: { comparison_operator: 'lt', target_float: 0.5 },
  }));
  const r = await api.post('/v1/runs', { display_name: 'run metrics', metric_ids: [avg.metric_id, 'tool_call_count'] });
  assert.equal(r.status, 200, r.text);
  const run = r.json.run.run_id;
  const perSim = { 'rm-1': [0.2, 0.4], 'rm-2': [0.6, 0.8], 'rm-3': [0.1] };
  const tools = { 'rm-1': 1, 'rm-2': 0, 'rm-3': 2 };
  for (const [id, ttfbs] of Object.entries(perSim)) {
    await createSim(id, {}, run);
    await sendCall({ sim: id }, [
      ...ttfbs.map((v) => ({ name: 'llm', ms: 100, attributes: { 'metrics.ttfb': v } })),
      ...Array.from({ length: tools[id] }, () => ({ name: 'tool_call', ms: 50 })),
    ]);
  }
  // A simulation that never sent spans (and was marked FAILED, so it is failed whatever its
  // metrics say): its outputs are FAILED without a value and stay out of the averages.
  await createSim('rm-silent', {}, run);
  const p = await api.request('PATCH', '/v1/simulations/rm-silent', { json: { status: 'FAILED' } });
  assert.equal(p.status, 200, p.text);
  const simAvg = Object.fromEntries(Object.entries(perSim).map(([id, v]) => [id, mean(v)]));
  // By hand: 0.3, 0.7, 0.1; their average 0.3666...
  const runAvg = mean(Object.values(simAvg));
  approx(runAvg, 1.1 / 3, 'reference run average');

  const g = await api.get(`/v1/runs/${enc(run)}/metrics`);
  assert.equal(g.status, 200, g.text);
  assert.equal(g.json.run_id, run);
  const metrics = g.json.metrics;
  assert.ok(Array.isArray(metrics), g.text);
  assert.deepEqual(metrics.map((x) => x.metric_id), [avg.metric_id, 'tool_call_count'], 'the run\'s metrics');
  const m = metrics[0];
  assert.equal(m.metric_name, 'run llm ttfb');
  approx(m.average, runAvg, 'run average');
  assert.equal(m.unit, 's');
  assert.deepEqual(m.simulations.map((x) => x.simulation_id), ['rm-1', 'rm-2', 'rm-3', 'rm-silent'],
    'simulations in creation order');
  const vals = new Map(m.simulations.map((x) => [x.simulation_id, x]));
  for (const [id, v] of Object.entries(simAvg)) {
    approx(vals.get(id).value, v, `run value of ${id}`);
    assert.equal(vals.get(id).status, 'COMPLETED');
    assert.equal(vals.get(id).result, v < 0.5 ? 'PASSED' : 'FAILED', `result of ${id}`);
  }
  assert.equal(vals.get('rm-silent').status, 'FAILED');
  assert.equal(vals.get('rm-silent').value, null);
  const tc = metrics[1];
  // 1, 0 and 2 tool calls; rm-silent has no spans at all, so no count.
  assert.deepEqual(tc.simulations.map((x) => [x.simulation_id, x.value]),
    [['rm-1', 1], ['rm-2', 0], ['rm-3', 2], ['rm-silent', null]]);
  approx(tc.average, 1, 'tool_call_count run average');

  // metric_averages on the run and metric_values on its simulations come from the same outputs.
  const rr = await api.get(`/v1/runs/${enc(run)}`);
  assert.equal(rr.status, 200, rr.text);
  assert.deepEqual(Object.keys(rr.json.run.metric_averages).sort(), [avg.metric_id, 'tool_call_count'].sort());
  approx(rr.json.run.metric_averages[avg.metric_id], runAvg, 'run.metric_averages');
  approx(rr.json.run.metric_averages.tool_call_count, 1, 'run.metric_averages tool_call_count');
  for (const [id, v] of Object.entries(simAvg)) {
    const sr = await api.get(`/v1/simulations/${enc(id)}`);
    assert.equal(sr.status, 200, sr.text);
    const mv = sr.json.simulation.metric_values;
    assert.deepEqual(Object.keys(mv).sort(), [avg.metric_id, 'tool_call_count'].sort(), `${id} metric_values keys`);
    approx(mv[avg.metric_id], v, `${id} metric_values`);
  }
  // rm-2 fails the run metric's target, rm-silent is FAILED: the run counts both failed.
  assert.equal(rr.json.run.progress.failed_test_cases, 2, 'failed_test_cases');

  // ?metric_id= picks one.
  const one = await api.get(`/v1/runs/${enc(run)}/metrics?metric_id=tool_call_count`);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.json.metrics.map((x) => x.metric_id), ['tool_call_count']);
  // A run without metric_ids gets every built-in and every metric of the org; averages are
  // null where no simulation has a value.
  const plain = (await api.post('/v1/runs', { display_name: 'no metric_ids' })).json.run.run_id;
  await createSim('rp-1', {}, plain);
  await sendCall({ sim: 'rp-1' }, [{ name: 'llm', ms: 100, attributes: { 'metrics.ttfb': 0.25 } }]);
  const pr = await api.get(`/v1/runs/${enc(plain)}/metrics`);
  assert.equal(pr.status, 200, pr.text);
  const everyMetric = await listAll(api, '/v1/metrics?include_builtin=true&page_size=100', 'metrics');
  assert.deepEqual(pr.json.metrics.map((x) => x.metric_id), everyMetric.items.map((x) => x.metric_id));
  const prBy = new Map(pr.json.metrics.map((x) => [x.metric_id, x]));
  approx(prBy.get('llm_ttfb').average, 0.25, 'plain run llm_ttfb');
  assert.equal(prBy.get('tts_ttfb').average, null, 'no tts span anywhere: average null');
  assert.equal(prBy.get(avg.metric_id).simulations[0].result, 'PASSED');

  // The run's metrics belong to its org.
  assertApiError(await rivalApi.get(`/v1/runs/${enc(run)}/metrics`), 404, 'NOT_FOUND');
  // A run can only name metrics that exist.
  assertApiError(await api.post('/v1/runs', { display_name: 'bad', metric_ids: ['llm_ttfb', 'no-such-metric'] }),
    400, 'INVALID_ARGUMENT', 'metric_ids[1]');
});

test('late spans change the outputs', async () => {
  await createSim('m-late');
  await sendCall({ sim: 'm-late' }, [{ name: 'llm', ms: 100, attributes: { 'metrics.ttfb': 0.4 } }]);
  let out = await simOutputs('m-late');
  assertValue(out.get('llm_ttfb'), 0.4, 'before', 1);
  assertValue(out.get('tool_call_count'), 0, 'before: no tool calls');
  await sendCall({ sim: 'm-late' }, [
    { name: 'llm', ms: 100, attributes: { 'metrics.ttfb': 0.8 } },
    { name: 'llm_tool_call', ms: 100 },
  ]);
  out = await simOutputs('m-late');
  assertValue(out.get('llm_ttfb'), 0.6, 'after', 2);
  assertValue(out.get('tool_call_count'), 1, 'after: one tool call');
});

test('PATCH changes a metric and its outputs; DELETE removes both', async () => {
  const m = await createMetric(traceMetric('patched', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'average',
  }));
  const p = await api.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, {
    json: { aggregation_method: 'min', metric_name: 'patched min' },
  });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.metric.aggregation_method, 'min');
  assert.equal(p.json.metric.metric_name, 'patched min');
  assert.equal(p.json.metric.span_name, 'llm', 'fields left out keep their value');
  const out = await simOutputs('m-llm', `?metric_id=${enc(m.metric_id)}`);
  assertValue(out.get(m.metric_id), Math.min(...LLM_TTFB), 'after PATCH');
  assert.equal(out.get(m.metric_id).metric_name, 'patched min');

  assert.ok(p.json.metric.update_time >= m.update_time, 'update_time moves on');

  const bad = await api.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, { json: { aggregation_method: 'mode' } });
  assertApiError(bad, 400, 'INVALID_ARGUMENT', 'aggregation_method');
  assertApiError(await api.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, { json: { metric_id: 'x' } }),
    400, 'INVALID_ARGUMENT', 'metric_id');
  // Switching to attribute-less duration works; the attribute is no longer needed.
  const dur = await api.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, {
    json: { value_source: 'duration', aggregation_method: 'max' },
  });
  assert.equal(dur.status, 200, dur.text);
  assertValue((await simOutputs('m-llm', `?metric_id=${enc(m.metric_id)}`)).get(m.metric_id),
    Math.max(...LLM_SECONDS), 'after PATCH to duration');
  // A target condition added, then cleared with null.
  const gated = await api.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, {
    json: { target_condition: { comparison_operator: 'gt', target_float: 5 } },
  });
  assert.equal(gated.status, 200, gated.text);
  assert.equal((await simOutputs('m-llm', `?metric_id=${enc(m.metric_id)}`)).get(m.metric_id).result, 'FAILED');
  const cleared = await api.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, { json: { target_condition: null } });
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.json.metric.target_condition, null);
  assert.equal((await simOutputs('m-llm', `?metric_id=${enc(m.metric_id)}`)).get(m.metric_id).result, null);

  // A conversation that names the metric keeps the id after DELETE; its output says why it failed.
  const c = await api.post('/v1/conversations:submit', {
    transcript: [{ role: 'user', content: 'hello' }], metrics: [m.metric_id],
  });
  assert.equal(c.status, 200, c.text);
  const d = await api.request('DELETE', `/v1/metrics/${enc(m.metric_id)}`);
  assert.equal(d.status, 200, d.text);
  assertApiError(await api.get(`/v1/metrics/${enc(m.metric_id)}`), 404, 'NOT_FOUND');
  assert.ok(!(await simOutputs('m-llm')).has(m.metric_id), 'a deleted metric has no output');
  assertApiError(await api.request('DELETE', `/v1/metrics/${enc(m.metric_id)}`), 404, 'NOT_FOUND');
  const cg = await api.get(`/v1/conversations/${enc(c.json.conversation.conversation_id)}`);
  assert.equal(cg.status, 200, cg.text);
  assert.deepEqual(cg.json.conversation.metric_ids, [m.metric_id]);
  assert.deepEqual(cg.json.conversation.metric_values, [{ metric_id: m.metric_id, value: null }]);
  const gone = cg.json.conversation.metric_outputs.find((o) => o.metric_id === m.metric_id);
  assertFailedOutput(gone, 'output of a deleted metric');
});

test('validation errors name the field', async () => {
  const ok = traceMetric('valid', { span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'average' });
  const without = (f) => Object.fromEntries(Object.entries(ok).filter(([k]) => k !== f));
  const cases = [
    [without('metric_name'), 'metric_name'],
    [{ ...ok, metric_name: '' }, 'metric_name'],
    [without('metric_type'), 'metric_type'],
    [{ ...ok, metric_type: 'METRIC_VIBES' }, 'metric_type'],
    [without('span_name'), 'span_name'],
    [{ ...ok, aggregation_method: 'mean' }, 'aggregation_method'],
    [without('aggregation_method'), 'aggregation_method'],
    [{ ...ok, value_source: 'tokens' }, 'value_source'],
    [without('metric_attribute'), 'metric_attribute'],
    [{ ...ok, target_condition: { comparison_operator: 'approx', target_float: 1 } },
      'target_condition.comparison_operator'],
    [{ ...ok, target_condition: { comparison_operator: 'lt', target_float: 'fast' } },
      'target_condition.target_float'],
    [{ ...ok, metric_name: 42 }, 'metric_name'],
    [{ ...ok, metric_name: 'x'.repeat(257) }, 'metric_name'],
    [{ ...ok, unit: 'hours' }, 'unit'],
    [{ ...ok, target_condition: { comparison_operator: 'in', target_values: [] } }, 'target_condition.target_values'],
    [{ ...ok, target_condition: { comparison_operator: 'in', target_values: Array.from({ length: 33 }, (_, i) => i) } },
      'target_condition.target_values'],
    [{ ...ok, target_condition: { comparison_operator: 'lt' } }, 'target_condition.target_float'],
  ];
  for (const [body, field] of cases) {
    const r = await api.post('/v1/metrics', body);
    assertApiError(r, 400, 'INVALID_ARGUMENT', field);
  }
  // Not JSON at all.
  const raw = await api.request('POST', '/v1/metrics', { body: '{"metric_name":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(raw.status, 400, raw.text);
});

test('metrics are private to their org', async () => {
  const m = await createMetric(traceMetric('acme only', {
    span_name: 'llm', metric_attribute: 'metrics.ttfb', aggregation_method: 'max',
  }));
  assertApiError(await rivalApi.get(`/v1/metrics/${enc(m.metric_id)}`), 404, 'NOT_FOUND');
  assertApiError(await rivalApi.request('PATCH', `/v1/metrics/${enc(m.metric_id)}`, { json: { metric_name: 'x' } }),
    404, 'NOT_FOUND');
  assertApiError(await rivalApi.request('DELETE', `/v1/metrics/${enc(m.metric_id)}`), 404, 'NOT_FOUND');
  assert.equal((await api.get(`/v1/metrics/${enc(m.metric_id)}`)).status, 200, 'still there for its org');

  const rivalList = await listAll(rivalApi, '/v1/metrics?include_builtin=true', 'metrics');
  assert.deepEqual(rivalList.items.map((x) => x.metric_id).sort(), [...BUILTIN_IDS].sort(),
    'the rival sees the built-ins only');
  // Another org's simulation and its outputs: 404.
  assertApiError(await rivalApi.get('/v1/simulations/m-llm/metrics'), 404, 'NOT_FOUND');
  // The rival's own simulation gets outputs for the built-ins only.
  const rr = await rivalApi.post('/v1/runs', { display_name: 'rival' });
  const rs = await rivalApi.post('/v1/simulations', { run_id: rr.json.run.run_id, simulation_id: 'rival-sim' });
  assert.equal(rs.status, 200, rs.text);
  const out = await simOutputs('rival-sim', '', rivalApi);
  assert.deepEqual([...out.keys()].sort(), [...BUILTIN_IDS].sort());
  // An acme metric id does not narrow the rival's outputs to anything.
  const narrowed = await rivalApi.get(`/v1/simulations/rival-sim/metrics?metric_id=${enc(m.metric_id)}`);
  assertApiError(narrowed, 404, 'NOT_FOUND', 'metric_id');
});

test('metric lists page with page_size and page_token', async () => {
  const all = await listAll(api, '/v1/metrics?page_size=100', 'metrics');
  const paged = await listAll(api, '/v1/metrics?page_size=3', 'metrics');
  assert.ok(paged.pages > 1);
  assert.deepEqual(paged.items.map((m) => m.metric_id), all.items.map((m) => m.metric_id));
  // With the built-ins, pages run through them first (8 of them: a page boundary falls inside).
  const withB = await listAll(api, '/v1/metrics?include_builtin=true&page_size=3', 'metrics');
  assert.deepEqual(withB.items.map((m) => m.metric_id), [...BUILTIN_IDS, ...all.items.map((m) => m.metric_id)]);
  assertApiError(await api.get('/v1/metrics?page_size=-1'), 400, 'INVALID_ARGUMENT', 'page_size');
  assertApiError(await api.get('/v1/metrics?page_token=garbage!'), 400, 'INVALID_ARGUMENT', 'page_token');
});
