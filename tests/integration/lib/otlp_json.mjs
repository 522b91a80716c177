// Hand-built OTLP JSON for the resource-API suites: spans with exact times, parents, statuses and
// typed attributes, so a suite can build a trace whose summary, search result or export it knows
// in advance. Also the shared check for the API's JSON error body, and a tiny WAV file.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readResponse } from './server.mjs';

export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const hex = (bytes) => randomBytes(bytes).toString('hex');
/** Now in nanoseconds, as a BigInt. */
export const nowNs = () => BigInt(Date.now()) * 1_000_000n;
export const MS = 1_000_000n;

/**
 * An OTLP JSON AnyValue for a JS value: strings, booleans, integers (number or BigInt), doubles,
 * arrays. A whole-number double is written {double: 2} so it is not sent as an integer.
 */
export function anyValue(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'bigint') return { intValue: String(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (v && typeof v === 'object' && typeof v.double === 'number') return { doubleValue: v.double };
  throw new Error(`no OTLP value for ${JSON.stringify(v)}`);
}

/** OTLP JSON attributes (KeyValue list) of a plain object. */
export const attrs = (o = {}) => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));

const STATUS_CODES = { UNSET: 0, OK: 1, ERROR: 2 };

/**
 * One OTLP JSON span. Times are BigInt nanoseconds.
 * @param {{traceId?: string, spanId?: string, parentSpanId?: string, name: string, start: bigint,
 *   end: bigint, kind?: number, status?: 'UNSET'|'OK'|'ERROR', message?: string,
 *   attributes?: object, events?: object[]}} s
 */
export function span(s) {
  const out = {
    traceId: s.traceId ?? hex(16),
    spanId: s.spanId ?? hex(8),
    name: s.name,
    kind: s.kind ?? 1,
    startTimeUnixNano: String(s.start),
    endTimeUnixNano: String(s.end),
    attributes: attrs(s.attributes),
    status: s.status && s.status !== 'UNSET'
      ? { code: STATUS_CODES[s.status], ...(s.message ? { message: s.message } : {}) }
      : {},
  };
  if (s.parentSpanId) out.parentSpanId = s.parentSpanId;
  if (s.events) {
    out.events = s.events.map((e) => ({
      name: e.name,
      timeUnixNano: String(e.time),
      attributes: attrs(e.attributes),
    }));
  }
  return out;
}

/**
 * An ExportTraceServiceRequest in OTLP JSON with one resource and one scope.
 * @param {object[]} spans from span()
 * @param {{resource?: object, scope?: {name: string, version?: string}}} [o]
 */
export function otlpRequest(spans, { resource = { 'service.name': 'my-agent' }, scope = { name: 'my-agent' } } = {}) {
  return {
    resourceSpans: [{ resource: { attributes: attrs(resource) }, scopeSpans: [{ scope, spans }] }],
  };
}

/**
 * POST /v1/traces with an OTLP JSON body to a simulation or a conversation.
 * @param {{url: string}} server
 * @param {string} key
 * @param {{sim?: string, conv?: string}} target
 * @param {object} body an OTLP JSON request
 */
export async function postOtlp(server, key, target, body) {
  const headers = { 'X-API-Key': key, 'Content-Type': 'application/json' };
  if (target.sim) headers['X-Simulation-Id'] = target.sim;
  if (target.conv) headers['X-Conversation-Id'] = target.conv;
  const res = await fetch(`${server.url}/v1/traces`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return readResponse(res);
}

/** postOtlp that fails the test unless every span was accepted; returns the JSON answer. */
export async function ingestOk(server, key, target, body) {
  const res = await postOtlp(server, key, target, body);
  assert.equal(res.status, 200, `POST /v1/traces: ${res.text}`);
  assert.equal(res.json.partialSuccess, undefined, `spans rejected: ${res.text}`);
  return res.json;
}

/**
 * Asserts the API's JSON error body: status, error code, and (when given) the field that
 * details[0] names.
 */
export function assertApiError(res, status, code, field) {
  assert.equal(res.status, status, `status; body: ${res.text}`);
  assert.match(res.headers.get('content-type') || '', /^application\/json/, `content type; body: ${res.text}`);
  assert.ok(res.json && res.json.error, `not a JSON error body: ${res.text}`);
  assert.equal(res.json.error.code, code, `error code; body: ${res.text}`);
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(res.json.error.message.length > 0, 'empty error message');
  if (field !== undefined) {
    assert.ok(Array.isArray(res.json.error.details) && res.json.error.details.length > 0,
      `no details naming ${field}: ${res.text}`);
    assert.equal(res.json.error.details[0].field, field, `details[0].field; body: ${res.text}`);
    assert.equal(typeof res.json.error.details[0].description, 'string');
  }
}

/**
 * A valid 16-bit mono PCM WAV file: the RIFF header and `samples` samples of a square wave.
 * @returns {Buffer}
 */
export function tinyWav(samples = 64, rate = 8000) {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(i % 16 < 8 ? 8000 : -8000, i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/**
 * Every item of a page_size/page_token list, following next_page_token.
 * @param {import('./server.mjs').ApiClient} api
 * @param {string} path e.g. '/v1/runs?page_size=2'
 * @param {string} field the list's array field, e.g. 'runs'
 * @returns {Promise<{items: object[], pages: number}>}
 */
export async function listAll(api, path, field, maxPages = 1000) {
  const items = [];
  let token = '';
  let pages = 0;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await api.get(token ? `${path}${sep}page_token=${encodeURIComponent(token)}` : path);
    assert.equal(r.status, 200, `GET ${path}: ${r.text}`);
    assert.ok(Array.isArray(r.json[field]), `no ${field} array in ${r.text}`);
    items.push(...r.json[field]);
    pages++;
    token = r.json.next_page_token;
    if (!token) break;
    assert.ok(pages < maxPages, `more than ${maxPages} pages`);
  }
  return { items, pages };
}
