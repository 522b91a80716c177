// GET /v1/traces/export (DESIGN.md 5.4) and `voxtrace import` (section 4): a call's trace exported
// as OTLP JSON and imported into another simulation or conversation reads back as the same spans,
// field by field; the same file posted to /v1/traces is accepted unchanged; importing twice
// stores nothing twice; and the errors of both sides.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { startServer } from './lib/server.mjs';
import {
  RecordingExporter,
  assertAllExportsSucceeded,
  assertSameSpans,
  emitVoiceTrace,
  VOICE_TRACE_ORDER,
} from './lib/otel.mjs';
import { assertApiError, ingestOk, postOtlp, otlpRequest, span, hex, nowNs, MS } from './lib/otlp_json.mjs';

let server;
let key;
let api;
let dir;

before(async () => {
  server = await startServer();
  await server.createOrg('porter');
  key = await server.createKey('porter');
  api = server.client(key);
  dir = mkdtempSync(join(tmpdir(), 'voxtrace-export-'));
});

after(async () => {
  if (server) await server.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let runId;
async function newSim(simulationId) {
  if (!runId) runId = (await api.post('/v1/runs', { display_name: 'export' })).json.run.run_id;
  const body = { run_id: runId, ...(simulationId ? { simulation_id: simulationId } : {}) };
  const r = await api.post('/v1/simulations', body);
  assert.equal(r.status, 200, r.text);
  return r.json.simulation.simulation_id;
}

async function newConv() {
  const r = await api.post('/v1/conversations:submit', { transcript: [{ role: 'user', content: 'Hi' }] });
  assert.equal(r.status, 200, r.text);
  return r.json.conversation.conversation_id;
}

/** The SDK's voice trace plus spans of a second resource and scope, into one target. */
async function fillTarget(target, baseNs) {
  const rec = new RecordingExporter(new OTLPTraceExporter({
    url: `${server.url}/v1/traces`,
    headers: {
      'X-API-Key': key,
      ...(target.sim ? { 'X-Simulation-Id': target.sim } : { 'X-Conversation-Id': target.conv }),
    },
  }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'my-agent', 'service.version': '2.3.1', 'agent.provider': 'pipecat',
    }),
    spanProcessors: [new BatchSpanProcessor(rec)],
  });
  emitVoiceTrace(provider.getTracer('my-agent', '1.4.0'), baseNs, 'export-call');
  await provider.forceFlush();
  await provider.shutdown();
  assertAllExportsSucceeded(rec);

  // A second process's spans, hand-built: a double that is a whole number, a negative int, a
  // huge int, an event with attributes, and an error status.
  const t = hex(16);
  const extra = otlpRequest([
    span({
      traceId: t, name: 'transport', start: baseNs, end: baseNs + 5_000n * MS,
      attributes: { 'net.peer.port': 5060, gain: { double: 2 }, offset: -17, big: 9007199254740993n, codec: 'opus' },
      events: [{ name: 'packet_loss', time: baseNs + 100n * MS, attributes: { lost: 3 } }],
    }),
    span({ traceId: t, name: 'sip', start: baseNs + 1n, end: baseNs + 2n, status: 'ERROR', message: 'BYE timeout' }),
  ], { resource: { 'service.name': 'transport', 'host.name': 'edge-1' }, scope: { name: 'livekit', version: '0.9' } });
  await ingestOk(server, key, target, extra);
  return rec.spans;
}

