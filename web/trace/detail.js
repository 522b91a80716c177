// The right-hand panel of the trace viewer: the selected span's details, or the trace summary when
// nothing is selected.
//
// Everything from the trace is untrusted (names, attribute values, status messages): it only ever
// reaches the page as text nodes, and structured attribute values (arrays, key-value lists) are shown
// as their JSON text. Very long values are cut at VALUE_PREVIEW characters with a button to show all,
// so one huge transcript attribute cannot make the panel unusable.
//
// data-testids, span detail: span-detail, detail-name, detail-close, detail-status,
// detail-status-message, detail-orphan, detail-start-offset, detail-duration, detail-start-absolute,
// detail-end-offset, detail-span-id, detail-trace-id, detail-parent-span-id, detail-service,
// detail-kind, detail-scope, parent-chain, parent-chain-link, detail-attributes, attribute-row
// (data-key), detail-events, detail-event, detail-links, detail-link, detail-resource, value-show-all.
// Trace summary: trace-summary, summary-total-spans, summary-duration, summary-trace-count,
// summary-error-count, summary-orphan-count, summary-truncated, summary-span-groups,
// summary-span-group (data-span-type), summary-time-percent, summary-slowest, summary-slowest-span,
// summary-errors, summary-error-span.

import { h, fmtMs, fmtNum, fmtPct } from '/dom.js';
import { colorFor } from '/trace/colors.js';
import { ancestors, errorNodes, formatAbsolute, offsetMs, slowestNodes, spanKey } from '/trace/model.js';

const VALUE_PREVIEW = 4000;
const SLOWEST = 5;
const ERRORS = 20;
const CHAIN_TAIL = 40;

