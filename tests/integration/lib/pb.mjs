// A minimal protobuf wire-format reader and writer, just enough for the suites to build OTLP
// requests the SDK would refuse to build (bad ids) and to read the server's protobuf answers
// (ExportTraceServiceResponse, google.rpc.Status). No protobuf library sits in the exporter's
// dependency tree, and the wire format is small enough to spell out here.

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/**
 * Splits a message into its fields.
 * @param {Uint8Array} buf
 * @returns {{field: number, wire: number, value: bigint|Buffer}[]} varints as bigint,
 *   length-delimited and fixed-width fields as Buffers
 */
export function decodeFields(buf) {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = [];
  let pos = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= b.length) throw new Error('truncated varint');
      if (shift > 63n) throw new Error('varint too long');
      const byte = b[pos++];
      v |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
  };
  const take = (n) => {
    if (pos + n > b.length) throw new Error('truncated field');
    const s = b.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  while (pos < b.length) {
    const tag = varint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0) throw new Error('field number 0');
    if (wire === WIRE_VARINT) out.push({ field, wire, value: varint() });
    else if (wire === WIRE_I64) out.push({ field, wire, value: take(8) });
    else if (wire === WIRE_LEN) out.push({ field, wire, value: take(Number(varint())) });
    else if (wire === WIRE_I32) out.push({ field, wire, value: take(4) });
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

/** google.rpc.Status: code (1), message (2), details (3, count only). */
export function decodeRpcStatus(buf) {
  const st = { code: 0, message: '', details: 0 };
  for (const f of decodeFields(buf)) {
    if (f.field === 1 && f.wire === WIRE_VARINT) st.code = Number(BigInt.asIntN(32, f.value));
    else if (f.field === 2 && f.wire === WIRE_LEN) st.message = f.value.toString('utf8');
    else if (f.field === 3 && f.wire === WIRE_LEN) st.details++;
  }
  return st;
}

/**
 * ExportTraceServiceResponse: partial_success (1) = {rejected_spans (1), error_message (2)}.
 * @returns {{partialSuccess: {rejectedSpans: number, errorMessage: string}|null}}
 */
export function decodeExportResponse(buf) {
  let partialSuccess = null;
  for (const f of decodeFields(buf)) {
    if (f.field !== 1 || f.wire !== WIRE_LEN) continue;
    partialSuccess = { rejectedSpans: 0, errorMessage: '' };
    for (const g of decodeFields(f.value)) {
      if (g.field === 1 && g.wire === WIRE_VARINT) partialSuccess.rejectedSpans = Number(g.value);
      else if (g.field === 2 && g.wire === WIRE_LEN) {
        partialSuccess.errorMessage = g.value.toString('utf8');
      }
    }
  }
  return { partialSuccess };
}

// ---- writer -------------------------------------------------------------------------------

function varintBytes(v) {
  let n = BigInt(v);
  const out = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

const tag = (field, wire) => varintBytes((field << 3) | wire);
const lenField = (field, bytes) =>
  Buffer.concat([tag(field, WIRE_LEN), varintBytes(bytes.length), bytes]);
const strField = (field, s) => lenField(field, Buffer.from(s, 'utf8'));
const varintField = (field, v) => Buffer.concat([tag(field, WIRE_VARINT), varintBytes(v)]);
function fixed64Field(field, v) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return Buffer.concat([tag(field, WIRE_I64), b]);
}

/** KeyValue with a string AnyValue. */
function keyValue(key, value) {
  return Buffer.concat([strField(1, key), lenField(2, strField(1, String(value)))]);
}

/**
 * Encodes an ExportTraceServiceRequest with one resource and one scope. Ids are hex strings and
 * are written as given, whatever their length, so invalid ones reach the server.
 * @param {{resource?: Record<string,string>, scope?: {name: string, version?: string},
 *   spans: {traceId: string, spanId: string, parentSpanId?: string, name: string, kind?: number,
 *   start: bigint, end: bigint, attributes?: Record<string,string>}[]}} req
 */
export function encodeTraceRequest({ resource = {}, scope = { name: 'pb-test' }, spans }) {
  const resourceMsg = Buffer.concat(
    Object.entries(resource).map(([k, v]) => lenField(1, keyValue(k, v))),
  );
  const scopeMsg = Buffer.concat([
    strField(1, scope.name),
    ...(scope.version ? [strField(2, scope.version)] : []),
  ]);
  const spanMsgs = spans.map((s) =>
    lenField(
      2,
      Buffer.concat([
        lenField(1, Buffer.from(s.traceId, 'hex')),
        lenField(2, Buffer.from(s.spanId, 'hex')),
        ...(s.parentSpanId ? [lenField(4, Buffer.from(s.parentSpanId, 'hex'))] : []),
        strField(5, s.name),
        varintField(6, s.kind ?? 1),
        fixed64Field(7, s.start),
        fixed64Field(8, s.end),
        ...Object.entries(s.attributes || {}).map(([k, v]) => lenField(9, keyValue(k, v))),
      ]),
    ),
  );
  const scopeSpans = Buffer.concat([lenField(1, scopeMsg), ...spanMsgs]);
  const resourceSpans = Buffer.concat([lenField(1, resourceMsg), lenField(2, scopeSpans)]);
  return lenField(1, resourceSpans);
}