async function exportOf(query) {
  const r = await api.get(`/v1/traces/export?${new URLSearchParams(query)}`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.ok(Array.isArray(r.json.resourceSpans), `no resourceSpans in ${r.text.slice(0, 200)}`);
  return r;
}

const writeFile = (name, text) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** The read API's spans of two targets must be identical. */
async function assertSameStoredSpans(fromQuery, toQuery) {
  const a = await api.allSpans(fromQuery);
  const b = await api.allSpans(toQuery);
  assert.equal(b.total_spans, a.total_spans);
  assert.deepEqual(b.traces, a.traces);
  return a;
}

test('export -> voxtrace import into another simulation gives the same spans', async () => {
  const simA = await newSim('export-src');
  const base = (nowNs() / MS - 300_000n) * MS + 123_457n;
  const sdkSpans = await fillTarget({ sim: simA }, base);

  const exported = await exportOf({ simulation_output_id: simA });
  const doc = exported.json;
  const flat = doc.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({ rs, ss, sp }))));
  assert.equal(flat.length, VOICE_TRACE_ORDER.length + 2);
  // The OTLP JSON mapping: hex ids, times as decimal strings, resources and scopes kept apart.
  for (const { sp } of flat) {
    assert.match(sp.traceId, /^[0-9a-f]{32}$/);
    assert.match(sp.spanId, /^[0-9a-f]{16}$/);
    assert.match(String(sp.startTimeUnixNano), /^\d+$/);
  }
  const serviceOf = (rs) => rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue;
  const services = new Set(flat.map(({ rs }) => serviceOf(rs)));
  assert.deepEqual([...services].sort(), ['my-agent', 'transport']);
  const sip = flat.find(({ sp }) => sp.name === 'sip');
  assert.deepEqual(sip.ss.scope.name, 'livekit');
  assert.equal(sip.ss.scope.version, '0.9');
  const turn = flat.find(({ sp }) => sp.name === 'turn').sp;
  const sdkTurn = sdkSpans.find((s) => s.name === 'turn');
  assert.equal(turn.spanId, sdkTurn.spanContext().spanId);
  assert.equal(turn.parentSpanId, sdkTurn.parentSpanContext.spanId);

  assert.equal(exported.headers.get('content-disposition'),
    'attachment; filename="voxtrace-simulation-export-src.json"');
  const file = writeFile('a.json', exported.text);
  const simB = await newSim('import-dst');
  const imp = await server.runCli(['import', '--org', 'porter', '--simulation', simB, file]);
  assert.equal(imp.code, 0, `import failed: ${imp.stderr}`);
  assert.equal(imp.stdout.trim(), `imported ${VOICE_TRACE_ORDER.length + 2} spans (0 duplicates, 0 rejected)`);

  const a = await assertSameStoredSpans({ simulation_output_id: simA }, { simulation_output_id: simB });
  assert.equal(a.total_spans, VOICE_TRACE_ORDER.length + 2);
  // The imported spans are the SDK's spans, not just equal to the source's read-back.
  const b = await api.allSpans({ simulation_output_id: simB });
  assertSameSpans(b.traces.filter((s) => s.service_name === 'my-agent'), sdkSpans, 'my-agent');
  const transport = b.traces.find((s) => s.name === 'transport');
  assert.deepEqual(transport.attributes,
    { 'net.peer.port': 5060, gain: 2, offset: -17, big: 9007199254740993, codec: 'opus' });
  const rawB = (await api.get(`/v1/traces/spans?simulation_output_id=${simB}&limit=100`)).text;
  assert.ok(rawB.includes('"big":9007199254740993'), 'the 64-bit integer survives exactly');
  assert.match(rawB, /"gain":(2\.0*|2(\.0*)?e[+-]?0+)[,}]/, 'the whole-number double stays a double');
  assert.equal((await api.get(`/v1/simulations/${simB}`)).json.simulation.span_count, VOICE_TRACE_ORDER.length + 2);

  // Exporting the copy gives the same document.
  const again = await exportOf({ simulation_output_id: simB });
  assert.deepEqual(again.json, doc);

  // Importing the same file twice stores nothing twice, and counts the duplicates.
  const n = VOICE_TRACE_ORDER.length + 2;
  const twice = await server.runCli(['import', '--org', 'porter', '--simulation', simB, file]);
  assert.equal(twice.code, 0, twice.stderr);
  assert.equal(twice.stdout.trim(), `imported 0 spans (${n} duplicates, 0 rejected)`);
  assert.equal((await api.allSpans({ simulation_output_id: simB })).total_spans, n);
  const sum = await api.get(`/v1/traces/summary?simulation_id=${simB}`);
  assert.equal(sum.json.trace_summary.duplicate_span_count, n);
  // Into the call it came from: every span is a duplicate.
  const home = await server.runCli(['import', '--org', 'porter', '--simulation', simA, file]);
  assert.equal(home.code, 0, home.stderr);
  assert.equal(home.stdout.trim(), `imported 0 spans (${n} duplicates, 0 rejected)`);
  assert.equal((await api.allSpans({ simulation_output_id: simA })).total_spans, n);
});