// createDetail(host, {model, summary, onSelect, onClear}) builds the panel inside host.
//   onSelect(node) when a span link in the panel is clicked; onClear() for the close button.
// Returns {show(node|null), destroy()}.
export function createDetail(host, { model, summary, onSelect, onClear }) {
  const panel = h('div', { className: 'tv-detail-inner' });
  host.appendChild(panel);

  function show(node) {
    panel.replaceChildren(node ? spanDetail(node) : traceSummary());
    host.scrollTop = 0;
  }

  // A button naming a span of this trace, or plain text when the span is not loaded.
  function spanButton(node, testid, ...content) {
    if (!node) return h('span', { className: 'tv-span-link tv-span-link-missing' }, ...content);
    return h('button', {
      className: 'tv-span-link', dataset: { testid, spanId: node.spanId }, attrs: { type: 'button' },
      onclick: () => onSelect(node),
    }, ...content);
  }

  function spanDetail(node) {
    const span = node.span;
    const color = colorFor(node.name);
    const status = span.status && typeof span.status === 'object' ? span.status : {};
    const code = node.error ? 'ERROR' : String(status.code ?? 'UNSET');
    const service = span.service_name ?? (span.resource && span.resource['service.name']);
    const scope = span.scope && typeof span.scope === 'object'
      ? [span.scope.name, span.scope.version].filter((v) => v !== undefined && v !== null && v !== '').join(' ')
      : '';
    const chain = ancestors(node);

    return h('section', { className: 'tv-detail', dataset: { testid: 'span-detail', spanId: node.spanId } },
      h('header', { className: 'tv-detail-head' },
        h('span', { className: 'tv-swatch tv-swatch-lg', style: { background: color.fill } }),
        h('h2', { className: 'tv-detail-title', dataset: { testid: 'detail-name' } }, node.name),
        h('button', {
          className: 'tv-icon-btn', dataset: { testid: 'detail-close' },
          attrs: { type: 'button', 'aria-label': 'Clear selection (Esc)', title: 'Clear selection (Esc)' },
          onclick: () => onClear(),
        }, '×')),
      h('div', { className: 'tv-detail-status' },
        h('span', { className: `tv-status tv-status-${code.toLowerCase()}`, dataset: { testid: 'detail-status' } }, code),
        status.message ? h('span', { className: 'tv-status-message', dataset: { testid: 'detail-status-message' } }, String(status.message)) : null),
      node.orphan ? h('p', { className: 'tv-note tv-note-warn', dataset: { testid: 'detail-orphan' } },
        node.orphan === 'cycle'
          ? 'Orphan: the parent links of this span form a cycle, so it is shown at the root.'
          : `Orphan: the parent span ${node.parentId} is not part of this trace.`) : null,
      node.badTime ? h('p', { className: 'tv-note tv-note-warn' }, 'This span has no usable start time; it is drawn at the trace start.') : null,
      section('Timing', null, facts([
        ['Start', offsetText(node.start), 'detail-start-offset'],
        ['Duration', fmtMs(node.dur), 'detail-duration'],
        ['Absolute start', formatAbsolute(span.start_time_unix_nano), 'detail-start-absolute'],
        ['End', offsetText(node.end), 'detail-end-offset'],
      ])),
      section('Span', null, facts([
        ['Span ID', node.spanId, 'detail-span-id', true],
        ['Trace ID', node.traceId, 'detail-trace-id', true],
        ['Parent span ID', node.parentId || '—', 'detail-parent-span-id', true],
        ['Service', service ?? '—', 'detail-service'],
        ['Kind', span.kind ?? '—', 'detail-kind'],
        ['Scope', scope || '—', 'detail-scope'],
      ])),
      section('Parent chain', 'parent-chain', chain.length === 0
        ? h('p', { className: 'tv-muted' }, node.orphan ? 'No parent in this trace.' : 'This is a root span.')
        : h('ol', { className: 'tv-chain' }, chainItems(chain), h('li', { className: 'tv-chain-self' }, node.name))),
      section(`Attributes (${countOf(span.attributes)})`, 'detail-attributes', kvTable(span.attributes, 'No attributes.')),
      events(span.events),
      links(span.links),
      section(`Resource (${countOf(span.resource)})`, 'detail-resource', kvTable(span.resource, 'No resource attributes.')));
  }

  // A very deep span lists its root, then the nearest CHAIN_TAIL ancestors, not thousands of links.
  function chainItems(chain) {
    const link = (p) => h('li', null, spanButton(p, 'parent-chain-link',
      h('span', { className: 'tv-swatch', style: { background: colorFor(p.name).fill } }), p.name,
      h('span', { className: 'tv-muted' }, ` ${fmtMs(p.dur)}`)));
    if (chain.length <= CHAIN_TAIL + 1) return chain.map(link);
    const skipped = chain.length - 1 - CHAIN_TAIL;
    return [link(chain[0]),
      h('li', { className: 'tv-muted tv-chain-gap' }, `… ${fmtNum(skipped, 0)} more ancestors`),
      chain.slice(chain.length - CHAIN_TAIL).map(link)];
  }

  function events(list) {
    const items = Array.isArray(list) ? list : [];
    if (items.length === 0) return section('Events (0)', 'detail-events', h('p', { className: 'tv-muted' }, 'No events.'));
    return section(`Events (${items.length})`, 'detail-events', h('ol', { className: 'tv-items' },
      items.map((ev) => {
        const ev0 = ev && typeof ev === 'object' ? ev : {};
        const at = offsetMs(model, ev0.time_unix_nano);
        return h('li', { className: 'tv-item', dataset: { testid: 'detail-event' } },
          h('div', { className: 'tv-item-head' }, h('strong', null, String(ev0.name ?? '(unnamed)')),
            at !== null ? h('span', { className: 'tv-muted' }, ` at ${offsetText(at)}`) : null),
          countOf(ev0.attributes) ? kvTable(ev0.attributes, '') : null);
      })));
  }

  function links(list) {
    const items = Array.isArray(list) ? list : [];
    if (items.length === 0) return section('Links (0)', 'detail-links', h('p', { className: 'tv-muted' }, 'No links.'));
    return section(`Links (${items.length})`, 'detail-links', h('ol', { className: 'tv-items' },
      items.map((ln) => {
        const l0 = ln && typeof ln === 'object' ? ln : {};
        const target = model.byKey.get(spanKey(l0.trace_id, l0.span_id));
        const label = `${target ? target.name + ' · ' : ''}trace ${l0.trace_id ?? '?'} · span ${l0.span_id ?? '?'}`;
        return h('li', { className: 'tv-item' },
          h('div', { className: 'tv-item-head' }, target ? spanButton(target, 'detail-link', label) : h('span', { className: 'tv-mono' }, label)),
          countOf(l0.attributes) ? kvTable(l0.attributes, '') : null);
      })));
  }

  function traceSummary() {
    const s = summary && typeof summary === 'object' ? summary : null;
    const loaded = model.nodes.length;
    const total = s && Number.isFinite(s.total_spans) ? s.total_spans : loaded;
    const duration = s && Number.isFinite(s.duration_ms) ? s.duration_ms : model.totalMs;
    const errorCount = s && s.status_counts && Number.isFinite(s.status_counts.ERROR) ? s.status_counts.ERROR : model.errorCount;
    const orphanCount = s && Number.isFinite(s.orphan_span_count) ? s.orphan_span_count : model.orphanCount;
    const traceCount = s && Number.isFinite(s.trace_count) ? s.trace_count : new Set(model.nodes.map((n) => n.traceId)).size;

    const lookup = (e) => (e && typeof e === 'object' ? model.byKey.get(spanKey(e.trace_id, e.span_id)) : null);
    const slowest = s && Array.isArray(s.slowest_spans)
      ? s.slowest_spans.map((e) => ({ e, node: lookup(e) }))
      : slowestNodes(model, SLOWEST).map((node) => ({ e: null, node }));
    const errors = s && Array.isArray(s.error_spans)
      ? s.error_spans.map((e) => ({ e, node: lookup(e) }))
      : errorNodes(model, ERRORS).map((node) => ({ e: null, node }));
    const groups = s && Array.isArray(s.span_groups) ? s.span_groups : null;

    return h('section', { className: 'tv-summary', dataset: { testid: 'trace-summary' } },
      h('h2', { className: 'tv-detail-title' }, 'Trace summary'),
      h('p', { className: 'tv-muted' }, 'Select a span to see its details.'),
      h('div', { className: 'tv-stats' },
        stat('Total spans', fmtNum(total, 0), 'summary-total-spans'),
        stat('Duration', fmtMs(duration), 'summary-duration'),
        stat('Traces', fmtNum(traceCount, 0), 'summary-trace-count'),
        stat('Errors', fmtNum(errorCount, 0), 'summary-error-count'),
        stat('Orphans', fmtNum(orphanCount, 0), 'summary-orphan-count')),
      total !== loaded || (s && s.is_truncated)
        ? h('p', { className: 'tv-note', dataset: { testid: 'summary-truncated' } },
          `${fmtNum(loaded, 0)} of ${fmtNum(total, 0)} spans are loaded in the viewer` +
          (s && s.is_truncated ? '; the summary covers the first ' + fmtNum(s.returned_spans, 0) + ' by start time.' : '.'))
        : null,
      section('Span types', 'summary-span-groups', groups
        ? groupTable(groups)
        : h('p', { className: 'tv-muted' }, 'The span type breakdown is not available.')),
      section('Slowest spans', 'summary-slowest', spanList(slowest, 'summary-slowest-span', (e, node) =>
        `${fmtMs(e ? e.duration_ms : node.dur)} at ${offsetText(e ? e.start_offset_ms : node.start)}`, 'No spans.')),
      section('Error spans', 'summary-errors', spanList(errors, 'summary-error-span', (e, node) => {
        const msg = e ? e.status_message : node.span.status && node.span.status.message;
        const at = `at ${offsetText(e ? e.start_offset_ms : node.start)}`;
        return msg ? `${msg} · ${at}` : at;
      }, 'No error spans.')));
  }

  // One row per span name; under the name, a bar as long as the name's share of the trace time.
  function groupTable(groups) {
    return h('table', { className: 'tv-table tv-groups' },
      h('thead', null, h('tr', null, h('th', null, 'Type'), h('th', { className: 'tv-num' }, 'Count'),
        h('th', { className: 'tv-num' }, 'Time'), h('th', { className: 'tv-num' }, 'Total'), h('th', { className: 'tv-num' }, 'Errors'))),
      h('tbody', null, groups.map((g) => {
        const name = String(g.name);
        const pct = Number(g.time_percent) || 0;
        const fill = colorFor(name).fill;
        return h('tr', { dataset: { testid: 'summary-span-group', spanType: name } },
          h('td', { className: 'tv-group-name' },
            h('div', { className: 'tv-group-label' }, h('span', { className: 'tv-swatch', style: { background: fill } }), name),
            h('div', { className: 'tv-pct-track' },
              h('span', { className: 'tv-pct-bar', style: { width: Math.max(0, Math.min(100, pct)) + '%', background: fill } }))),
          h('td', { className: 'tv-num' }, fmtNum(g.count, 0)),
          h('td', { className: 'tv-num', dataset: { testid: 'summary-time-percent' } }, fmtPct(pct)),
          h('td', { className: 'tv-num' }, fmtMs(g.total_duration_ms)),
          h('td', { className: 'tv-num' + (g.error_count > 0 ? ' tv-err-text' : '') }, fmtNum(g.error_count, 0)));
      })));
  }

  function spanList(items, testid, describe, emptyText) {
    if (items.length === 0) return h('p', { className: 'tv-muted' }, emptyText);
    return h('ol', { className: 'tv-span-list' }, items.map(({ e, node }) => {
      const name = e ? String(e.name ?? '') : node.name;
      return h('li', null, spanButton(node, testid,
        h('span', { className: 'tv-swatch', style: { background: colorFor(name).fill } }),
        h('span', { className: 'tv-span-link-name' }, name),
        h('span', { className: 'tv-muted' }, describe(e, node))));
    }));
  }

  return {
    show,
    destroy() { panel.remove(); },
  };
}

