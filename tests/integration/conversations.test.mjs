// Conversations (DESIGN.md 5.3) through HTTP: the whole conversations:submit schema read back
// field by field, every validation error with the field it names, the 256 KiB cap, list paging,
// filters and ordering, PATCH with its write-once fields, DELETE, and GET .../audio for a
// conversation with an audio_url or none.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, readResponse } from './lib/server.mjs';
import { ULID, assertApiError, listAll, ingestOk, postOtlp, otlpRequest, span, nowNs, MS } from './lib/otlp_json.mjs';

let server;
let key;
let api;

before(async () => {
  server = await startServer();
  await server.createOrg('monitor');
  key = await server.createKey('monitor');
  api = server.client(key);
});

after(async () => {
  if (server) await server.stop();
});

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const enc = encodeURIComponent;
const submit = (body, client = api) => client.post('/v1/conversations:submit', body);
const patch = (id, json) => api.request('PATCH', `/v1/conversations/${enc(id)}`, { json });

async function submitOk(body, client = api) {
  const r = await submit(body, client);
  assert.equal(r.status, 200, r.text);
  return r.json.conversation;
}

async function getConv(id) {
  const r = await api.get(`/v1/conversations/${enc(id)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.conversation;
}

const HELLO = [{ role: 'user', content: 'Hello', start_time: 0.0, end_time: 1.2 }];

// Every message form the schema allows: both text fields, a tool call and its answer, timings.
const FULL_TRANSCRIPT = [
  { role: 'system', content: 'You book tables for Chez Nous.' },
  { role: 'user', content: 'A table for two at seven?', start_time: 0.5, end_time: 2.25 },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'call_1', type: 'function', function: { name: 'book_table', arguments: '{"party":2,"time":"19:00"}' } },
    ],
    start_time: 2.5,
    end_time: 2.5,
  },
  { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
  { role: 'assistant', message: 'Booked: two at 19:00. Anything else? 🍷', start_time: 3.1, end_time: 6.0 },
];

test('submit with every field, read back by GET', async () => {
  const body = {
    transcript: FULL_TRANSCRIPT,
    audio_url: 'https://recordings.example.com/calls/8812.wav',
    metrics: [],
    metadata: { customer: 'acme', priority: 2, vip: true, nested: { region: 'eu' } },
    tags: ['prod', 'booking', 'ümlaut-tag'],
    external_conversation_id: 'vapi-call-8812',
    occurred_at: '2026-11-23T09:15:00Z',
    agent_id: 'agent-restaurant-v3',
  };
  const conv = await submitOk(body);
  assert.match(conv.conversation_id, ULID);
  assert.equal(conv.name, `conversations/${conv.conversation_id}`);
  assert.ok(['PENDING', 'IN_QUEUE', 'IN_PROGRESS', 'COMPLETED'].includes(conv.status), conv.status);
  assert.match(conv.create_time, RFC3339);
  assert.equal(conv.external_conversation_id, 'vapi-call-8812');
  assert.equal(conv.occurred_at, '2026-11-23T09:15:00Z');
  assert.equal(conv.agent_id, 'agent-restaurant-v3');
  assert.equal(conv.has_audio, true);
  assert.equal(conv.audio_url, body.audio_url);
  assert.deepEqual(conv.metadata, body.metadata);
  assert.deepEqual(conv.tags, body.tags);
  assert.deepEqual(conv.metric_ids, []);
  assert.deepEqual(conv.transcript, FULL_TRANSCRIPT);
  assert.equal(conv.span_count, 0);
  assert.deepEqual(await getConv(conv.conversation_id), conv);

  // The smallest submissions: an audio_url alone, an upload_id alone.
  const audioOnly = await submitOk({ audio_url: 'http://example.com/a.mp3' });
  assert.equal(audioOnly.has_audio, true);
  assert.deepEqual(audioOnly.transcript, []);
  assert.equal(audioOnly.external_conversation_id, null);
  assert.equal(audioOnly.agent_id, null);
  assert.equal(audioOnly.occurred_at, null);
  assert.deepEqual(audioOnly.metadata, {});
  assert.deepEqual(audioOnly.tags, []);
  const plain = await submitOk({ transcript: HELLO });
  assert.equal(plain.has_audio, false);
  assert.equal(plain.audio_url, null);
});

test('every validation error names its field', async () => {
  const ok = { role: 'user', content: 'hi' };
  const cases = [
    [{}, 'transcript'],
    [{ transcript: [] }, 'transcript'],
    [{ transcript: 'hello' }, 'transcript'],
    [{ transcript: [7] }, 'transcript[0]'],
    [{ transcript: [{ role: 'bot', content: 'x' }] }, 'transcript[0].role'],
    [{ transcript: [{ content: 'x' }] }, 'transcript[0].role'],
    [{ transcript: [ok, { role: 'user' }] }, 'transcript[1].content'],
    [{ transcript: [{ role: 'user', content: 5 }] }, 'transcript[0].content'],
    [{ transcript: [{ role: 'user', message: ['x'] }] }, 'transcript[0].message'],
    [{ transcript: [ok, ok, { role: 'user', content: 'x', start_time: '0.5' }] }, 'transcript[2].start_time'],
    [{ transcript: [{ role: 'user', content: 'x', end_time: {} }] }, 'transcript[0].end_time'],
    [{ transcript: [{ role: 'assistant', content: 'x', tool_calls: {} }] }, 'transcript[0].tool_calls'],
    [{ transcript: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: {} }] }] },
      'transcript[0].tool_calls[0]'],
    [{ transcript: [{ role: 'tool', content: 'x', tool_call_id: 5 }] }, 'transcript[0].tool_call_id'],
    [{ transcript: [ok], audio_url: 'ftp://example.com/a.wav' }, 'audio_url'],
    [{ audio_url: 12 }, 'audio_url'],
    [{ transcript: [ok], metadata: ['x'] }, 'metadata'],
    [{ transcript: [ok], tags: 'prod' }, 'tags'],
    [{ transcript: [ok], tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    [{ transcript: [ok], tags: ['a', 'b', 'c', 4] }, 'tags[3]'],
    [{ transcript: [ok], tags: ['x'.repeat(201)] }, 'tags[0]'],
    [{ transcript: [ok], metrics: 'm' }, 'metrics'],
    [{ transcript: [ok], metrics: ['m1', 2] }, 'metrics[1]'],
    [{ transcript: [ok], external_conversation_id: 5 }, 'external_conversation_id'],
    [{ transcript: [ok], agent_id: {} }, 'agent_id'],
    [{ transcript: [ok], occurred_at: 1732406400 }, 'occurred_at'],
  ];
  for (const [body, field] of cases) {
    const r = await submit(body);
    assertApiError(r, 400, 'INVALID_ARGUMENT', field);
    assert.ok(r.json.error.message.includes(field), `message names ${field}: ${r.json.error.message}`);
  }
  // The limits themselves are allowed.
  await submitOk({ transcript: [ok], tags: Array.from({ length: 20 }, () => 'y'.repeat(200)) });

  const raw = (body) => api.request('POST', '/v1/conversations:submit', {
    body, headers: { 'Content-Type': 'application/json' },
  });
  assertApiError(await raw('{"transcript":['), 400, 'INVALID_ARGUMENT');
  assertApiError(await raw('[1,2]'), 400, 'INVALID_ARGUMENT');
  assertApiError(await raw(''), 400, 'INVALID_ARGUMENT');
});

test('tool_calls that is not an array is the error, not the content it would excuse', async () => {
  assertApiError(await submit({ transcript: [{ role: 'assistant', tool_calls: {} }] }),
    400, 'INVALID_ARGUMENT', 'transcript[0].tool_calls');
});

test('a malformed tool call is refused, naming the tool call', async () => {
  // The schema is {id, type: "function", function: {name, arguments}}: another type or a
  // non-string id is refused, naming the tool call or the member inside it.
  const toolCall = (tc) => ({ transcript: [{ role: 'assistant', tool_calls: [tc] }] });
  const problems = [];
  for (const tc of [
    { id: 'c1', type: 'retrieval', function: { name: 'x', arguments: '{}' } },
    { id: 5, type: 'function', function: { name: 'x', arguments: '{}' } },
  ]) {
    const r = await submit(toolCall(tc));
    if (r.status !== 400 || !/^transcript\[0\]\.tool_calls\[0\]/.test(r.json?.error?.details?.[0]?.field ?? '')) {
      problems.push(`${JSON.stringify(tc)} -> ${r.status} ${r.text.slice(0, 120)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('a submission over 256 KiB is 413, one just under is stored', async () => {
  const message = (n) => ({ role: 'user', content: 'x'.repeat(n) });
  const under = { transcript: [message(255 * 1024)] };
  assert.ok(JSON.stringify(under).length < 256 * 1024);
  const conv = await submitOk(under);
  assert.equal((await getConv(conv.conversation_id)).transcript[0].content.length, 255 * 1024);

  const over = { transcript: [message(256 * 1024)] };
  assertApiError(await submit(over), 413, 'PAYLOAD_TOO_LARGE');
  const many = { transcript: Array.from({ length: 3000 }, () => message(100)) };
  assert.ok(JSON.stringify(many).length > 256 * 1024);
  assertApiError(await submit(many), 413, 'PAYLOAD_TOO_LARGE');
});

test('list: paging, order_by, filters', async () => {
  await server.createOrg('listing');
  const lapi = server.client(await server.createKey('listing'));
  const made = [];
  for (let i = 0; i < 9; i++) {
    made.push(await submitOk({
      transcript: HELLO,
      external_conversation_id: `ext-${i}`,
      agent_id: i % 2 ? 'agent-odd' : 'agent-even',
      metadata: { customer: i < 3 ? 'acme' : 'globex', priority: i % 3, flag: i === 4 },
    }, lapi));
  }
  const ids = made.map((c) => c.conversation_id);
  const newest = [...ids].reverse();

  const def = await lapi.get('/v1/conversations');
  assert.equal(def.status, 200, def.text);
  assert.deepEqual(def.json.conversations.map((c) => c.conversation_id), newest, 'newest first by default');
  assert.ok(!def.json.next_page_token);
  assert.equal(def.json.conversations[0].external_conversation_id, 'ext-8');

  const paged = await listAll(lapi, '/v1/conversations?page_size=4', 'conversations');
  assert.equal(paged.pages, 3);
  assert.deepEqual(paged.items.map((c) => c.conversation_id), newest);

  const asc = await listAll(lapi, '/v1/conversations?page_size=2&order_by=create_time', 'conversations');
  assert.deepEqual(asc.items.map((c) => c.conversation_id), ids);
  const desc = await listAll(lapi, '/v1/conversations?page_size=5&order_by=-create_time', 'conversations');
  assert.deepEqual(desc.items.map((c) => c.conversation_id), newest);

  const filtered = async (filter, extra = '') => {
    const all = await listAll(lapi, `/v1/conversations?page_size=2&filter=${enc(filter)}${extra}`, 'conversations');
    return all.items.map((c) => c.conversation_id);
  };
  assert.deepEqual(await filtered('external_conversation_id="ext-4"'), [ids[4]]);
  assert.deepEqual(await filtered('external_conversation_id="ext-99"'), []);
  assert.deepEqual(await filtered('metadata.customer="acme"', '&order_by=create_time'), ids.slice(0, 3));
  assert.deepEqual(await filtered('metadata.customer="globex" AND metadata.priority="0"', '&order_by=create_time'),
    [ids[3], ids[6]]);
  assert.deepEqual(await filtered('metadata.flag="true"'), [ids[4]]);
  assert.deepEqual(await filtered('agent_id="agent-odd"', '&order_by=create_time'), [1, 3, 5, 7].map((i) => ids[i]));
  assert.deepEqual(await filtered('status="COMPLETED"'), newest);
  assert.deepEqual(await filtered('status="FAILED"'), []);
  // A status changed by PATCH is what the filter sees.
  for (const i of [2, 5]) {
    const r = await lapi.request('PATCH', `/v1/conversations/${ids[i]}`, { json: { status: 'FAILED' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.conversation.status, 'FAILED');
  }
  assert.deepEqual(await filtered('status="FAILED"'), [ids[5], ids[2]]);
  assert.deepEqual(await filtered('status="FAILED" AND metadata.customer="acme"'), [ids[2]]);
  assert.deepEqual(await filtered('status="COMPLETED"', '&order_by=create_time'),
    ids.filter((_, i) => i !== 2 && i !== 5));
  assert.deepEqual(await filtered('metadata.missing="x"'), []);
  // Everything after "metadata." is the key, dots included.
  const dotted = await submitOk(
    { transcript: HELLO, metadata: { 'crm.account': 'A-7', crm: { account: 'B-9' } } }, lapi);
  assert.deepEqual(await filtered('metadata.crm.account="A-7"'), [dotted.conversation_id]);
  assert.deepEqual(await filtered('metadata.crm.account="B-9"'), []);
  assert.equal((await lapi.request('DELETE', `/v1/conversations/${dotted.conversation_id}`)).status, 200);

  for (const bad of ['color="red"', 'status=', 'status="COMPLETED', 'metadata.="x"', 'status="A" OR status="B"',
    'status="DONE"', 'status="COMPLETED" AND status="FAILED"', 'agent_id!="x"']) {
    assertApiError(await lapi.get(`/v1/conversations?filter=${enc(bad)}`), 400, 'INVALID_ARGUMENT', 'filter');
  }
  for (const bad of ['name', 'create_time desc', '+create_time', '--create_time']) {
    assertApiError(await lapi.get(`/v1/conversations?order_by=${enc(bad)}`), 400, 'INVALID_ARGUMENT', 'order_by');
  }
  assertApiError(await lapi.get('/v1/conversations?page_size=-5'), 400, 'INVALID_ARGUMENT', 'page_size');
  assertApiError(await lapi.get('/v1/conversations?page_token=***'), 400, 'INVALID_ARGUMENT', 'page_token');
  assertApiError(await lapi.get(`/v1/conversations?page_token=${Buffer.from('hello').toString('base64url')}`),
    400, 'INVALID_ARGUMENT', 'page_token');
});

test('list page_size is clamped to 250', async () => {
  await server.createOrg('bulk');
  const bapi = server.client(await server.createKey('bulk'));
  for (let i = 0; i < 260; i++) await submitOk({ transcript: HELLO, external_conversation_id: `b${i}` }, bapi);
  const r = await bapi.get('/v1/conversations?page_size=100000');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.conversations.length, 250);
  assert.ok(r.json.next_page_token);
  const rest = await bapi.get(`/v1/conversations?page_size=250&page_token=${enc(r.json.next_page_token)}`);
  assert.equal(rest.status, 200, rest.text);
  assert.deepEqual(rest.json.conversations.map((c) => c.external_conversation_id),
    Array.from({ length: 10 }, (_, i) => `b${9 - i}`));
  const def = await bapi.get('/v1/conversations');
  assert.equal(def.json.conversations.length, 50, 'default page size');
});

test('PATCH: mutable fields change, write-once fields are set once', async () => {
  const conv = await submitOk({ transcript: HELLO, metadata: { a: 1 }, tags: ['x'] });
  const id = conv.conversation_id;

  // Unset write-once fields may be set.
  const once = {
    external_conversation_id: 'twilio-CA123',
    agent_id: 'agent-9',
    occurred_at: '2026-11-20T08:00:00Z',
    audio_url: 'https://example.com/rec/CA123.wav',
  };
  let r = await patch(id, once);
  assert.equal(r.status, 200, r.text);
  let got = r.json.conversation;
  assert.equal(got.external_conversation_id, 'twilio-CA123');
  assert.equal(got.agent_id, 'agent-9');
  assert.equal(got.occurred_at, '2026-11-20T08:00:00Z');
  assert.equal(got.audio_url, once.audio_url);
  assert.equal(got.has_audio, true);
  assert.deepEqual(got.transcript, HELLO, 'untouched');
  assert.deepEqual(got.metadata, { a: 1 }, 'untouched');
  assert.equal(got.create_time, conv.create_time);
  assert.ok(got.update_time >= conv.update_time);
  assert.deepEqual(await getConv(id), got);

  // Sending the same values again is not a conflict.
  r = await patch(id, { ...once, transcript: HELLO });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.conversation.transcript, HELLO);

  // A different value for any write-once field is 409, and changes nothing.
  const conflicts = {
    external_conversation_id: 'other',
    agent_id: 'agent-10',
    occurred_at: '2026-11-21T08:00:00Z',
    audio_url: 'https://example.com/other.wav',
    transcript: [{ role: 'user', content: 'Goodbye' }],
  };
  for (const [field, value] of Object.entries(conflicts)) {
    r = await patch(id, { [field]: value });
    assertApiError(r, 409, 'ALREADY_EXISTS', field);
  }
  // A conflict in one field rejects the whole PATCH, the valid parts included.
  r = await patch(id, { metadata: { a: 2 }, agent_id: 'agent-10' });
  assertApiError(r, 409, 'ALREADY_EXISTS', 'agent_id');
  got = await getConv(id);
  assert.equal(got.external_conversation_id, 'twilio-CA123');
  assert.equal(got.agent_id, 'agent-9');
  assert.deepEqual(got.transcript, HELLO);
  assert.deepEqual(got.metadata, { a: 1 });

  // metadata and tags can be replaced any number of times.
  r = await patch(id, { metadata: { a: 2, reviewed: true }, tags: ['x', 'reviewed'] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.conversation.metadata, { a: 2, reviewed: true });
  assert.deepEqual(r.json.conversation.tags, ['x', 'reviewed']);
  r = await patch(id, { metadata: { a: 3 } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.conversation.metadata, { a: 3 });
  assert.deepEqual(r.json.conversation.tags, ['x', 'reviewed']);

  // A conversation submitted with audio only may receive its transcript later, once.
  const audio = await submitOk({ audio_url: 'https://example.com/late.wav' });
  r = await patch(audio.conversation_id, { transcript: FULL_TRANSCRIPT });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.conversation.transcript, FULL_TRANSCRIPT);
  assertApiError(await patch(audio.conversation_id, { transcript: HELLO }), 409, 'ALREADY_EXISTS', 'transcript');

  // status may change any time.
  r = await patch(id, { status: 'CANCELLED' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.conversation.status, 'CANCELLED');
  r = await patch(id, { status: 'COMPLETED', tags: null, metadata: null });
  assert.equal(r.json.conversation.status, 'COMPLETED');
  assert.deepEqual(r.json.conversation.metadata, { a: 3 }, 'null keeps the value');
  assert.deepEqual(r.json.conversation.tags, ['x', 'reviewed'], 'null keeps the value');

  // PATCH validates like submit, and names fields it cannot change.
  assertApiError(await patch(id, { status: 'DELETED_FOREVER' }), 400, 'INVALID_ARGUMENT', 'status');
  assertApiError(await patch(id, { conversation_id: 'x' }), 400, 'INVALID_ARGUMENT', 'conversation_id');
  assertApiError(await patch(id, { create_time: '2020-01-01T00:00:00Z' }), 400, 'INVALID_ARGUMENT', 'create_time');
  assertApiError(await patch(id, { agent_id: 7 }), 400, 'INVALID_ARGUMENT', 'agent_id');
  assertApiError(await patch(id, { tags: ['ok', 5] }), 400, 'INVALID_ARGUMENT', 'tags[1]');
  assertApiError(await patch(id, { tags: ['ok'], metadata: 5 }), 400, 'INVALID_ARGUMENT', 'metadata');
  assert.deepEqual((await getConv(id)).tags, ['x', 'reviewed'], 'a failed PATCH changes nothing');
  assertApiError(await patch(id, { tags: ['t'.repeat(300 * 1024)] }), 413, 'PAYLOAD_TOO_LARGE');
  assertApiError(await patch(id, { metadata: 'x' }), 400, 'INVALID_ARGUMENT', 'metadata');
  const fresh = await submitOk({ audio_url: 'https://example.com/f.wav' });
  assertApiError(await patch(fresh.conversation_id, { transcript: [{ role: 'robot', content: 'x' }] }),
    400, 'INVALID_ARGUMENT', 'transcript[0].role');
  const noAudio = await submitOk({ transcript: HELLO });
  assertApiError(await patch(noAudio.conversation_id, { audio_url: 'file:///etc/passwd' }),
    400, 'INVALID_ARGUMENT', 'audio_url');
  assertApiError(await patch('01HZZZZZZZZZZZZZZZZZZZZZZZ', { tags: [] }), 404, 'NOT_FOUND');
});

test('DELETE removes the conversation and its spans', async () => {
  const conv = await submitOk({ transcript: HELLO, external_conversation_id: 'to-delete' });
  const id = conv.conversation_id;
  const t = nowNs() - 10_000n * MS;
  await ingestOk(server, key, { conv: id }, otlpRequest([
    span({ name: 'llm', start: t, end: t + 420n * MS }),
    span({ name: 'tts', start: t + 500n * MS, end: t + 700n * MS }),
  ]));
  assert.equal((await getConv(id)).span_count, 2);

  const r = await api.request('DELETE', `/v1/conversations/${enc(id)}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {});
  assertApiError(await api.get(`/v1/conversations/${enc(id)}`), 404, 'NOT_FOUND');
  assertApiError(await api.get(`/v1/traces/spans?conversation_id=${enc(id)}`), 404, 'NOT_FOUND');
  assertApiError(await api.get(`/v1/conversations/${enc(id)}/audio`), 404, 'NOT_FOUND');
  assertApiError(await patch(id, { tags: [] }), 404, 'NOT_FOUND');
  assertApiError(await api.request('DELETE', `/v1/conversations/${enc(id)}`), 404, 'NOT_FOUND');
  const late = await postOtlp(server, key, { conv: id }, otlpRequest([span({ name: 'llm', start: t, end: t + MS })]));
  assertApiError(late, 404, 'NOT_FOUND');
  assert.equal(late.json.error.message, 'Conversation not found');
  const list = await api.get(`/v1/conversations?filter=${enc('external_conversation_id="to-delete"')}`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.conversations, []);
  const found = await api.post('/v1/traces/search', { limit: 100, filters: {} });
  assert.equal(found.status, 200, found.text);
  assert.ok(!found.json.items.some((i) => i.simulation_output_id === id), 'deleted spans still searchable');
});

test('GET .../audio redirects to audio_url, 404 without audio', async () => {
  const url = 'https://recordings.example.com/calls/42.mp3?sig=a%2Fb';
  const withUrl = await submitOk({ transcript: HELLO, audio_url: url });
  const res = await fetch(`${server.url}/v1/conversations/${withUrl.conversation_id}/audio`, {
    headers: { 'X-API-Key': key },
    redirect: 'manual',
  });
  const body = await res.json();
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), url);
  assert.deepEqual(body, { audio_url: url });

  const none = await submitOk({ transcript: HELLO });
  const noAudio = await api.get(`/v1/conversations/${none.conversation_id}/audio`);
  assertApiError(noAudio, 404, 'NOT_FOUND');
  assert.equal(noAudio.json.error.message, 'Conversation has no audio');
  assertApiError(await api.get('/v1/conversations/01HZZZZZZZZZZZZZZZZZZZZZZZ/audio'), 404, 'NOT_FOUND');
  const noKey = await readResponse(
    await fetch(`${server.url}/v1/conversations/${withUrl.conversation_id}/audio`, { redirect: 'manual' }));
  assertApiError(noKey, 401, 'UNAUTHENTICATED');
});
