// Org isolation on every endpoint of the resource API: a key of org B gets 404 for org A's run,
// simulation and conversation ids on every GET, PATCH, DELETE, audio, summary, export and spans
// read, never sees A's items in a list or a search, cannot attach its own things to A's, and
// changes nothing of A's by trying. Ids are per org: both orgs may use the same simulation id.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, readResponse } from './lib/server.mjs';
import { assertApiError, ingestOk, postOtlp, otlpRequest, span, hex, nowNs, tinyWav, MS } from './lib/otlp_json.mjs';

let server;
let A; // {key, api, runId, simId, convId, uploadId}
let B; // {key, api}

const enc = encodeURIComponent;
const SHARED_SIM_ID = 'shared-sim-id';

function trace(baseNs, names) {
  const t = hex(16);
  return otlpRequest(names.map((name, i) => span({
    traceId: t, name, start: baseNs + BigInt(i * 100) * MS, end: baseNs + BigInt(i * 100 + 90) * MS,
    status: name === 'tts' ? 'ERROR' : 'OK', attributes: { 'metrics.ttfb': 0.25 },
  })));
}

before(async () => {
  server = await startServer();
  await server.createOrg('org-a');
  await server.createOrg('org-b');
  const keyA = await server.createKey('org-a');
  const keyB = await server.createKey('org-b');
  A = { key: keyA, api: server.client(keyA) };
  B = { key: keyB, api: server.client(keyB) };

  const base = (nowNs() / MS - 600_000n) * MS;
  A.runId = (await A.api.post('/v1/runs', { display_name: 'secret run' })).json.run.run_id;
  const sim = await A.api.post('/v1/simulations', { run_id: A.runId, simulation_id: SHARED_SIM_ID });
  assert.equal(sim.status, 200, sim.text);
  A.simId = sim.json.simulation.simulation_id;
  await ingestOk(server, A.key, { sim: A.simId }, trace(base, ['stt', 'llm', 'tts']));

  const conv = await A.api.post('/v1/conversations:submit', {
    transcript: [{ role: 'user', content: 'my account number is 1234' }],
    audio_url: 'https://a.example.com/secret.wav',
    external_conversation_id: 'a-ext-1',
    agent_id: 'agent-a',
    metadata: { customer: 'acme' },
  });
  assert.equal(conv.status, 200, conv.text);
  A.convId = conv.json.conversation.conversation_id;
  await ingestOk(server, A.key, { conv: A.convId }, trace(base + 60_000n * MS, ['llm', 'tts']));

  const fd = new FormData();
  fd.append('audio', new Blob([tinyWav()], { type: 'audio/wav' }), 'a.wav');
  const up = await readResponse(await fetch(`${server.url}/v1/conversations:upload`, {
    method: 'POST', headers: { 'X-API-Key': A.key }, body: fd,
  }));
  assert.equal(up.status, 200, up.text);
  A.uploadId = up.json.conversation.conversation_id;
});

after(async () => {
  if (server) await server.stop();
});

/** What A owns, read with A's key, to compare before and after B's attempts. */
async function snapshotA() {
  const run = await A.api.get(`/v1/runs/${A.runId}`);
  const sim = await A.api.get(`/v1/simulations/${enc(A.simId)}`);
  const conv = await A.api.get(`/v1/conversations/${A.convId}`);
  for (const r of [run, sim, conv]) assert.equal(r.status, 200, r.text);
  return {
    run: run.json.run,
    sim: sim.json.simulation,
    conv: conv.json.conversation,
    simSpans: (await A.api.allSpans({ simulation_output_id: A.simId })).traces,
    convSpans: (await A.api.allSpans({ conversation_id: A.convId })).traces,
  };
}

