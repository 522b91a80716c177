// OpenTelemetry SDK helpers shared by the suites: a voice-agent trace shaped like the seed's, an
// exporter wrapper that records what the SDK exported and the result codes it got back, and the
// check that a span read back from GET /v1/traces/spans equals the span the SDK produced; and a
// span tree stated as data (emitTree) exported with the real protobuf exporter (sdkExport), for
// the suites that compute what an analysis must find from that same data.

import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';

export const KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
export const STATUS_NAMES = ['UNSET', 'OK', 'ERROR'];

/** An HrTime ([seconds, nanos]) for an absolute time in nanoseconds. */
export const hr = (ns) => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
/** Nanoseconds of an HrTime, as the decimal string the API returns. */
export const hrToNs = (t) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

/**
 * Wraps a SpanExporter to keep every span handed to it and every ExportResult it reported.
 * The SDK's processors only log export failures; the suites want to assert on them.
 */
export class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.spans = [];
    this.results = [];
  }
  export(spans, done) {
    this.spans.push(...spans);
    this.inner.export(spans, (result) => {
      this.results.push(result);
      done(result);
    });
  }
  forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
  shutdown() { return this.inner.shutdown(); }
}

/** Asserts that every export the recorder saw succeeded, with the error of the first failure. */
export function assertAllExportsSucceeded(rec) {
  assert.ok(rec.results.length > 0, 'the SDK exported nothing');
  for (const r of rec.results) {
    assert.equal(
      r.code,
      ExportResultCode.SUCCESS,
      `export failed: ${r.error ? r.error.message : 'no error given'}`,
    );
  }
}

/**
 * Emits one call's trace, shaped like the seed's span naming table: conversation > turn > stt
 * (stt.provider.deepgram ERROR, then stt.provider.google OK) / llm > llm_tool_call / tts.
 * Times are explicit HrTimes from `baseNs` so the read-back can be compared to the nanosecond.
 * Every attribute type appears: string, int, double, bool, string array, int array.
 * @returns {Record<string, import('@opentelemetry/api').Span>} the spans by name
 */
export function emitVoiceTrace(tracer, baseNs, callId) {
  const at = (ms) => hr(baseNs + BigInt(Math.round(ms * 1000)) * 1000n);
  const child = (parent) => trace.setSpan(ROOT_CONTEXT, parent);
  const s = {};

  s.conversation = tracer.startSpan(
    'conversation',
    {
      kind: SpanKind.SERVER,
      startTime: at(0),
      attributes: { 'conversation.id': callId, 'conversation.type': 'voice' },
    },
    ROOT_CONTEXT,
  );
  s.turn = tracer.startSpan(
    'turn',
    {
      startTime: at(10),
      attributes: {
        'turn.number': 1,
        'turn.type': 'user',
        'turn.was_interrupted': false,
        'turn.duration_seconds': 4.79,
        'turn.user_text': 'Café für zwei, bitte 🍷',
      },
    },
    child(s.conversation),
  );

  s.stt = tracer.startSpan('stt', { startTime: at(20) }, child(s.turn));
  s.deepgram = tracer.startSpan(
    'stt.provider.deepgram',
    { startTime: at(25), attributes: { 'stt.providerName': 'deepgram' } },
    child(s.stt),
  );
  s.deepgram.setStatus({ code: SpanStatusCode.ERROR, message: 'deepgram: 503 Service Unavailable' });
  s.deepgram.end(at(390));
  s.stt.addEvent(
    'stt.fallback',
    { 'stt.from': 'deepgram', 'stt.to': 'google', 'stt.attempt': 2, 'stt.retryable': true },
    at(395),
  );
  s.google = tracer.startSpan(
    'stt.provider.google',
    {
      startTime: at(400),
      attributes: { 'stt.providerName': 'google', 'stt.confidence': 0.93, 'metrics.ttfb': 0.125 },
    },
    child(s.stt),
  );
  s.google.setStatus({ code: SpanStatusCode.OK });
  s.google.end(at(880));
  s.stt.setAttributes({
    'metrics.ttfb': 0.505,
    transcript: "I'd like to book a table for two at seven",
    'stt.confidence': 0.93,
  });
  s.stt.end(at(900));

  s.llm = tracer.startSpan(
    'llm',
    {
      kind: SpanKind.CLIENT,
      startTime: at(950),
      attributes: {
        'metrics.ttfb': 0.42,
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 812,
        'gen_ai.usage.output_tokens': 64,
        'llm.stop_sequences': ['\n\nUser:', 'END'],
      },
    },
    child(s.turn),
  );
  s.tool = tracer.startSpan(
    'llm_tool_call',
    {
      startTime: at(2000),
      attributes: {
        'function.name': 'book_table',
        tool_call_id: 'call_7Qx2mP',
        'function.arguments': '{"party_size":2,"time":"19:00"}',
      },
    },
    child(s.llm),
  );
  s.tool.end(at(2450));
  s.llm.setAttribute('llm.finish_reason', 'tool_calls');
  s.llm.end(at(2600));

  s.tts = tracer.startSpan(
    'tts',
    {
      startTime: at(2650),
      attributes: { 'metrics.ttfb': 0.18, 'tts.voice': 'alloy', 'tts.chunk_ms': [120, 80, 95] },
      links: [{ context: s.llm.spanContext(), attributes: { 'link.reason': 'speaks the llm reply' } }],
    },
    child(s.turn),
  );
  s.tts.end(at(4750));
  s.turn.end(at(4800));
  s.conversation.end(at(5000));
  return s;
}

