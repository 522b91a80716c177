// bench/analytics_load.mjs - loads the data set of the analytics benchmark (bench/analytics.sh)
// into a running voxtrace server through its public API, then prints one JSON line saying what
// it created and what some answers must be.
//
//   node bench/analytics_load.mjs --base http://127.0.0.1:PORT --key KEY
//        [--sims 1000] [--spans 300] [--big 10000] [--conc 4] [--failed-every 10]
//
// What it creates:
//  - run A with `sims` simulations, each with a transcript of ~55 user/assistant turns and
//    `spans` spans shaped like a voice agent's trace: conversation > turn > stt (> stt.provider.*)
//    / llm / llm_tool_call / tts, with the attributes the built-in metrics read (transcript,
//    metrics.ttfb, gen_ai.usage.*) and some ERROR spans; every `failed-every`-th simulation is
//    PATCHed to status FAILED.
//  - run B with one simulation of `big` spans of the same shape (the 10,000-span call).
// Spans go as OTLP JSON, one request per simulation (the big one in requests of 1,000 spans),
// `conc` requests at a time. Everything is deterministic: the same arguments give the same data,
// so the expected figures (span counts, the run's average STT WER) are computed here too.

import http from 'node:http';

// ---- arguments ---------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { sims: 1000, spans: 300, big: 10000, conc: 4, failedEvery: 10 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    switch (k) {
      case '--base': o.base = v; break;
      case '--key': o.key = v; break;
      case '--sims': o.sims = +v; break;
      case '--spans': o.spans = +v; break;
      case '--big': o.big = +v; break;
      case '--conc': o.conc = +v; break;
      case '--failed-every': o.failedEvery = +v; break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  if (!o.base || !o.key) throw new Error('--base and --key are required');
  return o;
}

// ---- HTTP ----------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
const base = new URL(opts.base);
if (base.hostname !== '127.0.0.1' && base.hostname !== 'localhost') {
  throw new Error('the benchmark only talks to a loopback server');
}
const agent = new http.Agent({ keepAlive: true, maxSockets: opts.conc });

/** One request; resolves to the parsed JSON answer, rejects on a non-2xx status. */
function call(method, path, body, headers = {}) {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((ok, fail) => {
    const req = http.request({
      host: base.hostname, port: base.port, method, path, agent,
      headers: {
        'X-API-Key': opts.key,
        ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
        ...headers,
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode < 200 || res.statusCode > 299) {
          fail(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
          return;
        }
        try { ok(text ? JSON.parse(text) : {}); } catch (e) { fail(e); }
      });
    });
    req.on('error', fail);
    if (data) req.write(data);
    req.end();
  });
}

/** Runs task(i) for i in [0, n) with at most `conc` running at once. */
async function pool(n, conc, task) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
}

// ---- deterministic data --------------------------------------------------------------------

