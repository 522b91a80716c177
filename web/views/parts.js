// Pieces shared by several views: page header and breadcrumbs, token pager, transcript, metric grid
// with the OTel Traces card.
//
// data-testids: page-title, breadcrumbs, pager, prev-page, next-page, page-info, transcript,
// transcript-message (data-role), metric-grid, metric-card (data-metric-id), metric-value,
// metric-status, metric-result, otel-traces-card, otel-span-count, view-traces.

import { h, link, replace, fmtNum, badge, errorBox, errorText, loading, empty } from '/dom.js';

// pageHeader(title, {crumbs:[{label, href}], meta:[nodes], actions:[nodes]}).
export function pageHeader(title, opts = {}) {
  const crumbs = opts.crumbs && opts.crumbs.length
    ? h('nav', { className: 'breadcrumbs', dataset: { testid: 'breadcrumbs' }, attrs: { 'aria-label': 'Breadcrumb' } },
      opts.crumbs.map((c, i) => [
        i > 0 ? h('span', { className: 'crumb-sep', attrs: { 'aria-hidden': 'true' } }, '/') : null,
        c.href ? link(c.href, { className: 'crumb' }, c.label) : h('span', { className: 'crumb' }, c.label),
      ]))
    : null;
  return h('div', { className: 'page-header' },
    crumbs,
    h('div', { className: 'page-header-row' },
      h('div', { className: 'page-title-wrap' },
        h('h1', { className: 'page-title', dataset: { testid: 'page-title' } }, title),
        opts.meta && opts.meta.length ? h('div', { className: 'page-meta' }, opts.meta) : null),
      opts.actions && opts.actions.length ? h('div', { className: 'page-actions' }, opts.actions) : null));
}

// tokenPager(load) keeps the stack of page tokens for Previous/Next over the API's
// next_page_token lists. load(token) must return the list response; onPage(resp) renders it.
// Returns {el, reload(), first()}.
export function tokenPager({ load, onPage, onError, signal, label = 'Page' }) {
  const tokens = [''];
  let index = 0;
  let nextToken = '';
  let busy = false;
  const prev = h('button', { className: 'btn btn-sm', dataset: { testid: 'prev-page' }, attrs: { type: 'button' } }, '‹ Previous');
  const next = h('button', { className: 'btn btn-sm', dataset: { testid: 'next-page' }, attrs: { type: 'button' } }, 'Next ›');
  const info = h('span', { className: 'page-info muted', dataset: { testid: 'page-info' } });
  const el = h('div', { className: 'pager', dataset: { testid: 'pager' } }, prev, info, next);

  function sync() {
    prev.disabled = busy || index === 0;
    next.disabled = busy || !nextToken;
    info.textContent = `${label} ${index + 1}`;
    el.hidden = index === 0 && !nextToken;
  }

  async function go(i) {
    busy = true;
    sync();
    try {
      const resp = await load(tokens[i]);
      if (signal && signal.aborted) return;
      index = i;
      nextToken = (resp && resp.next_page_token) || '';
      tokens.length = index + 1;
      if (nextToken) tokens.push(nextToken);
      onPage(resp);
    } catch (err) {
      if (signal && signal.aborted) return;
      onError(err);
    } finally {
      busy = false;
      sync();
    }
  }

  prev.addEventListener('click', () => { if (index > 0) go(index - 1); });
  next.addEventListener('click', () => { if (nextToken) go(index + 1); });
  sync();
  return { el, reload: () => go(index), first: () => go(0) };
}

// The seconds of a transcript message as m:ss.s.
function clock(sec) {
  const v = Number(sec);
  if (!Number.isFinite(v)) return '';
  const m = Math.floor(v / 60);
  const s = v - m * 60;
  return `${m}:${s < 10 ? '0' : ''}${s.toFixed(1)}`;
}

// One tool call of an assistant message: function name and its arguments, as text.
function toolCall(tc) {
  const fn = (tc && tc.function) || {};
  let args = fn.arguments;
  if (typeof args !== 'string') args = args === undefined ? '' : JSON.stringify(args);
  return h('div', { className: 'tool-call' },
    h('span', { className: 'tool-call-name' }, `${fn.name || 'tool'}(`),
    h('code', { className: 'tool-call-args' }, args),
    h('span', { className: 'tool-call-name' }, ')'),
    tc && tc.id ? h('span', { className: 'muted small' }, ` · ${tc.id}`) : null);
}

