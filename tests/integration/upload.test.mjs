// POST /v1/conversations:upload (DESIGN.md 5.3) with real multipart bodies built by FormData:
// transcript only, audio only (WAV and MP3), traces only (refused: a conversation needs a
// transcript or audio), all parts together, a traces file of 10,000 spans read back in one page,
// and the errors of each part. The audio read back from GET .../audio is the uploaded bytes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, readResponse } from './lib/server.mjs';
import { ULID, assertApiError, otlpRequest, span, hex, nowNs, tinyWav, MS } from './lib/otlp_json.mjs';

let server;
let key;
let api;

before(async () => {
  server = await startServer();
  await server.createOrg('uploader');
  key = await server.createKey('uploader');
  api = server.client(key);
});

after(async () => {
  if (server) await server.stop();
});

const TRANSCRIPT = [
  { role: 'user', content: 'Is the pharmacy open on Sunday?', start_time: 0.4, end_time: 2.1 },
  { role: 'assistant', content: 'Yes, from ten to four.', start_time: 2.6, end_time: 4.0 },
];

/**
 * POSTs a FormData built from parts: {name: {data, type, filename} | string}, or a list of
 * [name, part] pairs when a name repeats.
 */
async function upload(parts, client = { key }) {
  const fd = new FormData();
  for (const [name, part] of Array.isArray(parts) ? parts : Object.entries(parts)) {
    if (typeof part === 'string') fd.append(name, part);
    else fd.append(name, new Blob([part.data], { type: part.type }), part.filename);
  }
  const res = await fetch(`${server.url}/v1/conversations:upload`, {
    method: 'POST',
    headers: client.key ? { 'X-API-Key': client.key } : {},
    body: fd,
    signal: AbortSignal.timeout(60_000),
  });
  return readResponse(res);
}

const jsonFile = (value, filename) => ({ data: JSON.stringify(value), type: 'application/json', filename });
const transcriptFile = (t = TRANSCRIPT) => jsonFile(t, 'transcript.json');
const wavFile = (bytes = tinyWav()) => ({ data: bytes, type: 'audio/wav', filename: 'call.wav' });
const tracesFile = (body) => jsonFile(body, 'traces.json');

/** An MPEG-1 Layer III file: an ID3v2 tag, then two silent 128 kbit/s 44.1 kHz frames. */
function tinyMp3() {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat([id3, frame, frame]);
}

/** Every file under the server's DATA/audio folder. */
function audioFiles() {
  const root = join(server.dataDir, 'audio');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name));
}

async function listCount() {
  const r = await api.get('/v1/conversations?page_size=250');
  assert.equal(r.status, 200, r.text);
  return r.json.conversations.length;
}

async function audioOf(id) {
  return readResponse(await fetch(`${server.url}/v1/conversations/${id}/audio`, {
    headers: { 'X-API-Key': key },
    redirect: 'manual',
  }));
}

function callTrace(baseNs) {
  const t = hex(16);
  const root = hex(8);
  return otlpRequest([
    span({ traceId: t, spanId: root, name: 'conversation', start: baseNs, end: baseNs + 4_000n * MS }),
    span({ traceId: t, parentSpanId: root, name: 'stt', start: baseNs + 400n * MS, end: baseNs + 2_100n * MS,
      attributes: { transcript: 'Is the pharmacy open on Sunday?', 'stt.confidence': 0.91 } }),
    span({ traceId: t, parentSpanId: root, name: 'llm', start: baseNs + 2_150n * MS, end: baseNs + 2_500n * MS,
      attributes: { 'metrics.ttfb': 0.2 } }),
    span({ traceId: t, parentSpanId: root, name: 'tts', start: baseNs + 2_600n * MS, end: baseNs + 4_000n * MS,
      status: 'ERROR', message: 'voice not found' }),
  ], { resource: { 'service.name': 'pharmacy-agent' } });
}

