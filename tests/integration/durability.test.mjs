// A 200 from POST /v1/traces means the spans are committed: a server killed with SIGKILL while
// requests are in flight must come back with every acknowledged span (DESIGN.md 9). Several
// clients send batches concurrently so the kill lands in the middle of group commits; the test
// then restarts on the same data folder and looks for each acknowledged span.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { hex, MS, nowNs, otlpRequest, span } from './lib/otlp_json.mjs';

const CLIENTS = 8;
const SPANS_PER_REQUEST = 50;
const KILL_AFTER_ACKS = 60; // requests acknowledged before the kill

test('SIGKILL during concurrent ingest loses no acknowledged span', async () => {
  const first = await startServer();
  let second;
  try {
    const key = await first.createKey('default');
    const api = first.client(key);
    const sim = await api.createSimulation();

    const acked = new Set(); // span ids of 200 answers
    let ackedRequests = 0;
    let killed = false;
    const base = nowNs();

    const client = async (c) => {
      for (let i = 0; !killed; i++) {
        const traceId = hex(16);
        const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, k) =>
          span({ traceId, name: 'llm', start: base + BigInt(k) * MS, end: base + BigInt(k + 1) * MS,
                 attributes: { client: c, request: i } }));
        let res;
        try {
          res = await fetch(`${first.url}/v1/traces`, {
            method: 'POST',
            headers: { 'X-API-Key': key, 'X-Simulation-Id': sim, 'Content-Type': 'application/json' },
            body: JSON.stringify(otlpRequest(spans)),
          });
        } catch {
          return; // the server is gone: this request was never acknowledged
        }
        if (res.status !== 200) continue;
        await res.arrayBuffer();
        for (const s of spans) acked.add(s.spanId);
        if (++ackedRequests === KILL_AFTER_ACKS && !killed) {
          killed = true;
          first.proc.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const how = await first.exitPromise;
    assert.equal(how.signal, 'SIGKILL', 'the server was killed, not stopped');
    assert.ok(acked.size >= KILL_AFTER_ACKS * SPANS_PER_REQUEST);

    // The same data folder: a later --data wins over the one the helper passes first.
    second = await startServer({ args: ['--data', first.dataDir] });
    const { traces, total_spans } = await second.client(key).allSpans({ simulation_output_id: sim });
    const stored = new Set(traces.map((s) => s.span_id));
    const missing = [...acked].filter((id) => !stored.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged spans were lost`);
    assert.equal(total_spans, stored.size, 'the stored count matches the spans read');
  } finally {
    if (second) await second.stop();
    await first.stop();
  }
});