// transcriptPanel(messages) shows every message with its role, text and timing.
export function transcriptPanel(messages) {
  const list = Array.isArray(messages) ? messages : [];
  const body = list.length === 0
    ? empty('No transcript.')
    : h('ol', { className: 'transcript' , dataset: { testid: 'transcript' } }, list.map((m) => {
      const role = String((m && m.role) || 'unknown');
      const textValue = m && (m.content !== undefined && m.content !== null ? m.content : m.message);
      const hasTime = m && (m.start_time !== undefined && m.start_time !== null);
      const timing = hasTime
        ? clock(m.start_time) + (m.end_time !== undefined && m.end_time !== null
          ? ` – ${clock(m.end_time)} (${fmtNum(m.end_time - m.start_time, 2)} s)` : '')
        : '';
      return h('li', { className: `msg msg-${role.replace(/[^a-z]/gi, '')}`, dataset: { testid: 'transcript-message', role } },
        h('div', { className: 'msg-head' },
          h('span', { className: 'msg-role' }, role),
          m && m.tool_call_id ? h('span', { className: 'muted small' }, `for ${m.tool_call_id}`) : null,
          timing ? h('span', { className: 'msg-time' }, timing) : null),
        textValue !== undefined && textValue !== null && textValue !== ''
          ? h('div', { className: 'msg-text' }, typeof textValue === 'string' ? textValue : JSON.stringify(textValue))
          : null,
        Array.isArray(m && m.tool_calls) && m.tool_calls.length
          ? h('div', { className: 'tool-calls' }, m.tool_calls.map(toolCall)) : null);
    }));
  return h('section', { className: 'card' },
    h('div', { className: 'card-head' }, h('h2', null, 'Transcript'),
      list.length ? h('span', { className: 'muted small' }, `${list.length} messages`) : null),
    h('div', { className: 'card-body transcript-body' }, body));
}

function metricValue(o) {
  if (o.value === null || o.value === undefined) return '—';
  const n = Number(o.value);
  const v = Number.isFinite(n) ? fmtNum(n, Math.abs(n) < 10 ? 3 : 2) : String(o.value);
  return v;
}

function metricCard(o) {
  const failed = o.status === 'FAILED';
  return h('div', {
    className: 'metric-card' + (failed ? ' is-failed' : '') + (o.result === 'FAILED' ? ' is-result-failed' : ''),
    dataset: { testid: 'metric-card', metricId: o.metric_id },
  },
  h('div', { className: 'metric-name', attrs: { title: o.metric_id || '' } }, o.metric_name || o.metric_id || 'metric'),
  h('div', { className: 'metric-value-row' },
    h('span', { className: 'metric-value', dataset: { testid: 'metric-value' } }, metricValue(o)),
    o.unit && o.value !== null && o.value !== undefined ? h('span', { className: 'metric-unit' }, o.unit) : null),
  h('div', { className: 'metric-foot' },
    o.status ? badge(o.status, 'metric-status') : null,
    o.result ? Object.assign(badge(o.result, 'metric-result'), { title: 'Result of the metric\'s target condition' }) : null,
    o.sample_count !== undefined && o.sample_count !== null
      ? h('span', { className: 'muted small' }, `n=${fmtNum(o.sample_count, 0)}`) : null),
  o.status_reason ? h('div', { className: 'metric-reason', attrs: { title: o.status_reason } }, o.status_reason) : null);
}

// otelCard(spanCount, href): the OTel Traces card of a result page (shown when the call has spans).
export function otelCard(spanCount, href) {
  return h('div', { className: 'metric-card otel-card', dataset: { testid: 'otel-traces-card' } },
    h('div', { className: 'metric-name' }, h('span', { className: 'otel-dot' }), 'OTel Traces'),
    h('div', { className: 'metric-value-row' },
      h('span', { className: 'metric-value', dataset: { testid: 'otel-span-count' } }, fmtNum(spanCount, 0)),
      h('span', { className: 'metric-unit' }, spanCount === 1 ? 'span' : 'spans')),
    h('div', { className: 'metric-foot' },
      link(href, { className: 'btn btn-primary btn-sm', dataset: { testid: 'view-traces' } }, 'View Traces →')));
}

// metricGrid(): a section whose grid starts with the OTel Traces card (when spanCount > 0) and is
// filled by the metric outputs once loaded. Returns {el, setOutputs(list), setError(err)}.
export function metricGrid(spanCount, tracesHref) {
  const grid = h('div', { className: 'metric-grid', dataset: { testid: 'metric-grid' } });
  const status = h('div', { className: 'metric-grid-status' }, loading('Loading metrics…'));
  const otel = spanCount > 0 ? otelCard(spanCount, tracesHref) : null;
  replace(grid, otel);
  const el = h('section', { className: 'card' },
    h('div', { className: 'card-head' }, h('h2', null, 'Metrics')),
    h('div', { className: 'card-body' }, grid, status));
  return {
    el,
    setOutputs(outputs) {
      const list = Array.isArray(outputs) ? outputs : [];
      replace(grid, otel, list.map(metricCard));
      replace(status, list.length === 0 && !otel ? empty('No metrics for this call.') : null);
    },
    setError(err) {
      replace(status, errorBox(new Error(`Metrics could not be loaded: ${errorText(err)}`)));
    },
  };
}

// Key/value facts in a compact grid (dl).
export function facts(pairs) {
  return h('dl', { className: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [
    h('dt', null, k), h('dd', null, v === undefined || v === null || v === '' ? '—' : v),
  ]));
}

// metadataBlock(obj) shows an object as indented JSON text, or null when empty.
export function metadataBlock(obj, title = 'Metadata') {
  if (!obj || typeof obj !== 'object' || Object.keys(obj).length === 0) return null;
  return h('section', { className: 'card' },
    h('div', { className: 'card-head' }, h('h2', null, title)),
    h('div', { className: 'card-body' }, h('pre', { className: 'json' }, JSON.stringify(obj, null, 2))));
}
