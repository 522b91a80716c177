// Every way a POST /v1/traces can go wrong, sent with raw fetch so the exact status code, content
// type and body can be checked: auth failures, scope and org checks, target headers, malformed
// protobuf and JSON, invalid spans (partial success), unsupported content types, size caps and
// gzip bombs, plus the edge cases that must succeed: re-sent spans stored once, empty requests,
// chunked bodies.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { startServer, readResponse } from './lib/server.mjs';
import { decodeRpcStatus, decodeExportResponse, encodeTraceRequest } from './lib/pb.mjs';

const MISSING_TARGET = 'Missing required header: X-Simulation-Id or X-Conversation-Id';
// google.rpc.Code values the protobuf error bodies carry.
const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16 };
const SMALL_CAP = 65536;

let server; // default limits
let small; // --max-body 65536
let key; // org "acme", default scopes
let simId; // a simulation of acme
let other; // {key, simId} of org "globex"

before(async () => {
  [server, small] = await Promise.all([
    startServer(),
    startServer({ args: ['--max-body', String(SMALL_CAP)] }),
  ]);
  await server.createOrg('acme');
  key = await server.createKey('acme');
  simId = await server.client(key).createSimulation('errors');
  await server.createOrg('globex');
  const otherKey = await server.createKey('globex');
  other = { key: otherKey, simId: await server.client(otherKey).createSimulation('globex run') };
});

after(async () => {
  await Promise.all([server?.stop(), small?.stop()]);
});

// ---- request builders -----------------------------------------------------------------------

const hex = (n) => randomBytes(n).toString('hex');
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/** One OTLP JSON span; ids are hex strings taken as given. */
function jsonSpan({ traceId = hex(16), spanId = hex(8), parentSpanId, name = 'llm', start, end } = {}) {
  const t = nowNs();
  return {
    traceId,
    spanId,
    ...(parentSpanId !== undefined ? { parentSpanId } : {}),
    name,
    kind: 1,
    startTimeUnixNano: String(start ?? t - 5_000_000n),
    endTimeUnixNano: String(end ?? t),
    attributes: [{ key: 'metrics.ttfb', value: { doubleValue: 0.42 } }],
    status: {},
  };
}

function jsonRequest(spans) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my-agent' } }] },
        scopeSpans: [{ scope: { name: 'my-agent' }, spans }],
      },
    ],
  };
}

/**
 * POST /v1/traces with exactly the given headers (no defaults beyond what is passed).
 * @param {object} o
 * @param {string} [o.key] sent as X-API-Key
 * @param {string} [o.sim] X-Simulation-Id
 * @param {string} [o.conv] X-Conversation-Id
 * @param {string|null} [o.ct] Content-Type (application/json unless null)
 * @param {any} [o.body] string, Buffer, stream or object (JSON-encoded)
 * @param {boolean} [o.gzip] gzip the body and send Content-Encoding: gzip
 */
async function postTraces(o, target = server) {
  const headers = { ...(o.headers || {}) };
  if (o.key) headers['X-API-Key'] = o.key;
  if (o.sim) headers['X-Simulation-Id'] = o.sim;
  if (o.conv) headers['X-Conversation-Id'] = o.conv;
  const ct = o.ct === undefined ? 'application/json' : o.ct;
  if (ct !== null) headers['Content-Type'] = ct;
  let body = o.body;
  if (body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body) && !(body instanceof ReadableStream)) {
    body = JSON.stringify(body);
  }
  if (o.gzip) {
    body = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  const init = { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) };
  if (body instanceof ReadableStream) init.duplex = 'half';
  return readResponse(await fetch(`${target.url}/v1/traces`, init));
}

