// The seed's monitoring flow, step by step: spans are buffered in an InMemorySpanExporter during
// the call, the transcript is submitted to POST /v1/conversations:submit (lowercase x-api-key
// header, as the seed's requests example sends it), and the buffered spans are exported with
// X-Conversation-Id right after, then read back by conversation id.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  NodeTracerProvider,
  SimpleSpanProcessor,
  InMemorySpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { startServer } from './lib/server.mjs';
import { assertSameSpans } from './lib/otel.mjs';

// The transcript of the seed's submit example.
const SEED_TRANSCRIPT = [
  { role: 'user', content: 'Hello', start_time: 0.0, end_time: 1.2 },
  { role: 'assistant', content: 'Hi! How can I help?', start_time: 1.5, end_time: 3.0 },
];
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let server;
let key;
let provider;
let memory;

before(async () => {
  server = await startServer();
  await server.createOrg('monitor-co');
  key = await server.createKey('monitor-co');
  // Set up like the seed's "Call setup": a global provider, spans buffered in memory.
  memory = new InMemorySpanExporter();
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'my-agent' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  provider.register();
});

after(async () => {
  if (provider) await provider.shutdown();
  if (server) await server.stop();
});

async function submitConversation(body) {
  const res = await fetch(`${server.url}/v1/conversations:submit`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') || '', /application\/json/);
  return JSON.parse(text);
}

async function readSpans(conversationId) {
  const res = await fetch(
    `${server.url}/v1/traces/spans?conversation_id=${encodeURIComponent(conversationId)}`,
    { headers: { 'X-API-Key': key } },
  );
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** The seed's "During the call" block, using the active-span API like start_as_current_span. */
function instrumentCall() {
  memory.reset();
  const tracer = trace.getTracer('my-agent');
  tracer.startActiveSpan('llm', (span) => {
    span.setAttribute('metrics.ttfb', 0.42);
    span.end();
  });
  tracer.startActiveSpan('tts', (span) => {
    span.setAttribute('metrics.ttfb', 0.18);
    span.end();
  });
  return [...memory.getFinishedSpans()];
}

/** Names of SDK spans in the order GET /v1/traces/spans returns them. */
function readOrder(spans) {
  const ns = (s) => BigInt(s.startTime[0]) * 1_000_000_000n + BigInt(s.startTime[1]);
  const key = (s) => [ns(s), s.spanContext().traceId, s.spanContext().spanId];
  return [...spans]
    .sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
      return x[1] !== y[1] ? (x[1] < y[1] ? -1 : 1) : x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0;
    })
    .map((s) => s.name);
}

function exportWith(Exporter, conversationId, spans) {
  const exporter = new Exporter({
    url: `${server.url}/v1/traces`,
    headers: { 'X-API-Key': key, 'X-Conversation-Id': conversationId },
    timeoutMillis: 30_000,
  });
  return new Promise((ok) => exporter.export(spans, ok)).finally(() => exporter.shutdown());
}

test('buffer, submit the transcript, export with X-Conversation-Id, read back', async () => {
  const finished = instrumentCall();
  assert.deepEqual(finished.map((s) => s.name), ['llm', 'tts']);

  const submitted = await submitConversation({ transcript: SEED_TRANSCRIPT });
  const conv = submitted.conversation;
  assert.ok(conv, `no conversation in ${JSON.stringify(submitted)}`);
  assert.match(conv.conversation_id, ULID);
  assert.equal(conv.name, `conversations/${conv.conversation_id}`);
  assert.equal(typeof conv.status, 'string');
  assert.ok(conv.status.length > 0);

  // "Traces can be sent immediately after submitting a conversation — no delay is needed."
  const result = await exportWith(OTLPTraceExporter, conv.conversation_id, finished);
  assert.equal(result.code, 0, `export failed: ${result.error?.message}`);

  const got = await readSpans(conv.conversation_id);
  assert.equal(got.total_spans, 2);
  // The two spans are roots of separate traces and may start in the same nanosecond; the API
  // orders by start time, then trace id, then span id.
  assert.deepEqual(got.traces.map((s) => s.name), readOrder(finished));
  const byName = Object.fromEntries(got.traces.map((s) => [s.name, s]));
  assert.equal(byName.llm.attributes['metrics.ttfb'], 0.42);
  assert.equal(byName.tts.attributes['metrics.ttfb'], 0.18);
  for (const s of got.traces) {
    assert.equal(s.service_name, 'my-agent');
    assert.equal(s.resource['service.name'], 'my-agent');
    assert.equal(s.parent_span_id, null, 'sibling spans at the root, as in the seed');
    assert.equal(s.scope.name, 'my-agent');
  }
  assertSameSpans(got.traces, finished, 'my-agent');
});

test('conversations are separate trace targets', async () => {
  const a = (await submitConversation({ transcript: SEED_TRANSCRIPT })).conversation;
  const b = (await submitConversation({ transcript: SEED_TRANSCRIPT })).conversation;
  assert.notEqual(a.conversation_id, b.conversation_id);

  const spans = instrumentCall();
  const result = await exportWith(JsonExporter, a.conversation_id, spans);
  assert.equal(result.code, 0, `export failed: ${result.error?.message}`);

  assert.equal((await readSpans(a.conversation_id)).total_spans, 2);
  const other = await readSpans(b.conversation_id);
  assert.equal(other.total_spans, 0);
  assert.deepEqual(other.traces, []);
});

test('the ingest answer names the conversation in simulation_output_id', async () => {
  const conv = (await submitConversation({ transcript: SEED_TRANSCRIPT })).conversation;
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my-agent' } }] },
        scopeSpans: [
          {
            scope: { name: 'my-agent' },
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b174',
                name: 'llm',
                kind: 1,
                startTimeUnixNano: String(now - 1_000_000n),
                endTimeUnixNano: String(now),
                attributes: [{ key: 'metrics.ttfb', value: { doubleValue: 0.42 } }],
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${server.url}/v1/traces`, {
    method: 'POST',
    headers: {
      'X-API-Key': key,
      'X-Conversation-Id': conv.conversation_id,
      'Content-Type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  assert.equal(json.status, 'ok');
  assert.equal(json.simulation_output_id, conv.conversation_id);
  assert.equal(json.accepted_spans, 1);
  assert.equal(json.partialSuccess, undefined);
  const got = await readSpans(conv.conversation_id);
  assert.equal(got.total_spans, 1);
  assert.equal(got.traces[0].span_id, 'eee19b7ec3c1b174');
});