test('transcript only', async () => {
  const r = await upload({ transcript: transcriptFile() });
  assert.equal(r.status, 200, r.text);
  const c = r.json.conversation;
  assert.match(c.conversation_id, ULID);
  assert.equal(c.name, `conversations/${c.conversation_id}`);
  assert.deepEqual(c.transcript, TRANSCRIPT);
  assert.equal(c.has_audio, false);
  assert.equal(r.json.accepted_spans, 0);
  assert.equal(r.json.rejected_spans, 0);
  assert.equal(r.json.duplicate_spans, 0);
  const got = await api.get(`/v1/conversations/${c.conversation_id}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json.conversation, c);
  assertApiError(await audioOf(c.conversation_id), 404, 'NOT_FOUND');
});

test('audio only: WAV and MP3 come back byte for byte', async () => {
  const files = [
    [wavFile(), /^audio\/(x-)?wav/],
    [{ data: tinyMp3(), type: 'audio/mpeg', filename: 'call.mp3' }, /^audio\/mpeg/],
  ];
  for (const [file, type] of files) {
    const r = await upload({ audio: file });
    assert.equal(r.status, 200, `${file.filename}: ${r.text}`);
    const c = r.json.conversation;
    assert.equal(c.has_audio, true);
    assert.deepEqual(c.transcript, []);
    const a = await audioOf(c.conversation_id);
    assert.equal(a.status, 200, a.text);
    assert.match(a.headers.get('content-type') || '', type);
    assert.ok(Buffer.compare(a.body, Buffer.from(file.data)) === 0, `${file.filename}: bytes differ`);
    assert.equal(Number(a.headers.get('content-length')), file.data.length);
    assert.equal(a.headers.get('cache-control'), 'private');
  }
});

test('traces only is refused: a conversation needs a transcript or audio', async () => {
  const count0 = await listCount();
  const r = await upload({ traces: tracesFile(callTrace(nowNs() - 60_000n * MS)) });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'INVALID_ARGUMENT');
  const field = r.json.error.details?.[0]?.field;
  assert.ok(['transcript', 'audio'].includes(field), `details[0].field ${field}`);
  assert.equal(await listCount(), count0, 'nothing was created');
});

test('all three parts, with metadata and a reference transcript', async () => {
  const base = (nowNs() / MS - 120_000n) * MS;
  const wav = tinyWav(400);
  const r = await upload({
    transcript: transcriptFile(),
    audio: wavFile(wav),
    traces: tracesFile(callTrace(base)),
    metadata: JSON.stringify({ store: 'berlin-3', shift: 'night' }),
    reference_transcript: 'Is the pharmacy open on Sunday? Yes, from ten to four.',
    external_conversation_id: 'pharm-0042',
    agent_id: 'pharmacy-agent-v2',
    occurred_at: '2026-11-22T21:30:00Z',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted_spans, 4);
  assert.equal(r.json.rejected_spans, 0);
  assert.equal(r.json.duplicate_spans, 0);
  const c = r.json.conversation;
  assert.deepEqual(c.transcript, TRANSCRIPT);
  assert.equal(c.has_audio, true);
  assert.deepEqual(c.metadata, { store: 'berlin-3', shift: 'night' });
  assert.equal(c.external_conversation_id, 'pharm-0042');
  assert.equal(c.agent_id, 'pharmacy-agent-v2');
  assert.equal(c.occurred_at, '2026-11-22T21:30:00Z');
  assert.equal(c.span_count, 4);

  const spans = await api.allSpans({ conversation_id: c.conversation_id });
  assert.equal(spans.total_spans, 4);
  assert.deepEqual(spans.traces.map((s) => s.name), ['conversation', 'stt', 'llm', 'tts']);
  assert.equal(spans.traces[1].attributes.transcript, 'Is the pharmacy open on Sunday?');
  assert.equal(spans.traces[3].status.code, 'ERROR');
  assert.equal(spans.traces[0].service_name, 'pharmacy-agent');
  const a = await audioOf(c.conversation_id);
  assert.equal(a.status, 200);
  assert.ok(Buffer.compare(a.body, wav) === 0, 'audio bytes differ');

  const sum = await api.get(`/v1/traces/summary?conversation_id=${c.conversation_id}`);
  assert.equal(sum.status, 200, sum.text);
  assert.equal(sum.json.trace_summary.total_spans, 4);
  assert.deepEqual(sum.json.trace_summary.status_counts, { UNSET: 3, OK: 0, ERROR: 1 });

  // The audio lives under the data folder until the conversation is deleted.
  const stored = audioFiles().filter((f) => f.includes(c.conversation_id));
  assert.equal(stored.length, 1, `audio files: ${audioFiles().join(', ')}`);
  const del = await api.request('DELETE', `/v1/conversations/${c.conversation_id}`);
  assert.equal(del.status, 200, del.text);
  assert.ok(!existsSync(stored[0]), 'the audio file outlived its conversation');
  assertApiError(await audioOf(c.conversation_id), 404, 'NOT_FOUND');
});

test('spans repeated inside one traces file are stored once', async () => {
  const base = nowNs() - 20_000n * MS;
  const one = span({ name: 'llm', start: base, end: base + 5n * MS });
  const other = span({ name: 'tts', start: base, end: base + MS });
  const r = await upload({ transcript: transcriptFile(), traces: tracesFile(otlpRequest([one, one, other])) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted_spans, 2);
  assert.equal(r.json.duplicate_spans, 1);
  assert.equal(r.json.conversation.span_count, 2);
});

test('a traces file of 10,000 spans', async () => {
  const base = (nowNs() / MS - 3_600_000n) * MS;
  const t = hex(16);
  const root = hex(8);
  const spans = [span({ traceId: t, spanId: root, name: 'conversation', start: base, end: base + 10_001n * MS })];
  for (let i = 1; i < 10_000; i++) {
    spans.push(span({
      traceId: t, parentSpanId: root, name: i % 3 === 0 ? 'llm' : i % 3 === 1 ? 'stt' : 'tts',
      start: base + BigInt(i) * MS, end: base + BigInt(i + 1) * MS, attributes: { 'turn.number': i },
    }));
  }
  const body = otlpRequest(spans);
  const r = await upload({ transcript: transcriptFile(), traces: tracesFile(body) });
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.equal(r.json.accepted_spans, 10_000);
  assert.equal(r.json.rejected_spans, 0);
  const id = r.json.conversation.conversation_id;
  assert.equal(r.json.conversation.span_count, 10_000);

  const all = await api.get(`/v1/traces/spans?conversation_id=${id}&limit=10000`);
  assert.equal(all.status, 200, all.text.slice(0, 500));
  assert.equal(all.json.total_spans, 10_000);
  assert.equal(all.json.traces.length, 10_000);
  assert.equal(all.json.traces[0].name, 'conversation');
  all.json.traces.slice(1).forEach((s, i) => assert.equal(s.attributes['turn.number'], i + 1));
  assert.equal(new Set(all.json.traces.map((s) => s.span_id)).size, 10_000);

  const sum = await api.get(`/v1/traces/summary?conversation_id=${id}`);
  assert.equal(sum.status, 200, sum.text);
  const s = sum.json.trace_summary;
  assert.equal(s.total_spans, 10_000);
  assert.equal(s.unique_span_count, 10_000);
  assert.equal(s.trace_count, 1);
  assert.equal(s.root_span_count, 1);
  const groups = Object.fromEntries(s.span_groups.map((g) => [g.name, g.count]));
  assert.deepEqual(groups, { conversation: 1, llm: 3333, stt: 3333, tts: 3333 });

  // The whole call exports and imports back at this size.
  const exp = await api.get(`/v1/traces/export?conversation_id=${id}`);
  assert.equal(exp.status, 200, exp.text.slice(0, 300));
  const dir = mkdtempSync(join(tmpdir(), 'voxtrace-upload-'));
  try {
    const file = join(dir, 'big.json');
    writeFileSync(file, exp.text);
    const target = (await upload({ transcript: transcriptFile() })).json.conversation.conversation_id;
    const imp = await server.runCli(['import', '--org', 'uploader', '--conversation', target, file]);
    assert.equal(imp.code, 0, imp.stderr);
    const back = await api.get(`/v1/traces/spans?conversation_id=${target}&limit=10000`);
    assert.equal(back.json.total_spans, 10_000);
    assert.deepEqual(back.json.traces, all.json.traces);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid spans in the traces file are rejected one by one', async () => {
  const base = nowNs() - 30_000n * MS;
  const body = otlpRequest([
    span({ name: 'llm', start: base, end: base + MS }),
    { ...span({ name: 'bad', start: base, end: base + MS }), spanId: '00' },
    span({ name: 'reversed', start: base + 2n * MS, end: base + MS }),
  ]);
  const r = await upload({ transcript: transcriptFile(), traces: tracesFile(body) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted_spans, 1);
  assert.equal(r.json.rejected_spans, 2);
  assert.match(r.json.rejection_message, /span_id|end/);
  const spans = await api.allSpans({ conversation_id: r.json.conversation.conversation_id });
  assert.deepEqual(spans.traces.map((s) => s.name), ['llm']);
});

test('errors name the part, and a refused upload creates nothing', async () => {
  const count0 = await listCount();
  const text = (data, type = 'application/json', filename = 't.json') => ({ data, type, filename });
  const cases = [
    ['transcript not JSON', { transcript: text('[{"role":') }, 400, 'transcript'],
    ['transcript not an array', { transcript: jsonFile({ role: 'user' }, 't.json') }, 400, 'transcript'],
    ['transcript role', { transcript: transcriptFile([{ role: 'narrator', content: 'x' }]) }, 400,
      'transcript[0].role'],
    ['audio neither WAV nor MP3', { audio: text(Buffer.from('#!/bin/sh\necho hi\n'), 'audio/wav', 'x.wav') }, 400,
      'audio'],
    // A browser sends an empty part for a file input left blank: an empty audio is no audio.
    ['empty audio', { audio: { data: Buffer.alloc(0), type: 'audio/wav', filename: 'x.wav' } }, 400, 'transcript'],
    ['AAC is not MP3', { audio: text(Buffer.from([0xff, 0xf1, 0x50, 0x80, 0, 0, 0]), 'audio/aac', 'x.aac') }, 400,
      'audio'],
    ['transcript given twice', [['transcript', transcriptFile()], ['transcript', transcriptFile()]], 400, 'transcript'],
    ['traces not JSON', { transcript: transcriptFile(), traces: text('resourceSpans') }, 400, 'traces'],
    ['traces without resourceSpans', { transcript: transcriptFile(), traces: jsonFile({ spans: [] }, 't.json') }, 400,
      'traces'],
    ['metadata not an object', { transcript: transcriptFile(), metadata: '[1,2]' }, 400, 'metadata'],
    ['nothing at all', {}, 400, undefined],
  ];
  for (const [what, parts, status, field] of cases) {
    const r = await upload(parts);
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.equal(r.json?.error?.code, 'INVALID_ARGUMENT', `${what}: ${r.text}`);
    if (field) assert.equal(r.json.error.details?.[0]?.field, field, `${what}: ${r.text}`);
  }
  assert.equal(await listCount(), count0, 'no conversation was created by a refused upload');
  assert.ok(!audioFiles().some((f) => f.includes('.tmp') || f.endsWith('~')), `leftover files: ${audioFiles()}`);

  // Not multipart at all.
  assertApiError(await api.post('/v1/conversations:upload', { transcript: TRANSCRIPT }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // A part over its cap is 413 naming it: metadata 256 KiB, audio 50 MiB.
  const bigMeta = JSON.stringify({ blob: 'm'.repeat(257 * 1024) });
  assertApiError(await upload({ transcript: transcriptFile(), metadata: bigMeta }),
    413, 'PAYLOAD_TOO_LARGE', 'metadata');
  const bigWav = Buffer.concat([tinyWav(), Buffer.alloc(50 * 1024 * 1024)]);
  assertApiError(await upload({ audio: wavFile(bigWav) }), 413, 'PAYLOAD_TOO_LARGE', 'audio');
  // No key, and a key without the write scope.
  assertApiError(await upload({ transcript: transcriptFile() }, {}), 401, 'UNAUTHENTICATED');
  const reader = await server.createKey('uploader', ['read']);
  assertApiError(await upload({ transcript: transcriptFile() }, { key: reader }), 403, 'PERMISSION_DENIED');
  assert.equal(await listCount(), count0);
});