function assertJsonError(res, status, code, message) {
  assert.equal(res.status, status, `status; body: ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^application\/json/, 'error content type');
  assert.ok(res.json && res.json.error, `not a JSON error body: ${res.text}`);
  assert.equal(res.json.error.code, code, `error code; body: ${res.text}`);
  assert.equal(typeof res.json.error.message, 'string');
  if (message instanceof RegExp) assert.match(res.json.error.message, message);
  else if (message !== undefined) assert.equal(res.json.error.message, message);
  else assert.ok(res.json.error.message.length > 0, 'empty error message');
}

function assertPbError(res, status, grpcCode, message, what = '') {
  assert.equal(res.status, status, `${what} status; body: ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^application\/x-protobuf/, 'error content type');
  const st = decodeRpcStatus(res.body);
  assert.equal(st.code, grpcCode, `google.rpc.Status code (message: ${st.message})`);
  if (message instanceof RegExp) assert.match(st.message, message);
  else if (message !== undefined) assert.equal(st.message, message);
  else assert.ok(st.message.length > 0, 'empty google.rpc.Status message');
  return st;
}

async function spansOf(target, apiKey = key) {
  const q = new URLSearchParams({ limit: '1000', ...target });
  const url = `${server.url}/v1/traces/spans?${q}`;
  return readResponse(await fetch(url, { headers: { 'X-API-Key': apiKey } }));
}

const validBody = () => jsonRequest([jsonSpan()]);

// ---- authentication and authorisation ---------------------------------------------------------

test('no API key: 401 UNAUTHENTICATED', async () => {
  const sim = await server.client(key).createSimulation('no key');
  assertJsonError(await postTraces({ sim, body: validBody() }), 401, 'UNAUTHENTICATED');
  const pb = await postTraces({ sim, ct: 'application/x-protobuf', body: Buffer.alloc(0) });
  assertPbError(pb, 401, GRPC.UNAUTHENTICATED);
  // Nothing was stored on the way.
  assert.equal((await spansOf({ simulation_output_id: sim })).json.total_spans, 0);
});

test('wrong API key: 401 UNAUTHENTICATED, as X-API-Key and as Bearer', async () => {
  const wrong = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assertJsonError(await postTraces({ key: wrong, sim: simId, body: validBody() }), 401, 'UNAUTHENTICATED');
  assertJsonError(
    await postTraces({ key: 'vt_not_a_key_at_all', sim: simId, body: validBody() }),
    401,
    'UNAUTHENTICATED',
  );
  const bearer = await postTraces({
    headers: { Authorization: `Bearer ${wrong}` },
    sim: simId,
    body: validBody(),
  });
  assertJsonError(bearer, 401, 'UNAUTHENTICATED');
});

test('a valid key works as Authorization: Bearer', async () => {
  const sim = await server.client(key).createSimulation('bearer');
  const res = await postTraces({ headers: { Authorization: `Bearer ${key}` }, sim, body: validBody() });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.accepted_spans, 1);
});

test('revoked key: 401 after `keys revoke PREFIX`', async () => {
  const doomed = await server.createKey('acme');
  const works = await postTraces({ key: doomed, sim: simId, body: validBody() });
  assert.equal(works.status, 200, `the key works before it is revoked: ${works.text}`);

  const list = await server.cli(['keys', 'list', '--org', 'acme']);
  const lines = list.stdout.split('\n').filter((l) => l.trim());
  assert.ok(lines.length >= 3, `a header line and at least two keys:\n${list.stdout}`);
  const prefix = doomed.slice(0, 12);
  const row = lines.slice(1).find((l) => l.trim().split(/\s+/)[0] === prefix);
  assert.ok(row, `no row for prefix ${prefix} in:\n${list.stdout}`);
  assert.ok(!list.stdout.includes(doomed), 'keys list must not print the whole key');

  await server.cli(['keys', 'revoke', row.trim().split(/\s+/)[0]]);
  assertJsonError(await postTraces({ key: doomed, sim: simId, body: validBody() }), 401, 'UNAUTHENTICATED');
  // Other keys of the org are untouched.
  assert.equal((await postTraces({ key, sim: simId, body: validBody() })).status, 200);
});

test('key without traces:write: 403 PERMISSION_DENIED; it can still read', async () => {
  const readOnly = await server.createKey('acme', 'read');
  const sim = await server.client(key).createSimulation('scopes');
  assertJsonError(await postTraces({ key: readOnly, sim, body: validBody() }), 403, 'PERMISSION_DENIED');
  const pb = await postTraces({ key: readOnly, sim, ct: 'application/x-protobuf', body: Buffer.alloc(0) });
  assertPbError(pb, 403, GRPC.PERMISSION_DENIED);
  const read = await spansOf({ simulation_output_id: sim }, readOnly);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.json.total_spans, 0);

  // The reverse: a key with only traces:write ingests.
  const writer = await server.createKey('acme', 'traces:write');
  const ok = await postTraces({ key: writer, sim, body: validBody() });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.accepted_spans, 1);
});