test("every read, change and delete of A's ids answers 404 to B", async () => {
  const prior = await snapshotA();
  assert.equal(prior.simSpans.length, 3);
  assert.equal(prior.convSpans.length, 2);
  const b = B.api;
  const patch = (p, json) => b.request('PATCH', p, { json });
  const del = (p) => b.request('DELETE', p);
  const sim = enc(A.simId);
  const late = () => trace(nowNs() - 5_000n * MS, ['llm']);
  const checks = [
    ['GET run', () => b.get(`/v1/runs/${A.runId}`)],
    ['GET simulation', () => b.get(`/v1/simulations/${sim}`)],
    ['PATCH simulation', () => patch(`/v1/simulations/${sim}`, { status: 'FAILED', result: 'FAILED' })],
    ['GET conversation', () => b.get(`/v1/conversations/${A.convId}`)],
    ['PATCH conversation', () => patch(`/v1/conversations/${A.convId}`, { metadata: { pwned: true }, tags: ['x'] })],
    ['GET audio (url)', () => b.get(`/v1/conversations/${A.convId}/audio`)],
    ['GET spans of simulation', () => b.get(`/v1/traces/spans?simulation_output_id=${sim}`)],
    ['GET spans of simulation (alias)', () => b.get(`/v1/traces/spans?simulation_id=${sim}`)],
    ['GET spans of conversation', () => b.get(`/v1/traces/spans?conversation_id=${A.convId}`)],
    ['GET summary of simulation', () => b.get(`/v1/traces/summary?simulation_id=${sim}`)],
    ['GET summary of conversation', () => b.get(`/v1/traces/summary?conversation_id=${A.convId}`)],
    ['GET export of simulation', () => b.get(`/v1/traces/export?simulation_output_id=${sim}`)],
    ['GET export of conversation', () => b.get(`/v1/traces/export?conversation_id=${A.convId}`)],
    ['POST simulation into A\'s run', () => b.post('/v1/simulations', { run_id: A.runId })],
    ['POST spans to A\'s simulation', () => postOtlp(server, B.key, { sim: A.simId }, late())],
    ['POST spans to A\'s conversation', () => postOtlp(server, B.key, { conv: A.convId }, late())],
    ['DELETE conversation', () => del(`/v1/conversations/${A.convId}`)],
    ['DELETE run', () => del(`/v1/runs/${A.runId}`)],
    ['GET audio (uploaded)', () => b.get(`/v1/conversations/${A.uploadId}/audio`)],
    ['DELETE uploaded conversation', () => del(`/v1/conversations/${A.uploadId}`)],
  ];
  for (const [what, call] of checks) {
    const r = await call();
    assert.equal(r.status, 404, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.json?.error?.code, 'NOT_FOUND', `${what}: ${r.text}`);
    // Nothing in the answer may leak what A stored.
    for (const secret of ['secret', 'acme', '1234', 'a-ext-1', 'agent-a']) {
      assert.ok(!r.text.includes(secret), `${what} leaks "${secret}": ${r.text}`);
    }
  }
  // B's 404 is exactly the 404 of an id that exists nowhere.
  const missing = await b.get('/v1/runs/01HZZZZZZZZZZZZZZZZZZZZZZZ');
  const foreign = await b.get(`/v1/runs/${A.runId}`);
  assert.equal(foreign.json.error.message, missing.json.error.message);

  const later = await snapshotA();
  assert.deepEqual(later, prior, "B's attempts changed nothing of A's");
  const audio = await A.api.get(`/v1/conversations/${A.uploadId}/audio`);
  assert.equal(audio.status, 200, 'the uploaded audio is still there');
  assert.ok(Buffer.compare(audio.body, tinyWav()) === 0);
});

