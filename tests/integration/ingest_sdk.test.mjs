// The real OpenTelemetry JS SDK exporting a voice-agent trace to voxtrace, configured the way the
// seed configures its agent (service.name "my-agent", X-API-Key + X-Simulation-Id headers,
// 30 s timeout), across both span processors, both OTLP/HTTP exporters (protobuf and JSON) and
// with and without gzip. Each combination gets its own simulation; the spans read back from
// GET /v1/traces/spans must equal what the SDK produced, field by field.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import {
  NodeTracerProvider,
  SimpleSpanProcessor,
  BatchSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { startServer } from './lib/server.mjs';
import {
  RecordingExporter,
  assertAllExportsSucceeded,
  assertSameSpans,
  emitVoiceTrace,
  VOICE_TRACE_ORDER,
} from './lib/otel.mjs';

let server;
let api;
let key;

before(async () => {
  server = await startServer();
  await server.createOrg('acme');
  key = await server.createKey('acme', ['traces:write', 'read', 'write']);
  api = server.client(key);
});

after(async () => {
  if (server) await server.stop();
});

const EXPORTERS = { proto: ProtoExporter, http: JsonExporter };
// An hour in the past, 10 s apart per trace so every combination's times are distinct. The odd
// nanoseconds make the times unrepresentable as doubles: they must survive as exact integers.
let nextBaseNs = BigInt(Date.now() - 3_600_000) * 1_000_000n + 123_457n;

async function exportVoiceTrace({ processor, exporter, compression }, simId) {
  const rec = new RecordingExporter(
    new EXPORTERS[exporter]({
      url: `${server.url}/v1/traces`,
      headers: { 'X-API-Key': key, 'X-Simulation-Id': simId },
      timeoutMillis: 30_000,
      ...(compression === 'gzip' ? { compression: 'gzip' } : {}),
    }),
  );
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'my-agent',
    [ATTR_SERVICE_VERSION]: '2.3.1',
    'agent.provider': 'pipecat',
    'process.pid': process.pid,
  });
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [
      processor === 'simple'
        ? new SimpleSpanProcessor(rec)
        : new BatchSpanProcessor(rec, { scheduledDelayMillis: 60_000, maxExportBatchSize: 512 }),
    ],
  });
  const tracer = provider.getTracer('my-agent', '1.4.0');
  const base = nextBaseNs;
  nextBaseNs += 10_000_000_000n;
  emitVoiceTrace(tracer, base, `call-${simId}`);
  await provider.forceFlush();
  await provider.shutdown();
  return rec;
}

const combos = [];
for (const processor of ['simple', 'batch']) {
  for (const exporter of ['proto', 'http']) {
    for (const compression of ['none', 'gzip']) combos.push({ processor, exporter, compression });
  }
}