test("another org's simulation: 404 Simulation output not found", async () => {
  const res = await postTraces({ key, sim: other.simId, body: validBody() });
  assertJsonError(res, 404, 'NOT_FOUND', 'Simulation output not found');
  // The simulation exists: its own org can write to it.
  const own = await postTraces({ key: other.key, sim: other.simId, body: validBody() });
  assert.equal(own.status, 200, own.text);
  // And reading it from the wrong org is just as unknown.
  const read = await spansOf({ simulation_output_id: other.simId });
  assertJsonError(read, 404, 'NOT_FOUND');
  const sim = await server.client(key).get(`/v1/simulations/${other.simId}`);
  assertJsonError(sim, 404, 'NOT_FOUND');
});

// ---- target headers -----------------------------------------------------------------------

test('missing target header: 400 with the exact message', async () => {
  assertJsonError(await postTraces({ key, body: validBody() }), 400, 'INVALID_ARGUMENT', MISSING_TARGET);
  const pb = await postTraces({ key, ct: 'application/x-protobuf', body: Buffer.alloc(0) });
  assertPbError(pb, 400, GRPC.INVALID_ARGUMENT, MISSING_TARGET);
  // An empty header value is the same as none.
  assertJsonError(
    await postTraces({ key, headers: { 'X-Simulation-Id': '' }, body: validBody() }),
    400,
    'INVALID_ARGUMENT',
    MISSING_TARGET,
  );
});

test('both target headers: 400 INVALID_ARGUMENT', async () => {
  const res = await postTraces({ key, sim: simId, conv: simId, body: validBody() });
  assertJsonError(res, 400, 'INVALID_ARGUMENT', /X-Simulation-Id.*X-Conversation-Id|both/i);
});

test('unknown simulation or conversation id: 404 with the exact message', async () => {
  assertJsonError(
    await postTraces({ key, sim: 'no-such-simulation', body: validBody() }),
    404,
    'NOT_FOUND',
    'Simulation output not found',
  );
  assertJsonError(
    await postTraces({ key, conv: '01J0000000000000000000000Z', body: validBody() }),
    404,
    'NOT_FOUND',
    'Conversation not found',
  );
  const pb = await postTraces({ key, sim: 'no-such-simulation', ct: 'application/x-protobuf', body: Buffer.alloc(0) });
  assertPbError(pb, 404, GRPC.NOT_FOUND, 'Simulation output not found');
});

// ---- malformed bodies -----------------------------------------------------------------------

test('malformed protobuf: 400 with a google.rpc.Status body', async () => {
  const cases = {
    'truncated length-delimited field': Buffer.from([0x0a, 0x05, 0x01]),
    'wire type 7': Buffer.from([0x0f, 0x00]),
    'overlong varint': Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    // A span whose trace_id field claims more bytes than its message holds.
    'truncated nested span': Buffer.from([0x0a, 0x08, 0x12, 0x06, 0x12, 0x04, 0x0a, 0x10, 0x01, 0x02]),
  };
  for (const [what, body] of Object.entries(cases)) {
    const res = await postTraces({ key, sim: simId, ct: 'application/x-protobuf', body });
    assertPbError(res, 400, GRPC.INVALID_ARGUMENT, undefined, what);
  }
  // The server survived all of them.
  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
});

test('malformed JSON: 400 INVALID_ARGUMENT JSON error body', async () => {
  const cases = ['not json', '{"resourceSpans":[', '{"resourceSpans":"nope"}', '[1,2,3]'];
  for (const body of cases) {
    const res = await postTraces({ key, sim: simId, body });
    assertJsonError(res, 400, 'INVALID_ARGUMENT');
  }
});