/** The names emitVoiceTrace produces, in start-time order. */
export const VOICE_TRACE_ORDER = [
  'conversation', 'turn', 'stt', 'stt.provider.deepgram', 'stt.provider.google', 'llm',
  'llm_tool_call', 'tts',
];

/**
 * Asserts that a span from GET /v1/traces/spans carries everything the SDK span had.
 * @param {object} got the API's span
 * @param {import('@opentelemetry/sdk-trace-base').ReadableSpan} want the SDK's span
 * @param {string} serviceName the expected service_name
 */
export function assertSpanEquals(got, want, serviceName) {
  const ctx = want.spanContext();
  const what = `span ${want.name}`;
  assert.equal(got.trace_id, ctx.traceId, `${what}: trace_id`);
  assert.equal(got.span_id, ctx.spanId, `${what}: span_id`);
  assert.equal(got.parent_span_id ?? null, want.parentSpanContext?.spanId ?? null, `${what}: parent`);
  assert.equal(got.name, want.name);
  assert.equal(got.kind, KIND_NAMES[want.kind], `${what}: kind`);
  assert.equal(got.start_time_unix_nano, hrToNs(want.startTime), `${what}: start`);
  assert.equal(got.end_time_unix_nano, hrToNs(want.endTime), `${what}: end`);
  const durMs = Number(BigInt(hrToNs(want.endTime)) - BigInt(hrToNs(want.startTime))) / 1e6;
  assert.equal(typeof got.duration_ms, 'number', `${what}: duration_ms type`);
  assert.ok(Math.abs(got.duration_ms - durMs) < 0.001, `${what}: duration_ms ${got.duration_ms} != ${durMs}`);
  assert.deepEqual(
    { code: got.status?.code, message: got.status?.message || '' },
    { code: STATUS_NAMES[want.status.code], message: want.status.message || '' },
    `${what}: status`,
  );
  assert.deepEqual(got.attributes, { ...want.attributes }, `${what}: attributes`);
  assert.equal(got.events.length, want.events.length, `${what}: event count`);
  want.events.forEach((ev, i) => {
    assert.equal(got.events[i].name, ev.name, `${what}: event name`);
    assert.equal(got.events[i].time_unix_nano, hrToNs(ev.time), `${what}: event time`);
    assert.deepEqual(got.events[i].attributes ?? {}, { ...(ev.attributes ?? {}) }, `${what}: event attributes`);
  });
  assert.equal(got.links.length, want.links.length, `${what}: link count`);
  want.links.forEach((l, i) => {
    assert.equal(got.links[i].trace_id, l.context.traceId, `${what}: link trace_id`);
    assert.equal(got.links[i].span_id, l.context.spanId, `${what}: link span_id`);
    assert.deepEqual(got.links[i].attributes ?? {}, { ...(l.attributes ?? {}) }, `${what}: link attributes`);
  });
  assert.deepEqual(got.resource, { ...want.resource.attributes }, `${what}: resource`);
  assert.equal(got.scope?.name, want.instrumentationScope.name, `${what}: scope name`);
  // OTLP cannot tell an absent version from an empty one.
  assert.equal(got.scope?.version || '', want.instrumentationScope.version || '', `${what}: scope version`);
  assert.equal(got.service_name, serviceName, `${what}: service_name`);
}

