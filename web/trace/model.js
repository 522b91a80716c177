// The trace model: the flat span objects of GET /v1/traces/spans turned into the tree both views draw.
//
// One pass parses times, one sort orders every span by start, and walking spans in that order links
// each to its parent, which leaves every children list (and the root list) already sorted by start.
// A span's parent is looked up by (trace id, parent span id), the identity the store keeps; a span whose
// parent is absent is an orphan and sits at the root, marked. Parent links that form a cycle (possible
// only in hostile or corrupt data) are cut at one span of the cycle, which also becomes a marked root, so
// every span is drawn exactly once. Everything is O(n log n) in the number of spans.
//
// Times are kept as milliseconds relative to the trace start (the earliest span start). The wire gives
// nanoseconds since the epoch as decimal strings, which do not fit a double exactly, so the seconds and
// nanoseconds parts are parsed separately and only the (small) difference becomes a double.

const NANO_RE = /^\d{1,20}$/;

// parseNanos(value) -> [seconds, nanoseconds] of a unix-nano string or number; null when unusable.
export function parseNanos(value) {
  if (typeof value === 'string') {
    if (!NANO_RE.test(value)) return null;
    if (value.length <= 9) return [0, Number(value)];
    return [Number(value.slice(0, -9)), Number(value.slice(-9))];
  }
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    const sec = Math.floor(value / 1e9);
    return [sec, value - sec * 1e9];
  }
  return null;
}

// formatAbsolute(value) -> an RFC 3339 UTC timestamp with nanoseconds ("2024-11-24T00:00:00.420000000Z"),
// or '' when the value is not a usable unix-nano time.
export function formatAbsolute(value) {
  const t = parseNanos(value);
  if (!t) return '';
  const d = new Date(t[0] * 1000);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace(/\.\d{3}Z$/, '.' + String(Math.floor(t[1])).padStart(9, '0') + 'Z');
}

function isError(span) {
  const st = span.status;
  if (!st || typeof st !== 'object') return false;
  return st.code === 'ERROR' || st.code === 2 || st.code === 'STATUS_CODE_ERROR';
}