test('invalid ids and times: 200 with partialSuccess.rejectedSpans, valid spans stored', async () => {
  const sim = await server.client(key).createSimulation('partial');
  const good1 = jsonSpan({ name: 'turn' });
  const good2 = jsonSpan({ traceId: good1.traceId, parentSpanId: good1.spanId, name: 'llm' });
  const t = nowNs();
  const bad = [
    jsonSpan({ traceId: '0'.repeat(32) }), // all-zero trace id
    jsonSpan({ spanId: '0'.repeat(16) }), // all-zero span id
    jsonSpan({ traceId: hex(8) }), // 8-byte trace id
    jsonSpan({ spanId: hex(3) }), // 3-byte span id
    jsonSpan({ parentSpanId: hex(4) }), // 4-byte parent
    jsonSpan({ start: t, end: t - 1_000n }), // ends before it starts
    jsonSpan({ name: '' }), // no name
  ];
  const res = await postTraces({ key, sim, body: jsonRequest([bad[0], good1, ...bad.slice(1), good2]) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, 'ok');
  assert.equal(res.json.simulation_output_id, sim);
  assert.equal(res.json.accepted_spans, 2);
  assert.equal(res.json.partialSuccess?.rejectedSpans, bad.length, res.text);
  assert.equal(typeof res.json.partialSuccess.errorMessage, 'string');
  assert.ok(res.json.partialSuccess.errorMessage.length > 0);

  const read = await spansOf({ simulation_output_id: sim });
  assert.equal(read.json.total_spans, 2);
  assert.deepEqual(read.json.traces.map((s) => s.span_id).sort(), [good1.spanId, good2.spanId].sort());
  const llm = read.json.traces.find((s) => s.name === 'llm');
  assert.equal(llm.parent_span_id, good1.spanId);
  assert.equal(llm.trace_id, good1.traceId);

  // The same through protobuf: the answer is an ExportTraceServiceResponse with partial_success.
  const psim = await server.client(key).createSimulation('partial pb');
  const pbGood = { traceId: hex(16), spanId: hex(8), name: 'tts', start: t - 10n, end: t };
  const pbReq = encodeTraceRequest({
    resource: { 'service.name': 'my-agent' },
    spans: [
      pbGood,
      { ...pbGood, spanId: '0000000000000000' },
      { ...pbGood, spanId: hex(8), traceId: hex(15) },
    ],
  });
  const pres = await postTraces({ key, sim: psim, ct: 'application/x-protobuf', body: pbReq });
  assert.equal(pres.status, 200, pres.text);
  assert.match(pres.headers.get('content-type') || '', /^application\/x-protobuf/);
  const decoded = decodeExportResponse(pres.body);
  assert.equal(decoded.partialSuccess?.rejectedSpans, 2);
  assert.ok(decoded.partialSuccess.errorMessage.length > 0);
  const pread = await spansOf({ simulation_output_id: psim });
  assert.deepEqual(pread.json.traces.map((s) => [s.span_id, s.name, s.resource['service.name']]), [
    [pbGood.spanId, 'tts', 'my-agent'],
  ]);
});

test('unsupported content type: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/grpc']) {
    const res = await postTraces({ key, sim: simId, ct, body: JSON.stringify(validBody()) });
    assertJsonError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  }
  const none = await postTraces({ key, sim: simId, ct: null, body: Buffer.from('{}') });
  assertJsonError(none, 415, 'UNSUPPORTED_MEDIA_TYPE');
});

// ---- size caps ------------------------------------------------------------------------------

/** A valid OTLP JSON request of about `bytes` bytes (one span with a long attribute). */
function paddedRequest(bytes) {
  const span = jsonSpan();
  span.attributes.push({ key: 'pad', value: { stringValue: 'x'.repeat(bytes) } });
  return JSON.stringify(jsonRequest([span]));
}