// A small linear congruential generator, seeded per simulation, so that every run of the
// benchmark sends the same bytes.
function rng(seed) {
  let s = (seed * 2654435761 + 12345) >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const WORDS = ('i would like to book a table for two people tomorrow evening at seven please ' +
  'can you check my order status the delivery was late again and i want a refund yes no ' +
  'maybe that works thanks what time do you open on sunday is parking available near the ' +
  'restaurant my name is alex and my phone number ends in four two').split(' ');

const hex = (n, width) => n.toString(16).padStart(width, '0');

/**
 * The turns of one call: each has the user's words, the STT transcript of them (every fourth turn
 * with one word replaced by a word the reference never uses, so each such turn is exactly one
 * substitution), and the spans' shape. Returns {transcript, turns, refWords, subs}.
 */
function conversation(seed, nTurns) {
  const r = rng(seed);
  const transcript = [];
  const turns = [];
  let refWords = 0, subs = 0;
  for (let t = 0; t < nTurns; t++) {
    const n = 6 + Math.floor(r() * 10);
    const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
    const heard = words.slice();
    if (t % 4 === 3) {
      heard[Math.floor(r() * n)] = `zq${t}`;
      subs++;
    }
    refWords += n;
    // Capitals and punctuation in the reference exercise the normalisation, not the count.
    const said = words.join(' ');
    transcript.push({ role: 'user', content: said[0].toUpperCase() + said.slice(1) + '.' });
    transcript.push({ role: 'assistant', content: `Sure, noted: ${words.slice(0, 3).join(' ')}.` });
    turns.push({ heard: heard.join(' '), tool: t % 2 === 1, r: r() });
  }
  return { transcript, turns, refWords, subs };
}

const attr = (key, v) => {
  if (typeof v === 'string') return { key, value: { stringValue: v } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  if (Number.isInteger(v)) return { key, value: { intValue: String(v) } };
  return { key, value: { doubleValue: v } };
};

/**
 * The spans of one call, in OTLP JSON form: a conversation root, then per turn a turn span with
 * stt (and its provider child), llm, llm_tool_call on every other turn, and tts, until `total`
 * spans. Times are nested (children inside parents), ~6 s per turn. About 5% of tool calls and
 * 1% of tts spans end in ERROR.
 */
function callSpans(simIndex, total, conv) {
  const traceId = hex(0xab000000 + simIndex, 16) + hex(simIndex * 7919 + 1, 16);
  const t0 = 1_700_000_000_000_000_000n + BigInt(simIndex) * 1_000_000_000_000n;
  const ms = (x) => String(t0 + BigInt(Math.round(x * 1e6)));
  let nextId = 1;
  const spans = [];
  const add = (name, parent, startMs, endMs, attrs, error) => {
    const spanId = hex(simIndex + 1, 8) + hex(nextId++, 8);
    spans.push({
      traceId, spanId, parentSpanId: parent || '', name, kind: 1,
      startTimeUnixNano: ms(startMs), endTimeUnixNano: ms(endMs),
      attributes: attrs,
      status: error ? { code: 2, message: `${name} failed` } : { code: 1 },
    });
    return spanId;
  };
  const nTurns = conv.turns.length;
  const root = add('conversation', null, 0, nTurns * 6000 + 100,
    [attr('conversation.id', `call-${simIndex}`), attr('conversation.type', 'voice')], false);
  for (let t = 0; t < nTurns && spans.length < total; t++) {
    const turn = conv.turns[t];
    const b = t * 6000 + 50;
    const turnId = add('turn', root, b, b + 5800,
      [attr('turn.number', t + 1), attr('turn.type', 'user'), attr('turn.was_interrupted', false)], false);
    if (spans.length >= total) break;
    const stt = add('stt', turnId, b, b + 400,
      [attr('transcript', turn.heard), attr('metrics.ttfb', 0.12 + turn.r * 0.1), attr('stt.confidence', 0.93)], false);
    if (spans.length < total) {
      add('stt.provider.deepgram', stt, b + 5, b + 390,
        [attr('stt.providerName', 'deepgram'), attr('metrics.ttfb', 0.1 + turn.r * 0.1)], false);
    }
    if (spans.length < total) {
      add('llm', turnId, b + 420, b + 1900,
        [attr('metrics.ttfb', 0.35 + turn.r * 0.3), attr('gen_ai.system', 'openai'),
         attr('gen_ai.request.model', 'gpt-4o-mini'), attr('gen_ai.usage.input_tokens', 400 + t * 30),
         attr('gen_ai.usage.output_tokens', 20 + Math.floor(turn.r * 60)), attr('llm.finish_reason', 'stop')], false);
    }
    if (turn.tool && spans.length < total) {
      add('llm_tool_call', turnId, b + 1900, b + 2400,
        [attr('function.name', 'check_availability'), attr('tool_call_id', `call_${t}`),
         attr('function.arguments', '{"party_size":2,"time":"19:00"}')], turn.r < 0.05);
    }
    if (spans.length < total) {
      add('tts', turnId, b + 2400, b + 5700,
        [attr('metrics.ttfb', 0.2 + turn.r * 0.15), attr('text', 'Sure, one moment please.')],
        turn.r > 0.99);
    }
  }
  return spans;
}

function otlp(spans) {
  return {
    resourceSpans: [{
      resource: { attributes: [attr('service.name', 'bench-voice-agent'), attr('agent.name', 'booking')] },
      scopeSpans: [{ scope: { name: 'voxtrace-bench', version: '1' }, spans }],
    }],
  };
}

/**
 * The WER the server must find for a call: the reference is every user message, the hypothesis
 * the stt spans' transcripts. Each heard fourth turn is one substitution; the spans cut off at
 * `total` may leave the last turns without an stt span, whose words are then deletions.
 */
function expectedWer(conv, spans) {
  const heard = spans.filter((s) => s.name === 'stt').length;
  let edits = 0;
  conv.turns.forEach((turn, t) => {
    if (t >= heard) edits += turn.heard.split(' ').length;
    else if (t % 4 === 3) edits += 1;
  });
  return edits / conv.refWords;
}

// The turns a call of `total` spans needs: 1 root + 5.5 spans per turn on average.
const turnsFor = (total) => Math.ceil((total - 1) / 5.5) + 1;

// ---- loading -------------------------------------------------------------------------------

async function postSpans(simId, spans, perRequest) {
  let rejected = 0;
  for (let i = 0; i < spans.length; i += perRequest) {
    const ans = await call('POST', '/v1/traces', otlp(spans.slice(i, i + perRequest)),
      { 'X-Simulation-Id': simId });
    rejected += Number(ans.partialSuccess?.rejectedSpans ?? ans.partialSuccess?.rejected_spans ?? 0);
  }
  if (rejected) throw new Error(`${rejected} spans of ${simId} were rejected`);
}

async function main() {
  const t0 = performance.now();
  const runA = (await call('POST', '/v1/runs', { display_name: 'bench analytics 1000 x 300' })).run.run_id;
  const runB = (await call('POST', '/v1/runs', { display_name: 'bench analytics 10000-span call' })).run.run_id;

  // Run A: create every simulation with its transcript, then its spans.
  const simIds = new Array(opts.sims);
  let werSum = 0, spanTotal = 0, failed = 0;
  await pool(opts.sims, opts.conc, async (i) => {
    const conv = conversation(i + 1, turnsFor(opts.spans));
    const spans = callSpans(i, opts.spans, conv);
    const sim = await call('POST', '/v1/simulations', {
      run_id: runA, simulation_id: `bench-${String(i).padStart(5, '0')}`, transcript: conv.transcript,
    });
    simIds[i] = sim.simulation.simulation_id;
    await postSpans(simIds[i], spans, spans.length);
    werSum += expectedWer(conv, spans);
    spanTotal += spans.length;
  });
  const tLoaded = performance.now();

  // Every failed-every-th simulation: status FAILED.
  const failIdx = [];
  for (let i = opts.failedEvery - 1; i < opts.sims; i += opts.failedEvery) failIdx.push(i);
  await pool(failIdx.length, opts.conc, async (k) => {
    await call('PATCH', `/v1/simulations/${simIds[failIdx[k]]}`, { status: 'FAILED' });
    failed++;
  });

  // Run B: the big call, in requests of 1,000 spans.
  const bigConv = conversation(999_983, turnsFor(opts.big));
  const bigSpans = callSpans(opts.sims + 1, opts.big, bigConv);
  const big = (await call('POST', '/v1/simulations', { run_id: runB, transcript: bigConv.transcript })).simulation.simulation_id;
  const chunks = [];
  for (let i = 0; i < bigSpans.length; i += 1000) chunks.push(bigSpans.slice(i, i + 1000));
  await pool(chunks.length, opts.conc, (k) => postSpans(big, chunks[k], 1000));
  const tDone = performance.now();

  agent.destroy();
  process.stdout.write(JSON.stringify({
    run_id: runA, big_run_id: runB, big_simulation_id: big,
    simulations: opts.sims, spans: spanTotal, big_spans: bigSpans.length, failed,
    expected_wer_average: werSum / opts.sims,
    load_seconds: (tLoaded - t0) / 1000, total_seconds: (tDone - t0) / 1000,
    spans_per_second: Math.round((spanTotal + bigSpans.length) / ((tDone - t0) / 1000)),
  }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`analytics_load: ${e.stack || e}\n`);
  process.exit(1);
});