function idString(v) {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

// spanKey(traceId, spanId) is the identity of a span inside a model (used by byKey).
export function spanKey(traceId, spanId) {
  return idString(traceId) + ':' + idString(spanId);
}

// buildTraceModel(spans) -> the model; never throws on malformed spans (they are drawn at offset 0).
//   nodes     every span as a node, in input order: {i, span, traceId, spanId, parentId, key, name,
//             type (index into types), start, end, dur (ms from the trace start), depth, parent (node or
//             null), children (array of nodes sorted by start, or null), orphan ('' | 'missing-parent' |
//             'cycle'), error (status ERROR), badTime (start time unusable), row (flame graph row)}
//   byStart   the nodes sorted by start (ties: longer first, then input order)
//   roots     the top-level nodes (real roots and orphans), sorted by start
//   order     all nodes in depth-first pre-order (every parent before its children)
//   byKey     Map spanKey(trace, span) -> node (the first node for a repeated key)
//   levels    per flame graph row (see layoutRows; node.row is a span's row): {idx: node indices by
//             start, start, end, maxEnd (running maximum of end, for range queries)}
//   types     [{name, index, count, errors}] one per span name, most frequent first
//   totalMs   the trace duration (latest end); t0 the trace start (earliest span start) as
//             [unix seconds, nanoseconds]
//   maxDepth, orphanCount, errorCount
export function buildTraceModel(input) {
  const spans = Array.isArray(input) ? input.filter((s) => s && typeof s === 'object') : [];
  const n = spans.length;
  const sSec = new Float64Array(n), sNs = new Float64Array(n);
  const eSec = new Float64Array(n), eNs = new Float64Array(n);
  const startOk = new Uint8Array(n), endOk = new Uint8Array(n);
  let t0Sec = Infinity, t0Ns = 0;
  for (let i = 0; i < n; i++) {
    const s = parseNanos(spans[i].start_time_unix_nano);
    if (s) {
      sSec[i] = s[0]; sNs[i] = s[1]; startOk[i] = 1;
      if (s[0] < t0Sec || (s[0] === t0Sec && s[1] < t0Ns)) { t0Sec = s[0]; t0Ns = s[1]; }
    }
    const e = parseNanos(spans[i].end_time_unix_nano);
    if (e) { eSec[i] = e[0]; eNs[i] = e[1]; endOk[i] = 1; }
  }
  if (t0Sec === Infinity) { t0Sec = 0; t0Ns = 0; }

  const types = [];
  const typeByName = new Map();
  const nodes = new Array(n);
  let totalMs = 0, errorCount = 0;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    const name = typeof span.name === 'string' && span.name !== '' ? span.name : '(unnamed)';
    let type = typeByName.get(name);
    if (!type) {
      type = { name, index: types.length, count: 0, errors: 0 };
      types.push(type);
      typeByName.set(name, type);
    }
    const start = startOk[i] ? (sSec[i] - t0Sec) * 1000 + (sNs[i] - t0Ns) / 1e6 : 0;
    let end = start;
    if (startOk[i] && endOk[i]) {
      end = (eSec[i] - t0Sec) * 1000 + (eNs[i] - t0Ns) / 1e6;
    } else if (Number.isFinite(span.duration_ms)) {
      end = start + span.duration_ms;
    }
    if (!(end >= start)) end = start;
    const error = isError(span);
    type.count++;
    if (error) { type.errors++; errorCount++; }
    if (end > totalMs) totalMs = end;
    const traceId = idString(span.trace_id);
    const spanId = idString(span.span_id);
    const parentId = idString(span.parent_span_id);
    nodes[i] = {
      i, span, traceId, spanId, parentId, key: spanKey(traceId, spanId), name, type: type.index,
      start, end, dur: end - start, depth: 0, row: 0, parent: null, children: null, orphan: '', error,
      badTime: !startOk[i],
    };
  }
  types.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Type indices follow the legend order so a type's index is also its position in `types`.
  const remap = new Int32Array(types.length);
  types.forEach((t, k) => { remap[t.index] = k; t.index = k; });
  for (let i = 0; i < n; i++) nodes[i].type = remap[nodes[i].type];

  const byKey = new Map();
  for (let i = 0; i < n; i++) if (!byKey.has(nodes[i].key)) byKey.set(nodes[i].key, nodes[i]);

  const byStart = nodes.slice();
  byStart.sort((a, b) => a.start - b.start || b.end - a.end || a.i - b.i);

  // Visiting spans by start makes every push below land in start order.
  const roots = [];
  let orphanCount = 0;
  for (const node of byStart) {
    if (node.parentId === '') { roots.push(node); continue; }
    const parent = byKey.get(spanKey(node.traceId, node.parentId));
    if (parent && parent !== node) {
      node.parent = parent;
      (parent.children || (parent.children = [])).push(node);
    } else {
      node.orphan = parent === node ? 'cycle' : 'missing-parent';
      orphanCount++;
      roots.push(node);
    }
  }

  const order = [];
  const visited = new Uint8Array(n);
  const walk = (root) => {
    const stack = [root];
    root.depth = 0;
    while (stack.length) {
      const node = stack.pop();
      visited[node.i] = 1;
      order.push(node);
      const ch = node.children;
      if (!ch) continue;
      for (let k = ch.length - 1; k >= 0; k--) { ch[k].depth = node.depth + 1; stack.push(ch[k]); }
    }
  };
  for (const r of roots) walk(r);

  // Whatever the walk did not reach hangs off a parent cycle. Climb from it until a span repeats (that
  // span is on the cycle), cut that span loose as a marked root and walk it; repeat until all are seen.
  if (order.length < n) {
    const cut = [];
    const seen = new Uint32Array(n);
    let stamp = 0;
    for (const node of byStart) {
      if (visited[node.i]) continue;
      stamp++;
      let cur = node;
      while (seen[cur.i] !== stamp && !visited[cur.i]) { seen[cur.i] = stamp; cur = cur.parent; }
      if (visited[cur.i]) continue; // cannot happen: an unvisited span's ancestors are unvisited too
      const p = cur.parent;
      p.children.splice(p.children.indexOf(cur), 1);
      if (p.children.length === 0) p.children = null;
      cur.parent = null;
      cur.orphan = 'cycle';
      orphanCount++;
      cut.push(cur);
      walk(cur);
    }
    cut.sort((a, b) => a.start - b.start || b.end - a.end || a.i - b.i);
    roots.push(...cut);
    roots.sort((a, b) => a.start - b.start || b.end - a.end || a.i - b.i);
  }

  let maxDepth = 0;
  for (let i = 0; i < n; i++) if (nodes[i].depth > maxDepth) maxDepth = nodes[i].depth;
  const levels = layoutRows(order, byStart, n);
  return {
    nodes, byStart, roots, order, byKey, levels, types, totalMs, maxDepth, orphanCount, errorCount,
    t0: [t0Sec, t0Ns],
  };
}

// offsetMs(model, value) -> a unix-nano time (event, link) as ms from the trace start; null if unusable.
export function offsetMs(model, value) {
  const t = parseNanos(value);
  if (!t) return null;
  return (t[0] - model.t0[0]) * 1000 + (t[1] - model.t0[1]) / 1e6;
}