test('body over --max-body: 413 PAYLOAD_TOO_LARGE; under it: 200', async () => {
  await small.createOrg('tiny');
  const sKey = await small.createKey('tiny');
  const sSim = await small.client(sKey).createSimulation('cap');
  const over = await postTraces({ key: sKey, sim: sSim, body: paddedRequest(100_000) }, small);
  assertJsonError(over, 413, 'PAYLOAD_TOO_LARGE');
  // Just under the cap is fine: the limit is the cap, not something smaller. The attribute is
  // small enough to survive the value-length limit untouched or truncated; either is a 200.
  const under = await postTraces({ key: sKey, sim: sSim, body: paddedRequest(SMALL_CAP - 2000) }, small);
  assert.equal(under.status, 200, under.text);
  assert.equal(under.json.accepted_spans, 1);
  // A gzip body whose decoded size is over the cap, though the wire size is tiny.
  const bomb = '{"resourceSpans":[],"pad":"' + ' '.repeat(4 * 1024 * 1024) + '"}';
  const gz = await postTraces({ key: sKey, sim: sSim, body: bomb, gzip: true }, small);
  assertJsonError(gz, 413, 'PAYLOAD_TOO_LARGE');
  const pbBomb = await postTraces(
    { key: sKey, sim: sSim, ct: 'application/x-protobuf', body: Buffer.alloc(1 << 20), gzip: true },
    small,
  );
  assert.equal(pbBomb.status, 413, pbBomb.text);
  assert.equal((await fetch(`${small.url}/healthz`)).status, 200);
});

test('gzip bomb over the default 64 MiB decoded cap: 413', async () => {
  // 70 MiB once decoded, about 70 KB on the wire, and a valid request if the cap were missing.
  const bomb = Buffer.concat([
    Buffer.from('{"resourceSpans":[],"pad":"'),
    Buffer.alloc(70 * 1024 * 1024, 0x20),
    Buffer.from('"}'),
  ]);
  const res = await postTraces({ key, sim: simId, body: bomb, gzip: true });
  assert.ok(res.status !== 200, 'the bomb was accepted');
  assertJsonError(res, 413, 'PAYLOAD_TOO_LARGE');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('gzip: a valid compressed body is accepted, a corrupt one is 400', async () => {
  const sim = await server.client(key).createSimulation('gzip');
  const ok = await postTraces({ key, sim, body: jsonRequest([jsonSpan(), jsonSpan()]), gzip: true });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.accepted_spans, 2);
  const corrupt = await postTraces({
    key,
    sim,
    headers: { 'Content-Encoding': 'gzip' },
    body: Buffer.from('this is not gzip data at all'),
  });
  assertJsonError(corrupt, 400, 'INVALID_ARGUMENT');
  assert.equal((await spansOf({ simulation_output_id: sim })).json.total_spans, 2);
});

// ---- idempotency, empty and chunked requests ------------------------------------------------

test('re-sent spans are stored once and counted as duplicates', async () => {
  const sim = await server.client(key).createSimulation('dedup');
  const spans = [jsonSpan({ name: 'stt' }), jsonSpan({ name: 'llm' }), jsonSpan({ name: 'tts' })];
  const first = await postTraces({ key, sim, body: jsonRequest(spans) });
  assert.equal(first.status, 200, first.text);
  assert.deepEqual([first.json.accepted_spans, first.json.duplicate_spans], [3, 0]);

  const second = await postTraces({ key, sim, body: jsonRequest(spans) });
  assert.equal(second.status, 200, second.text);
  assert.deepEqual([second.json.accepted_spans, second.json.duplicate_spans], [0, 3]);
  const afterTwo = await spansOf({ simulation_output_id: sim });
  assert.equal(afterTwo.json.total_spans, 3);
  assert.equal(afterTwo.json.traces.length, 3);

  const fresh = jsonSpan({ name: 'vad' });
  const third = await postTraces({ key, sim, body: jsonRequest([spans[1], fresh]) });
  assert.deepEqual([third.json.accepted_spans, third.json.duplicate_spans], [1, 1]);

  // Duplicates inside one request also count once.
  const inner = jsonSpan({ name: 'pipeline' });
  const fourth = await postTraces({ key, sim, body: jsonRequest([inner, inner]) });
  assert.equal(fourth.status, 200, fourth.text);
  assert.deepEqual([fourth.json.accepted_spans, fourth.json.duplicate_spans], [1, 1]);

  const read = await spansOf({ simulation_output_id: sim });
  assert.equal(read.json.total_spans, 5);
  const ids = read.json.traces.map((s) => s.span_id);
  assert.equal(new Set(ids).size, 5);
  assert.deepEqual(
    ids.sort(),
    [...spans.map((s) => s.spanId), fresh.spanId, inner.spanId].sort(),
  );
  const simRes = await server.client(key).get(`/v1/simulations/${sim}`);
  assert.equal(simRes.json.simulation.span_count, 5);

  // The same span ids under another simulation are a different span, not a duplicate.
  const sim2 = await server.client(key).createSimulation('dedup 2');
  const elsewhere = await postTraces({ key, sim: sim2, body: jsonRequest(spans) });
  assert.deepEqual([elsewhere.json.accepted_spans, elsewhere.json.duplicate_spans], [3, 0]);
});

test('empty requests: 200 for an empty protobuf body and for {}', async () => {
  const sim = await server.client(key).createSimulation('empty');
  const pb = await postTraces({ key, sim, ct: 'application/x-protobuf', body: Buffer.alloc(0) });
  assert.equal(pb.status, 200, pb.text);
  assert.match(pb.headers.get('content-type') || '', /^application\/x-protobuf/);
  const decoded = decodeExportResponse(pb.body);
  assert.ok(!decoded.partialSuccess || decoded.partialSuccess.rejectedSpans === 0);

  for (const body of [{}, { resourceSpans: [] }, { resourceSpans: [{ scopeSpans: [{ spans: [] }] }] }]) {
    const res = await postTraces({ key, sim, body });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.status, 'ok');
    assert.equal(res.json.simulation_output_id, sim);
    assert.equal(res.json.accepted_spans, 0);
    assert.equal(res.json.partialSuccess, undefined);
  }
  assert.equal((await spansOf({ simulation_output_id: sim })).json.total_spans, 0);
});