function section(title, testid, body) {
  return h('section', { className: 'tv-section', dataset: testid ? { testid } : undefined },
    h('h3', { className: 'tv-section-title' }, title), body);
}

function stat(label, value, testid) {
  return h('div', { className: 'tv-stat' },
    h('div', { className: 'tv-stat-value', dataset: { testid } }, value),
    h('div', { className: 'tv-stat-label' }, label));
}

function facts(rows) {
  return h('dl', { className: 'tv-facts' }, rows.map(([label, value, testid, mono]) => [
    h('dt', null, label),
    h('dd', { className: mono ? 'tv-mono' : '', dataset: { testid } }, String(value)),
  ]));
}

// offsetText(ms) is a time from the trace start: "0" at the start, "+1.20 s" after it.
function offsetText(ms) {
  return ms === 0 ? '0' : `+${fmtMs(ms)}`;
}

function countOf(obj) {
  return obj && typeof obj === 'object' ? Object.keys(obj).length : 0;
}

// valueText(v) is how an attribute value reads: strings as they are, everything else as JSON text.
function valueText(v) {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function valueCell(v) {
  const full = valueText(v);
  const cell = h('td', { className: 'tv-kv-value' + (typeof v === 'string' ? '' : ' tv-mono') });
  if (full.length <= VALUE_PREVIEW) {
    cell.textContent = full;
    return cell;
  }
  const textNode = document.createTextNode(full.slice(0, VALUE_PREVIEW) + '…');
  const more = h('button', {
    className: 'tv-link-btn', dataset: { testid: 'value-show-all' }, attrs: { type: 'button' },
    onclick: () => { textNode.data = full; more.remove(); },
  }, `Show all ${fmtNum(full.length, 0)} characters`);
  cell.append(textNode, ' ', more);
  return cell;
}

function kvTable(obj, emptyText) {
  const keys = obj && typeof obj === 'object' && !Array.isArray(obj) ? Object.keys(obj).sort() : [];
  if (keys.length === 0) return emptyText ? h('p', { className: 'tv-muted' }, emptyText) : null;
  return h('table', { className: 'tv-table tv-kv' }, h('tbody', null, keys.map((k) =>
    h('tr', { dataset: { testid: 'attribute-row', key: k } },
      h('th', { className: 'tv-kv-key', attrs: { scope: 'row' } }, k),
      valueCell(obj[k])))));
}
