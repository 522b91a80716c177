// The trace viewer: header (title, Waterfall / Flame graph toggle, legend pills that filter span types),
// the active view, and the detail panel on the right. The trace page fetches the spans and the summary
// and calls mountTraceViewer; this module owns the state both views share:
//   hidden     per span type (legend order), 1 when its pill is switched off
//   collapsed  per span, 1 when the waterfall hides its descendants
//   selected   the selected span's node, or null (the panel then shows the trace summary)
// The flame graph is built the first time it is shown, so opening a trace pays for the waterfall only.
//
// Keys, while focus is inside the viewer and not in a text field: Escape clears the selection; F resets
// the flame graph to the whole trace; in the waterfall, Up/Down move the selection and Left/Right
// collapse/expand the selected span.
//
// data-testids: trace-viewer (root; data-view = waterfall | flamegraph, data-selected-span-id),
// trace-back, trace-title, trace-meta, view-toggle-waterfall, view-toggle-flamegraph, legend,
// legend-pill (data-span-type, data-count, aria-pressed), legend-more, legend-show-all, expand-all,
// collapse-all, detail-panel; see waterfall.js, flamegraph.js and detail.js for theirs.

import { h, fmtMs, fmtNum } from '/dom.js';
import { buildTraceModel } from '/trace/model.js';
import { colorFor } from '/trace/colors.js';
import { createWaterfall } from '/trace/waterfall.js';
import { createFlamegraph } from '/trace/flamegraph.js';
import { createDetail } from '/trace/detail.js';

// Traces with many distinct span names show the most frequent pills and fold the rest behind a button.
const PILLS_SHOWN = 24;