test('chunked transfer encoding: a streamed body is read whole', async () => {
  const sim = await server.client(key).createSimulation('chunked');
  const spans = Array.from({ length: 20 }, (_, i) => jsonSpan({ name: `chunk.${i}` }));
  const bytes = Buffer.from(JSON.stringify(jsonRequest(spans)));
  // Odd chunk sizes so chunk borders fall inside tokens.
  const sizes = [1, 7, 100, 333, 4096];
  const stream = (buf) =>
    new ReadableStream({
      start(controller) {
        let off = 0;
        for (let i = 0; off < buf.length; i++) {
          const n = sizes[i % sizes.length];
          controller.enqueue(new Uint8Array(buf.subarray(off, off + n)));
          off += n;
        }
        controller.close();
      },
    });
  const res = await postTraces({ key, sim, body: stream(bytes) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.accepted_spans, 20);

  // Chunked and gzip together, as the OpenTelemetry JS exporter sends with compression on.
  const more = Array.from({ length: 5 }, () => jsonSpan({ name: 'gz' }));
  const gz = gzipSync(JSON.stringify(jsonRequest(more)));
  const res2 = await postTraces({
    key,
    sim,
    headers: { 'Content-Encoding': 'gzip' },
    body: stream(gz),
  });
  assert.equal(res2.status, 200, res2.text);
  assert.equal(res2.json.accepted_spans, 5);

  const read = await spansOf({ simulation_output_id: sim });
  assert.equal(read.json.total_spans, 25);
  assert.deepEqual(
    read.json.traces.map((s) => s.span_id).sort(),
    [...spans, ...more].map((s) => s.spanId).sort(),
  );
});

test('GET /v1/traces/spans errors: no key 401, no target 400, unknown target 404', async () => {
  const nokey = await readResponse(await fetch(`${server.url}/v1/traces/spans?simulation_output_id=${simId}`));
  assertJsonError(nokey, 401, 'UNAUTHENTICATED');
  const none = await spansOf({});
  assertJsonError(none, 400, 'INVALID_ARGUMENT');
  const unknown = await spansOf({ conversation_id: 'nope' });
  assertJsonError(unknown, 404, 'NOT_FOUND', 'Conversation not found');
  const badLimit = await spansOf({ simulation_output_id: simId, limit: '-1' });
  assertJsonError(badLimit, 400, 'INVALID_ARGUMENT');
});

test('SIGTERM: the servers exit cleanly', async () => {
  const [a, b] = await Promise.all([server.stop(), small.stop()]);
  server = small = null;
  assert.deepEqual(a, { code: 0, signal: null, killed: false });
  assert.deepEqual(b, { code: 0, signal: null, killed: false });
});
