// HTTP client for the voxtrace API. Every request is same-origin, sends the session cookie and the
// X-Voxtrace-UI header that the server requires on cookie-authenticated state changes (CSRF defence).

// ApiError carries the HTTP status and the server's parsed error body ({"error":{code,message,details}}).
export class ApiError extends Error {
  constructor(status, body, fallback) {
    const e = body && body.error;
    super((e && e.message) || fallback || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.code = e && e.code;
  }
}

function buildUrl(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

async function parse(res) {
  const type = res.headers.get('content-type') || '';
  let body = null;
  if (res.status !== 204) {
    if (type.includes('json')) {
      try { body = await res.json(); } catch (_) { body = null; }
    } else {
      const t = await res.text();
      body = t ? { error: { message: t.slice(0, 300) } } : null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, body, `${res.status} ${res.statusText}`);
  return body;
}

// Listeners told when any request answers 401, so the shell can return to the sign-in page.
const unauthorizedListeners = new Set();
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

async function send(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, null, `Network error: ${err.message || err}`);
  }
  try {
    return await parse(res);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && !url.startsWith('/v1/sessions')) {
      for (const fn of unauthorizedListeners) fn(err);
    }
    throw err;
  }
}

// api(path, {method, body, query, signal}) -> parsed JSON (null for an empty answer).
// Throws ApiError with .status (0 for network failures) and .body.
export function api(path, opts = {}) {
  const method = opts.method || 'GET';
  const headers = { 'X-Voxtrace-UI': '1', Accept: 'application/json' };
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  return send(buildUrl(path, opts.query), {
    method, headers, body, credentials: 'same-origin', signal: opts.signal,
  });
}

// apiForm(path, formData, {signal}) POSTs multipart/form-data (the browser sets the boundary).
export function apiForm(path, formData, opts = {}) {
  return send(path, {
    method: 'POST',
    headers: { 'X-Voxtrace-UI': '1', Accept: 'application/json' },
    body: formData,
    credentials: 'same-origin',
    signal: opts.signal,
  });
}