/**
 * Asserts that the API's spans are exactly the SDK's (each once), ordered by start time.
 * @param {object[]} got the `traces` array of GET /v1/traces/spans
 * @param {import('@opentelemetry/sdk-trace-base').ReadableSpan[]} want
 */
export function assertSameSpans(got, want, serviceName) {
  assert.equal(got.length, want.length, `span count: got ${got.map((s) => s.name).join(', ')}`);
  const byId = new Map(got.map((s) => [s.span_id, s]));
  assert.equal(byId.size, got.length, 'a span id appears twice');
  for (const w of want) {
    const g = byId.get(w.spanContext().spanId);
    assert.ok(g, `span ${w.name} (${w.spanContext().spanId}) missing from the read-back`);
    assertSpanEquals(g, w, serviceName);
  }
  for (let i = 1; i < got.length; i++) {
    assert.ok(
      BigInt(got[i - 1].start_time_unix_nano) <= BigInt(got[i].start_time_unix_nano),
      `spans not ordered by start time at ${i}: ${got[i - 1].name} then ${got[i].name}`,
    );
  }
}

/**
 * Emits a span tree through `tracer` with explicit times, parents and statuses, so a suite can
 * state a trace's shape as data and compute what the analyses must find from the same data.
 * @param {import('@opentelemetry/api').Tracer} tracer
 * @param {bigint} baseNs the absolute time (nanoseconds) that node times are relative to
 * @param {{name: string, start: number, end: number, status?: 'OK'|'ERROR', message?: string,
 *   attributes?: object, children?: object[]}} node start/end in milliseconds from baseNs
 * @param {import('@opentelemetry/api').Span} [parent] the span to parent the node under; a root if omitted
 */
export function emitTree(tracer, baseNs, node, parent) {
  const at = (ms) => hr(baseNs + BigInt(Math.round(ms * 1000)) * 1000n);
  const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  const span = tracer.startSpan(
    node.name,
    { startTime: at(node.start), attributes: node.attributes ?? {} },
    ctx,
  );
  for (const c of node.children ?? []) emitTree(tracer, baseNs, c, span);
  if (node.status) {
    span.setStatus({
      code: node.status === 'ERROR' ? SpanStatusCode.ERROR : SpanStatusCode.OK,
      ...(node.message ? { message: node.message } : {}),
    });
  }
  span.end(at(node.end));
}

/**
 * Runs `emit(tracer)` on a fresh NodeTracerProvider whose SimpleSpanProcessor exports with the
 * real OTLP/HTTP protobuf exporter to `server`, with the key and the target header, the way the
 * seed configures an agent; fails unless every export succeeded.
 * @param {{url: string}} server
 * @param {string} key
 * @param {{sim?: string, conv?: string}} target the X-Simulation-Id or X-Conversation-Id
 * @param {(tracer: import('@opentelemetry/api').Tracer) => void} emit
 * @returns {Promise<import('@opentelemetry/sdk-trace-base').ReadableSpan[]>} the exported spans
 */
export async function sdkExport(server, key, target, emit) {
  const headers = { 'X-API-Key': key };
  if (target.sim) headers['X-Simulation-Id'] = target.sim;
  if (target.conv) headers['X-Conversation-Id'] = target.conv;
  const rec = new RecordingExporter(
    new OTLPProtoExporter({ url: `${server.url}/v1/traces`, headers, timeoutMillis: 30_000 }),
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'my-agent' }),
    spanProcessors: [new SimpleSpanProcessor(rec)],
  });
  emit(provider.getTracer('my-agent'));
  await provider.forceFlush();
  await provider.shutdown();
  assertAllExportsSucceeded(rec);
  return rec.spans;
}