// mountTraceViewer(container, {spans, summary, title, onBack}) renders the viewer into container.
//   spans: the span objects of GET /v1/traces/spans (every page); summary: trace_summary of GET
//   /v1/traces/summary (may be null); title: heading text; onBack: optional callback for a back button.
// Returns {destroy()}, which removes everything it added.
export function mountTraceViewer(container, { spans, summary, title, onBack } = {}) {
  const model = buildTraceModel(spans);
  const state = {
    mode: 'waterfall',
    hidden: new Uint8Array(model.types.length),
    collapsed: new Uint8Array(model.nodes.length),
    selected: null,
  };
  let flame = null;

  // ---- header --------------------------------------------------------------------------------------

  const waterfallTab = h('button', {
    className: 'tv-seg-btn', dataset: { testid: 'view-toggle-waterfall' },
    attrs: { type: 'button', role: 'tab', 'aria-selected': 'true' },
    onclick: () => setMode('waterfall'),
  }, 'Waterfall');
  const flameTab = h('button', {
    className: 'tv-seg-btn', dataset: { testid: 'view-toggle-flamegraph' },
    attrs: { type: 'button', role: 'tab', 'aria-selected': 'false' },
    onclick: () => setMode('flamegraph'),
  }, 'Flame graph');

  const pills = model.types.map((t) => {
    const pill = h('button', {
      className: 'tv-pill',
      dataset: { testid: 'legend-pill', spanType: t.name, count: t.count },
      attrs: { type: 'button', 'aria-pressed': 'true', title: `Show or hide ${t.name} spans` },
      onclick: () => toggleType(t.index),
    },
    h('span', { className: 'tv-swatch', style: { background: colorFor(t.name).fill } }),
    h('span', { className: 'tv-pill-name' }, t.name),
    h('span', { className: 'tv-pill-count' }, fmtNum(t.count, 0)));
    if (t.index >= PILLS_SHOWN) pill.hidden = true;
    return pill;
  });
  const morePills = model.types.length > PILLS_SHOWN
    ? h('button', {
      className: 'tv-pill tv-pill-more', dataset: { testid: 'legend-more' }, attrs: { type: 'button' },
      onclick: () => { for (const p of pills) p.hidden = false; morePills.remove(); },
    }, `+${model.types.length - PILLS_SHOWN} more`)
    : null;
  const showAll = h('button', {
    className: 'tv-link-btn', dataset: { testid: 'legend-show-all' }, attrs: { type: 'button' }, hidden: true,
    onclick: () => { state.hidden.fill(0); filterChanged(); },
  }, 'Show all');
  const legend = h('div', { className: 'tv-legend', dataset: { testid: 'legend' }, attrs: { 'aria-label': 'Span types' } },
    pills, morePills, showAll);

  const expandAll = h('button', {
    className: 'tv-btn', dataset: { testid: 'expand-all' }, attrs: { type: 'button' },
    onclick: () => waterfall.expandAll(),
  }, 'Expand all');
  const collapseAll = h('button', {
    className: 'tv-btn', dataset: { testid: 'collapse-all' }, attrs: { type: 'button' },
    onclick: () => waterfall.collapseAll(),
  }, 'Collapse all');
  const treeButtons = h('div', { className: 'tv-tree-buttons' }, expandAll, collapseAll);

  const meta = `${fmtNum(model.nodes.length, 0)} spans · ${fmtMs(model.totalMs)}` +
    (model.orphanCount ? ` · ${fmtNum(model.orphanCount, 0)} orphan${model.orphanCount === 1 ? '' : 's'}` : '') +
    (model.errorCount ? ` · ${fmtNum(model.errorCount, 0)} error${model.errorCount === 1 ? '' : 's'}` : '');

  const header = h('header', { className: 'tv-header' },
    h('div', { className: 'tv-header-top' },
      onBack ? h('button', {
        className: 'tv-btn tv-back', dataset: { testid: 'trace-back' }, attrs: { type: 'button' },
        onclick: () => onBack(),
      }, '← Back') : null,
      h('h1', { className: 'tv-title', dataset: { testid: 'trace-title' } }, title || 'Trace'),
      h('span', { className: 'tv-meta', dataset: { testid: 'trace-meta' } }, meta),
      h('div', { className: 'tv-seg', attrs: { role: 'tablist', 'aria-label': 'Trace view' } }, waterfallTab, flameTab)),
    h('div', { className: 'tv-header-bottom' }, legend, treeButtons));

  // ---- body ----------------------------------------------------------------------------------------

  const waterfallHost = h('div', { className: 'tv-view-host' });
  const flameHost = h('div', { className: 'tv-view-host', hidden: true });
  const detailHost = h('aside', {
    className: 'tv-detail-panel', dataset: { testid: 'detail-panel' }, attrs: { 'aria-label': 'Details' },
  });
  const root = h('div', {
    className: 'tv-root', dataset: { testid: 'trace-viewer', view: 'waterfall' }, attrs: { tabindex: '0' },
  }, header, h('div', { className: 'tv-body' }, h('div', { className: 'tv-main' }, waterfallHost, flameHost), detailHost));
  container.appendChild(root);

  const detail = createDetail(detailHost, { model, summary, onSelect: (n) => select(n, 'panel'), onClear: () => select(null) });
  const waterfall = createWaterfall(waterfallHost, { model, state, onSelect: (n) => select(n, 'waterfall') });
  detail.show(null);

  // ---- state changes -------------------------------------------------------------------------------

  function setMode(mode) {
    if (state.mode === mode) return;
    state.mode = mode;
    root.dataset.view = mode;
    const isFlame = mode === 'flamegraph';
    waterfallTab.setAttribute('aria-selected', String(!isFlame));
    flameTab.setAttribute('aria-selected', String(isFlame));
    waterfallHost.hidden = isFlame;
    flameHost.hidden = !isFlame;
    treeButtons.hidden = isFlame;
    if (isFlame) {
      if (!flame) flame = createFlamegraph(flameHost, { model, state, onSelect: (n) => select(n, 'flame') });
      else flame.show();
      if (state.selected) flame.setSelected(state.selected, true);
    } else if (state.selected) {
      waterfall.setSelected(state.selected, true);
    }
  }

  // select(node, from): from names the view the click came from, which needs no scrolling to the span.
  function select(node, from) {
    state.selected = node || null;
    if (node) root.dataset.selectedSpanId = node.spanId;
    else delete root.dataset.selectedSpanId;
    waterfall.setSelected(state.selected, from !== 'waterfall');
    if (flame) flame.setSelected(state.selected, from !== 'flame' && state.mode === 'flamegraph');
    detail.show(state.selected);
    // Rebuilding the panel removes the button that was clicked; keep focus in the viewer so Escape
    // and F keep working.
    if (!root.contains(document.activeElement)) root.focus({ preventScroll: true });
  }

  function toggleType(index) {
    state.hidden[index] = state.hidden[index] ? 0 : 1;
    filterChanged();
  }

  function filterChanged() {
    let anyHidden = false;
    for (const t of model.types) {
      const on = !state.hidden[t.index];
      pills[t.index].setAttribute('aria-pressed', String(on));
      pills[t.index].classList.toggle('tv-pill-off', !on);
      if (!on) anyHidden = true;
    }
    showAll.hidden = !anyHidden;
    waterfall.refresh();
    if (flame) flame.refresh();
  }

  function onKeyDown(e) {
    const target = e.target;
    if (target instanceof HTMLElement &&
        (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape') {
      if (state.selected) { select(null); e.preventDefault(); }
    } else if (e.key === 'f' || e.key === 'F') {
      if (flame) flame.reset();
      e.preventDefault();
    } else if (state.mode === 'waterfall' && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      const next = waterfall.neighbour(state.selected, e.key === 'ArrowDown' ? 1 : -1);
      if (next) select(next, 'keyboard');
      e.preventDefault();
    } else if (state.mode === 'waterfall' && state.selected && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
      waterfall.toggle(state.selected, e.key === 'ArrowRight');
      e.preventDefault();
    }
  }
  root.addEventListener('keydown', onKeyDown);
  root.focus({ preventScroll: true });

  return {
    destroy() {
      root.removeEventListener('keydown', onKeyDown);
      waterfall.destroy();
      if (flame) flame.destroy();
      detail.destroy();
      root.remove();
    },
  };
}