for (const combo of combos) {
  const label = `${combo.processor} processor, otlp-${combo.exporter}, ${combo.compression}`;
  test(`SDK trace round-trips: ${label}`, async () => {
    const simId = await api.createSimulation(label);
    const rec = await exportVoiceTrace(combo, simId);

    assertAllExportsSucceeded(rec);
    assert.equal(rec.spans.length, VOICE_TRACE_ORDER.length, 'spans the SDK exported');
    if (combo.processor === 'simple') {
      assert.equal(rec.results.length, VOICE_TRACE_ORDER.length, 'one export per span');
    }

    const { traces, total_spans } = await api.allSpans({ simulation_output_id: simId });
    assert.equal(total_spans, VOICE_TRACE_ORDER.length);
    assert.deepEqual(traces.map((s) => s.name), VOICE_TRACE_ORDER);
    assertSameSpans(traces, rec.spans, 'my-agent');

    // Spot checks in the seed's vocabulary, independent of the generic comparison above.
    const by = Object.fromEntries(traces.map((s) => [s.name, s]));
    assert.equal(by.conversation.parent_span_id, null);
    assert.equal(by.turn.parent_span_id, by.conversation.span_id);
    assert.equal(by['stt.provider.deepgram'].parent_span_id, by.stt.span_id);
    assert.equal(by['stt.provider.google'].parent_span_id, by.stt.span_id);
    assert.equal(by.llm_tool_call.parent_span_id, by.llm.span_id);
    assert.equal(by.tts.parent_span_id, by.turn.span_id);
    assert.equal(new Set(traces.map((s) => s.trace_id)).size, 1, 'one trace');
    assert.deepEqual(by['stt.provider.deepgram'].status, {
      code: 'ERROR',
      message: 'deepgram: 503 Service Unavailable',
    });
    assert.equal(by['stt.provider.google'].status.code, 'OK');
    assert.equal(by.conversation.status.code, 'UNSET');
    assert.equal(by.conversation.kind, 'SERVER');
    assert.equal(by.llm.kind, 'CLIENT');
    assert.equal(by.stt.attributes.transcript, "I'd like to book a table for two at seven");
    assert.equal(by.stt.attributes['stt.confidence'], 0.93);
    assert.equal(by.llm.attributes['metrics.ttfb'], 0.42);
    assert.equal(by.llm.attributes['gen_ai.usage.input_tokens'], 812);
    assert.equal(by.llm.attributes['llm.finish_reason'], 'tool_calls');
    assert.deepEqual(by.llm.attributes['llm.stop_sequences'], ['\n\nUser:', 'END']);
    assert.equal(by.llm_tool_call.attributes['function.name'], 'book_table');
    assert.equal(by.llm_tool_call.attributes.tool_call_id, 'call_7Qx2mP');
    assert.equal(by.llm_tool_call.attributes['function.arguments'], '{"party_size":2,"time":"19:00"}');
    assert.equal(by.turn.attributes['turn.number'], 1);
    assert.equal(by.turn.attributes['turn.was_interrupted'], false);
    assert.equal(by.turn.attributes['turn.user_text'], 'Café für zwei, bitte 🍷');
    assert.deepEqual(by.tts.attributes['tts.chunk_ms'], [120, 80, 95]);
    assert.deepEqual(by.stt.events.map((e) => [e.name, e.attributes]), [
      ['stt.fallback', { 'stt.from': 'deepgram', 'stt.to': 'google', 'stt.attempt': 2, 'stt.retryable': true }],
    ]);
    assert.deepEqual(by.tts.links.map((l) => l.span_id), [by.llm.span_id]);
    assert.equal(by.tts.resource['service.name'], 'my-agent');
    assert.equal(by.tts.resource['process.pid'], process.pid);
    assert.deepEqual({ name: by.tts.scope.name, version: by.tts.scope.version }, {
      name: 'my-agent',
      version: '1.4.0',
    });

    const sim = await api.get(`/v1/simulations/${encodeURIComponent(simId)}`);
    assert.equal(sim.status, 200, sim.text);
    assert.equal(sim.json.simulation.simulation_id, simId);
    assert.equal(sim.json.simulation.span_count, VOICE_TRACE_ORDER.length);
  });
}

test('re-exporting the same SDK spans stores them once', async () => {
  const simId = await api.createSimulation('re-export');
  const rec = await exportVoiceTrace({ processor: 'batch', exporter: 'proto', compression: 'none' }, simId);
  assertAllExportsSucceeded(rec);
  // The exporter retries on its own only on retryable errors; a client that re-sends a batch
  // after a lost response is what dedup is for. Send the same ReadableSpans again.
  const again = new ProtoExporter({
    url: `${server.url}/v1/traces`,
    headers: { 'X-API-Key': key, 'X-Simulation-Id': simId },
  });
  const result = await new Promise((ok) => again.export(rec.spans, ok));
  await again.shutdown();
  assert.equal(result.code, 0, result.error?.message);
  const { traces, total_spans } = await api.allSpans({ simulation_output_id: simId });
  assert.equal(total_spans, VOICE_TRACE_ORDER.length);
  assertSameSpans(traces, rec.spans, 'my-agent');
});

test('spans of one simulation are not visible under another', async () => {
  const simA = await api.createSimulation('isolation A');
  const simB = await api.createSimulation('isolation B');
  await exportVoiceTrace({ processor: 'simple', exporter: 'http', compression: 'none' }, simA);
  const b = await api.allSpans({ simulation_output_id: simB });
  assert.equal(b.total_spans, 0);
  assert.deepEqual(b.traces, []);
  const a = await api.allSpans({ simulation_output_id: simA });
  assert.equal(a.total_spans, VOICE_TRACE_ORDER.length);
});

test('limit and offset page through the spans in start order', async () => {
  const simId = await api.createSimulation('paging');
  await exportVoiceTrace({ processor: 'batch', exporter: 'http', compression: 'gzip' }, simId);
  const q = (limit, offset) =>
    api.get(`/v1/traces/spans?simulation_output_id=${simId}&limit=${limit}&offset=${offset}`);
  const p1 = await q(3, 0);
  const p2 = await q(3, 3);
  const p3 = await q(3, 6);
  for (const p of [p1, p2, p3]) {
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.total_spans, VOICE_TRACE_ORDER.length);
  }
  assert.deepEqual(
    [...p1.json.traces, ...p2.json.traces, ...p3.json.traces].map((s) => s.name),
    VOICE_TRACE_ORDER,
  );
  assert.equal(p3.json.traces.length, 2);
});