test("B's lists and searches never show A's items", async () => {
  // B has items of its own, so an empty answer is not the only way to pass.
  const bRun = (await B.api.post('/v1/runs', { display_name: 'b run' })).json.run.run_id;
  const bSim = (await B.api.post('/v1/simulations', { run_id: bRun })).json.simulation.simulation_id;
  await ingestOk(server, B.key, { sim: bSim }, trace(nowNs() - 300_000n * MS, ['llm', 'tts']));
  const bConv = (await B.api.post('/v1/conversations:submit', {
    transcript: [{ role: 'user', content: 'b' }], agent_id: 'agent-a', metadata: { customer: 'acme' },
  })).json.conversation.conversation_id;

  const runs = await B.api.get('/v1/runs');
  assert.equal(runs.status, 200, runs.text);
  assert.deepEqual(runs.json.runs.map((r) => r.run_id), [bRun]);
  const sims = await B.api.get('/v1/simulations');
  assert.equal(sims.status, 200, sims.text);
  assert.deepEqual(sims.json.simulations.map((s) => s.simulation_id), [bSim]);
  const simsOfA = await B.api.get(`/v1/simulations?filter=${enc(`run_id="${A.runId}"`)}`);
  assert.equal(simsOfA.status, 200, simsOfA.text);
  assert.deepEqual(simsOfA.json.simulations, []);
  const convs = await B.api.get('/v1/conversations');
  assert.equal(convs.status, 200, convs.text);
  assert.deepEqual(convs.json.conversations.map((c) => c.conversation_id), [bConv]);
  for (const f of ['external_conversation_id="a-ext-1"', 'metadata.customer="acme"']) {
    const r = await B.api.get(`/v1/conversations?filter=${enc(f)}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(!r.json.conversations.some((c) => c.conversation_id === A.convId), `${f} shows A's conversation`);
  }

  const search = async (filters) => {
    const r = await B.api.post('/v1/traces/search', { limit: 100, filters });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const mine = new Set([bSim, bConv]);
  for (const filters of [{}, { span_name: 'llm' }, { status: 'ERROR' }, { agent_id: 'agent-a' },
    { attribute_filters: [{ key: 'metrics.ttfb', operator: 'exists' }] }]) {
    const res = await search(filters);
    for (const item of res.items) {
      assert.ok(mine.has(item.simulation_output_id),
        `search ${JSON.stringify(filters)} shows ${item.simulation_output_id}`);
    }
    assert.ok(res.total_count <= 1, `total_count ${res.total_count} counts A's targets`);
  }
  const all = await search({});
  assert.deepEqual(all.items.map((i) => i.simulation_output_id), [bSim]);
  assert.equal(all.aggregate_stats.error_count, 1, "only B's one error span or call");
});

test('the same simulation id in two orgs names two simulations', async () => {
  const bRun = (await B.api.post('/v1/runs', { display_name: 'same id' })).json.run.run_id;
  const r = await B.api.post('/v1/simulations', { run_id: bRun, simulation_id: SHARED_SIM_ID });
  assert.equal(r.status, 200, r.text);
  await ingestOk(server, B.key, { sim: SHARED_SIM_ID }, trace(nowNs() - 100_000n * MS, ['b-only']));
  const bSpans = await B.api.allSpans({ simulation_output_id: SHARED_SIM_ID });
  assert.deepEqual(bSpans.traces.map((s) => s.name), ['b-only']);
  const aSpans = await A.api.allSpans({ simulation_output_id: SHARED_SIM_ID });
  assert.deepEqual(aSpans.traces.map((s) => s.name), ['stt', 'llm', 'tts']);
  const bSum = await B.api.get(`/v1/traces/summary?simulation_id=${SHARED_SIM_ID}`);
  assert.equal(bSum.status, 200, bSum.text);
  assert.equal(bSum.json.trace_summary.total_spans, 1);
  assert.equal(bSum.json.trace_summary.run_id, bRun);
  // B deleting its simulation leaves A's alone.
  assert.equal((await B.api.request('DELETE', `/v1/simulations/${SHARED_SIM_ID}`)).status, 200);
  assert.equal((await A.api.allSpans({ simulation_output_id: SHARED_SIM_ID })).total_spans, 3);
  assert.equal((await A.api.get(`/v1/simulations/${SHARED_SIM_ID}`)).status, 200);
});