test('the exported document is accepted unchanged by POST /v1/traces', async () => {
  const src = await newSim();
  await fillTarget({ sim: src }, (nowNs() / MS - 200_000n) * MS);
  const exported = await exportOf({ simulation_output_id: src });
  const dst = await newSim();
  const r = await postOtlp(server, key, { sim: dst }, JSON.parse(exported.text));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted_spans, VOICE_TRACE_ORDER.length + 2);
  assert.equal(r.json.partialSuccess, undefined);
  await assertSameStoredSpans({ simulation_output_id: src }, { simulation_output_id: dst });
});

test('a conversation exports and imports too, also across target kinds', async () => {
  const convA = await newConv();
  await fillTarget({ conv: convA }, (nowNs() / MS - 100_000n) * MS);
  const exported = await exportOf({ conversation_id: convA });
  const file = writeFile('conv.json', exported.text);

  const convB = await newConv();
  const imp = await server.runCli(['import', '--org', 'porter', '--conversation', convB, file]);
  assert.equal(imp.code, 0, imp.stderr);
  await assertSameStoredSpans({ conversation_id: convA }, { conversation_id: convB });
  const convRead = await api.get(`/v1/conversations/${convB}`);
  assert.equal(convRead.json.conversation.span_count, VOICE_TRACE_ORDER.length + 2);

  const sim = await newSim();
  const toSim = await server.runCli(['import', '--org', 'porter', '--simulation', sim, file]);
  assert.equal(toSim.code, 0, toSim.stderr);
  await assertSameStoredSpans({ conversation_id: convA }, { simulation_output_id: sim });
});

