// DOM helpers shared by every view. Nothing here ever parses a string as HTML: text always
// becomes a text node, so data from the API (span attributes, transcripts, names) cannot run.

// h(tag, props, ...children) creates an element.
//   props.className   -> class attribute
//   props.dataset     -> data-* attributes ({testid: "x"} gives data-testid="x")
//   props.attrs       -> other attributes, set with setAttribute (href, type, for, aria-*, ...)
//   props.style       -> object of style properties assigned one by one (allowed under the CSP)
//   props.onclick ... -> any key starting with "on" becomes an event listener
//   props.text        -> text content (same as passing one string child)
//   any other key     -> assigned as a DOM property (value, checked, disabled, hidden, selected...)
// Children may be nodes, strings or numbers (become text nodes), arrays (flattened), or
// null/undefined/false (skipped), so callers can write `cond && h(...)`.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === 'className') {
        el.className = value;
      } else if (key === 'dataset') {
        for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
      } else if (key === 'attrs') {
        for (const [k, v] of Object.entries(value)) {
          if (v === undefined || v === null || v === false) continue;
          el.setAttribute(k, v === true ? '' : String(v));
        }
      } else if (key === 'style') {
        for (const [k, v] of Object.entries(value)) {
          if (k.startsWith('--')) el.style.setProperty(k, String(v));
          else el.style[k] = v;
        }
      } else if (key === 'text') {
        el.textContent = String(value);
      } else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else {
        el[key] = value;
      }
    }
  }
  append(el, children);
  return el;
}

// append(parent, ...children) adds children with the same rules as h(); returns parent.
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

// clear(el) removes every child; returns el.
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// replace(el, ...children) clears el and appends children; returns el.
export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// text(s) is a text node (for places where a node, not a string, is wanted).
export function text(s) {
  return document.createTextNode(s === undefined || s === null ? '' : String(s));
}

// link(href, ...children) is an <a> for an in-app route; the router intercepts its clicks.
export function link(href, props, ...children) {
  const p = Object.assign({}, props || {});
  p.attrs = Object.assign({}, p.attrs || {}, { href });
  return h('a', p, ...children);
}

// Formatting helpers used across views. They return plain strings.

// fmtTime formats an RFC 3339 string or a Date as local "YYYY-MM-DD HH:MM:SS"; '' for nothing.
export function fmtTime(value) {
  if (!value) return '';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// fmtMs formats a duration in milliseconds with a unit that keeps it short (µs, ms, s, min).
export function fmtMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(Number(ms))) return '';
  const v = Number(ms);
  const a = Math.abs(v);
  if (a < 1) return `${(v * 1000).toFixed(0)} µs`;
  if (a < 1000) return `${v.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0)} ms`;
  if (a < 60000) return `${(v / 1000).toFixed(2)} s`;
  return `${(v / 60000).toFixed(1)} min`;
}

// fmtNum formats a number with at most `digits` fraction digits and thousands separators.
export function fmtNum(value, digits = 2) {
  if (value === undefined || value === null || value === '') return '';
  const v = Number(value);
  if (!Number.isFinite(v)) return String(value);
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

// fmtPct formats a percentage value (0..100) as "12.5%".
export function fmtPct(value, digits = 1) {
  if (value === undefined || value === null) return '';
  return `${Number(value).toFixed(digits)}%`;
}

// badge(status) is a small colored pill for a status/result word (PASSED, FAILED, COMPLETED, ...).
export function badge(status, testid) {
  const s = String(status || '—');
  const kind = s.toLowerCase().replace(/[^a-z]+/g, '-');
  return h('span', { className: `badge badge-${kind}`, dataset: testid ? { testid } : undefined }, s);
}

// errorText turns a thrown API error (see api.js) or any Error into one readable sentence.
export function errorText(err) {
  if (!err) return 'Unknown error';
  const e = err.body && err.body.error;
  if (e && e.message) {
    const details = Array.isArray(e.details) && e.details.length
      ? ' (' + e.details.map((d) => [d.field, d.description].filter(Boolean).join(': ')).join('; ') + ')'
      : '';
    return e.message + details;
  }
  return err.message || String(err);
}

// errorBox(err) is a block showing an error message (data-testid="error").
export function errorBox(err) {
  return h('div', { className: 'error-box', dataset: { testid: 'error' }, attrs: { role: 'alert' } }, errorText(err));
}

// loading(label) is a placeholder shown while data loads (data-testid="loading").
export function loading(label = 'Loading…') {
  return h('div', { className: 'loading', dataset: { testid: 'loading' } }, h('span', { className: 'spinner' }), label);
}

// empty(message) is an empty-state block (data-testid="empty").
export function empty(message) {
  return h('div', { className: 'empty', dataset: { testid: 'empty' } }, message);
}

// enc makes an id safe as one URL path segment (ids are URL-safe already; this is a guard).
export function enc(s) {
  return encodeURIComponent(String(s));
}