// The flame graph stacks spans by depth, but siblings that overlap in time (vad beside stt, tts
// starting while llm still streams, transport beside pipeline) would then cover each other. So each
// span gets a row: the first row below its parent's that is free at its start, looking at most
// MAX_LANES rows down (past that it shares its parent's next row and may overlap). Spans are placed
// in order of start, parents first (a child that starts before its parent is placed as if it started
// with it), so a row's running maximum end tells whether a span fits, and rows hold spans that do not
// overlap, which keeps the flame graph's range queries tight.
const MAX_LANES = 8;

function layoutRows(order, byStart, n) {
  const layoutStart = new Float64Array(n);
  for (const node of order) {
    layoutStart[node.i] = node.parent && layoutStart[node.parent.i] > node.start ? layoutStart[node.parent.i] : node.start;
  }
  const placing = order.slice();
  placing.sort((a, b) => layoutStart[a.i] - layoutStart[b.i] || a.depth - b.depth || b.end - a.end || a.i - b.i);
  const rowEnd = [];
  for (const node of placing) {
    const base = node.parent ? node.parent.row + 1 : 0;
    const at = layoutStart[node.i];
    let r = base;
    while (r < rowEnd.length && rowEnd[r] > at && r < base + MAX_LANES) r++;
    if (r === base + MAX_LANES) r = base;
    while (rowEnd.length <= r) rowEnd.push(-Infinity);
    node.row = r;
    if (node.end > rowEnd[r]) rowEnd[r] = node.end;
  }

  const size = new Int32Array(rowEnd.length);
  for (const node of order) size[node.row]++;
  const levels = [];
  for (let r = 0; r < size.length; r++) {
    levels.push({ idx: new Int32Array(size[r]), start: new Float64Array(size[r]),
      end: new Float64Array(size[r]), maxEnd: new Float64Array(size[r]) });
  }
  const fill = new Int32Array(size.length);
  for (const node of byStart) {
    const lv = levels[node.row];
    const k = fill[node.row]++;
    lv.idx[k] = node.i;
    lv.start[k] = node.start;
    lv.end[k] = node.end;
    lv.maxEnd[k] = k > 0 && lv.maxEnd[k - 1] > node.end ? lv.maxEnd[k - 1] : node.end;
  }
  return levels;
}

// ancestors(node) -> the parent chain from the root down to the direct parent.
export function ancestors(node) {
  const chain = [];
  for (let p = node.parent; p; p = p.parent) chain.push(p);
  return chain.reverse();
}

// slowestNodes(model, k) -> the k longest spans (ties: earlier start first), longest first.
export function slowestNodes(model, k) {
  const top = [];
  for (const node of model.byStart) {
    if (top.length === k && node.dur <= top[k - 1].dur) continue;
    let j = top.length < k ? top.length : k - 1;
    while (j > 0 && top[j - 1].dur < node.dur) { top[j] = top[j - 1]; j--; }
    top[j] = node;
  }
  return top;
}

// errorNodes(model, k) -> the first k spans with status ERROR, by start.
export function errorNodes(model, k) {
  const out = [];
  for (const node of model.byStart) {
    if (!node.error) continue;
    out.push(node);
    if (out.length === k) break;
  }
  return out;
}

// levelLowerBound(level, t) -> the first index whose running maximum end reaches t: no span before it
// can overlap a range starting at t.
export function levelLowerBound(level, t) {
  let lo = 0, hi = level.maxEnd.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (level.maxEnd[mid] < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// levelUpperBound(level, t) -> the first index whose start is after t.
export function levelUpperBound(level, t) {
  let lo = 0, hi = level.start.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (level.start[mid] <= t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// ticks(from, to, maxCount) -> {step, values}: round tick positions (1, 2 or 5 times a power of ten ms)
// covering [from, to] with at most about maxCount ticks.
export function ticks(from, to, maxCount) {
  const span = to - from;
  if (!(span > 0) || !(maxCount >= 1)) return { step: 0, values: [] };
  const raw = span / maxCount;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const values = [];
  for (let k = Math.ceil(from / step); values.length < 200; k++) {
    const v = k * step;
    if (v > to + step * 1e-9) break;
    values.push(v);
  }
  return { step, values };
}

// tickFormatter(to, step) -> a function formatting a tick value (ms) in one unit for the whole axis:
// the unit follows the axis end and the decimals follow the step, so labels line up and differ.
export function tickFormatter(to, step) {
  let unit = 'ms', scale = 1;
  if (to >= 1000) { unit = 's'; scale = 1 / 1000; } else if (to < 1) { unit = 'µs'; scale = 1000; }
  const stepInUnit = step * scale;
  const decimals = stepInUnit > 0 ? Math.min(9, Math.max(0, Math.ceil(-Math.log10(stepInUnit) - 1e-9))) : 0;
  return (v) => `${(v * scale).toFixed(decimals)} ${unit}`;
}