test('export of an empty target, and export errors', async () => {
  const empty = await newSim();
  const r = await exportOf({ simulation_output_id: empty });
  assert.equal(r.json.resourceSpans.length, 0);
  assertApiError(await api.get('/v1/traces/export'), 400, 'INVALID_ARGUMENT');
  assertApiError(await api.get('/v1/traces/export?simulation_output_id=nope'), 404, 'NOT_FOUND');
  assertApiError(await api.get('/v1/traces/export?conversation_id=01HZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'NOT_FOUND');
});

test('voxtrace import refuses what it cannot load, and stores nothing', async () => {
  const sim = await newSim();
  const good = writeFile('good.json', JSON.stringify(otlpRequest([
    span({ name: 'llm', start: nowNs() - 2n * MS, end: nowNs() - MS }),
  ])));
  const cases = [
    ['unknown simulation', ['import', '--org', 'porter', '--simulation', 'no-such-sim', good]],
    ['unknown conversation', ['import', '--org', 'porter', '--conversation', '01HZZZZZZZZZZZZZZZZZZZZZZZ', good]],
    ['unknown org', ['import', '--org', 'no-such-org', '--simulation', sim, good]],
    ['no target', ['import', '--org', 'porter', good]],
    ['both targets', ['import', '--org', 'porter', '--simulation', sim, '--conversation', 'x', good]],
    ['missing file', ['import', '--org', 'porter', '--simulation', sim, join(dir, 'absent.json')]],
    ['not JSON', ['import', '--org', 'porter', '--simulation', sim, writeFile('bad.json', '{"resourceSpans": [')]],
    ['not OTLP JSON', ['import', '--org', 'porter', '--simulation', sim,
      writeFile('proto.bin', Buffer.from([0x0a, 0x02, 0x08, 0x01]))]],
  ];
  for (const [what, args] of cases) {
    const r = await server.runCli(args);
    assert.notEqual(r.code, 0, `${what}: exit code 0`);
    assert.ok(r.stderr.trim().length > 0, `${what}: no message on stderr`);
  }
  assert.equal((await api.allSpans({ simulation_output_id: sim })).total_spans, 0);
  // The org's other simulations are not importable from another org's name.
  await server.createOrg('other-org');
  const cross = await server.runCli(['import', '--org', 'other-org', '--simulation', sim, good]);
  assert.notEqual(cross.code, 0, 'importing into another org\'s simulation');
  assert.equal((await api.allSpans({ simulation_output_id: sim })).total_spans, 0);
});

// One span with every OTLP detail the read API shows: trace state, flags, kind, dropped counts,
// a key-value list, a 64-bit minimum, an empty value, event and link details, scope attributes.
function detailedRequest(now) {
  return {
    resourceSpans: [{
      resource: { attributes: [
        { key: 'service.name', value: { stringValue: 'svc' } },
        { key: 'k8s', value: { kvlistValue: { values: [{ key: 'pod', value: { stringValue: 'p-1' } }] } } },
      ] },
      scopeSpans: [{
        scope: { name: 'sc', version: '2', attributes: [{ key: 'lib', value: { stringValue: 'x' } }] },
        spans: [{
          traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', parentSpanId: '00f067aa0ba902b7',
          traceState: 'congo=t61rcWkgMzE', flags: 257, name: 'weird', kind: 3,
          startTimeUnixNano: String(now - 1_000_000n), endTimeUnixNano: String(now),
          attributes: [
            { key: 'kv', value: { kvlistValue: { values: [
              { key: 'a', value: { intValue: '1' } },
              { key: 'b', value: { arrayValue: { values: [{ boolValue: true }, { doubleValue: 1.5 }] } } },
            ] } } },
            { key: 'empty', value: { stringValue: '' } },
            { key: 'min', value: { intValue: '-9223372036854775808' } },
          ],
          droppedAttributesCount: 3, droppedEventsCount: 4, droppedLinksCount: 5,
          events: [{ name: 'e', timeUnixNano: String(now - 500n), attributes: [], droppedAttributesCount: 6 }],
          links: [{
            traceId: '1af7651916cd43dd8448eb211c80319c', spanId: 'c7ad6b7169203331', traceState: 'x=y', flags: 1,
            attributes: [{ key: 'l', value: { stringValue: 'v' } }],
          }],
          status: { code: 2, message: 'boom' },
        }],
      }],
    }],
  };
}

test('every OTLP detail survives export and import', async () => {
  const src = await newSim();
  await ingestOk(server, key, { sim: src }, detailedRequest(nowNs() - 10_000n * MS));
  const exported = await exportOf({ simulation_output_id: src });
  const dst = await newSim();
  const file = writeFile('detail.json', exported.text);
  const imp = await server.runCli(['import', '--org', 'porter', '--simulation', dst, file]);
  assert.equal(imp.code, 0, imp.stderr);
  const { traces } = await assertSameStoredSpans({ simulation_output_id: src }, { simulation_output_id: dst });
  const s = traces[0];
  assert.equal(s.trace_state, 'congo=t61rcWkgMzE');
  assert.equal(s.kind, 'CLIENT');
  assert.deepEqual([s.dropped_attributes_count, s.dropped_events_count, s.dropped_links_count], [3, 4, 5]);
  assert.deepEqual(s.attributes.kv, { a: 1, b: [true, 1.5] });
  assert.equal(s.attributes.empty, '');
  assert.equal(s.events[0].dropped_attributes_count, 6);
  assert.equal(s.links[0].trace_state, 'x=y');
  assert.deepEqual(s.scope, { name: 'sc', version: '2', attributes: { lib: 'x' } });
  assert.deepEqual(s.resource, { 'service.name': 'svc', k8s: { pod: 'p-1' } });
  const raw = (await api.get(`/v1/traces/spans?simulation_output_id=${dst}`)).text;
  assert.ok(raw.includes('"min":-9223372036854775808'), 'the 64-bit minimum survives exactly');
  // The export itself keeps the OTLP types and the flags.
  const sp = exported.json.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(sp.flags, 257);
  assert.deepEqual(sp.attributes.find((a) => a.key === 'min').value, { intValue: '-9223372036854775808' });
});

test('a bytes attribute comes back as its base64 text (docs/api.md)', async () => {
  const src = await newSim();
  const now = nowNs() - 5_000n * MS;
  await ingestOk(server, key, { sim: src }, otlpRequest([{
    ...span({ name: 'audio.chunk', start: now, end: now + MS }),
    attributes: [{ key: 'pcm', value: { bytesValue: 'AAEC/w==' } }],
  }]));
  const exported = await exportOf({ simulation_output_id: src });
  const attr = exported.json.resourceSpans[0].scopeSpans[0].spans[0].attributes.find((a) => a.key === 'pcm');
  assert.deepEqual(attr.value, { stringValue: 'AAEC/w==' });
  const dst = await newSim();
  const file = writeFile('bytes.json', exported.text);
  const imp = await server.runCli(['import', '--org', 'porter', '--simulation', dst, file]);
  assert.equal(imp.code, 0, imp.stderr);
  const { traces } = await assertSameStoredSpans({ simulation_output_id: src }, { simulation_output_id: dst });
  assert.equal(traces[0].attributes.pcm, 'AAEC/w==');
});
