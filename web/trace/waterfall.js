// Waterfall view of the trace viewer: one row per span, nested by parent, with its bar on a timeline
// shared by all rows.
//
// The rows are virtualised: the scroll container holds a spacer as tall as all rows together, and only
// the rows in view (plus an overscan margin) exist as elements, taken from a small pool and re-filled
// as the user scrolls, so 100,000 spans cost as much DOM as 60. Browsers cap an element's height (about
// 33 million px in Chromium, less in Firefox), so past MAX_SCROLL_PX the scroll position is mapped onto
// the rows proportionally instead of one pixel per pixel.
//
// Which rows exist follows two pieces of viewer state: collapsed spans hide their descendants, and hidden
// span types (legend pills) hide their own rows while their children stay, moved up to the depth of the
// nearest shown ancestor. A hidden span cannot be expanded from the waterfall, so its collapse flag is
// ignored rather than hiding children nobody can reach.
//
// data-testids: waterfall (the view; data-row-count = rows shown when fully scrolled through, since
// only the rows in view exist), waterfall-axis (tick labels), waterfall-scroll (the scroll
// container), waterfall-row (one per rendered row; data-span-id, data-trace-id, data-depth,
// data-status, data-orphan, aria-expanded, aria-selected), waterfall-toggle (the chevron),
// orphan-badge, error-badge, waterfall-bar, waterfall-empty.

import { h, fmtMs } from '/dom.js';
import { colorFor } from '/trace/colors.js';
import { ticks, tickFormatter } from '/trace/model.js';

const ROW_H = 24;
const OVERSCAN = 12;
const MAX_SCROLL_PX = 8000000;
const INDENT_PX = 14;
// Deep rows stop indenting at this share of the name column so the name keeps some room;
// data-depth and aria-level still give the real depth.
const MAX_INDENT_PCT = 45;

// createWaterfall(host, {model, state, onSelect}) builds the view inside host.
//   state: the viewer's {hidden: Uint8Array per type, collapsed: Uint8Array per node, selected: node}.
//   onSelect(node) is called when a row is clicked.
// Returns {refresh(), setSelected(node, reveal), neighbour(node, step), expandAll(), collapseAll(),
//          toggle(node, expanded), destroy()}.
export function createWaterfall(host, { model, state, onSelect }) {
  const n = model.nodes.length;
  const total = model.totalMs > 0 ? model.totalMs : 1;
  let rows = [];                    // visible nodes, in display order
  let rowDepth = new Int32Array(0); // their displayed (indent) depth
  let version = 0;                  // bumped on any state change so pooled rows re-fill
  const pool = [];
  const rowOf = new WeakMap();      // row element -> its pool entry, for delegated clicks
  let frame = 0;

  const axis = h('div', { className: 'tv-wf-axis', dataset: { testid: 'waterfall-axis' } });
  const headName = h('div', { className: 'tv-wf-head-name' }, 'Span');
  const spacer = h('div', { className: 'tv-wf-spacer' });
  const scroll = h('div', {
    className: 'tv-wf-scroll',
    dataset: { testid: 'waterfall-scroll' },
    attrs: { role: 'tree', 'aria-label': 'Spans' },
  }, spacer);
  const emptyNote = h('div', { className: 'tv-empty', dataset: { testid: 'waterfall-empty' }, hidden: true },
    'No spans to show: every span type is filtered out.');
  const view = h('div', { className: 'tv-wf', dataset: { testid: 'waterfall' } },
    h('div', { className: 'tv-wf-head' }, headName, axis), scroll, emptyNote);
  host.appendChild(view);

  function computeRows() {
    const hidden = state.hidden, collapsed = state.collapsed;
    const out = [];
    const depthOut = new Int32Array(n);
    const stack = [], depths = [];
    for (let k = model.roots.length - 1; k >= 0; k--) { stack.push(model.roots[k]); depths.push(0); }
    while (stack.length) {
      const node = stack.pop();
      const d = depths.pop();
      let childDepth = d;
      let open = true;
      if (!hidden[node.type]) {
        depthOut[out.length] = d;
        out.push(node);
        childDepth = d + 1;
        open = !collapsed[node.i];
      }
      const ch = node.children;
      if (!open || !ch) continue;
      for (let k = ch.length - 1; k >= 0; k--) { stack.push(ch[k]); depths.push(childDepth); }
    }
    rows = out;
    rowDepth = depthOut;
    view.dataset.rowCount = String(rows.length);
    version++;
    emptyNote.hidden = rows.length > 0 || n === 0;
    layout();
  }

  // Scroll geometry: with too many rows for one pixel each, `ratio` stretches scrollTop over them.
  function geometry() {
    const viewH = scroll.clientHeight;
    const contentPx = rows.length * ROW_H;
    const spacerPx = Math.min(contentPx, MAX_SCROLL_PX);
    const ratio = spacerPx > viewH && contentPx > spacerPx ? (contentPx - viewH) / (spacerPx - viewH) : 1;
    return { viewH, spacerPx, ratio };
  }

  function layout() {
    spacer.style.height = geometry().spacerPx + 'px';
    schedule();
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); });
  }

  function makeRow() {
    const chevron = h('button', {
      className: 'tv-chev', dataset: { testid: 'waterfall-toggle' },
      attrs: { type: 'button', tabindex: '-1', 'aria-label': 'Collapse or expand' },
    });
    const swatch = h('span', { className: 'tv-swatch' });
    const label = h('span', { className: 'tv-row-label' });
    const orphan = h('span', { className: 'tv-badge tv-badge-orphan', dataset: { testid: 'orphan-badge' }, hidden: true }, 'orphan');
    const err = h('span', { className: 'tv-badge tv-badge-error', dataset: { testid: 'error-badge' }, hidden: true }, 'error');
    const name = h('div', { className: 'tv-row-name' }, chevron, swatch, label, orphan, err);
    const bar = h('div', { className: 'tv-bar', dataset: { testid: 'waterfall-bar' } });
    const dur = h('span', { className: 'tv-bar-label' });
    const track = h('div', { className: 'tv-row-track' }, bar, dur);
    const el = h('div', { className: 'tv-row', dataset: { testid: 'waterfall-row' }, attrs: { role: 'treeitem' } }, name, track);
    const row = { el, chevron, swatch, label, orphan, err, name, bar, dur, node: null, version: -1 };
    rowOf.set(el, row);
    spacer.appendChild(el);
    return row;
  }

  function fill(row, node, depth) {
    row.node = node;
    row.version = version;
    const el = row.el;
    const sel = state.selected === node;
    const span = node.span;
    el.dataset.spanId = node.spanId;
    el.dataset.traceId = node.traceId;
    el.dataset.depth = String(depth);
    el.dataset.status = node.error ? 'ERROR' : String((span.status && span.status.code) || 'UNSET');
    el.dataset.orphan = node.orphan ? 'true' : 'false';
    el.setAttribute('aria-level', String(depth + 1));
    el.setAttribute('aria-selected', sel ? 'true' : 'false');
    el.classList.toggle('tv-row-selected', sel);
    el.classList.toggle('tv-row-error', node.error);
    const hasChildren = node.children !== null;
    if (hasChildren) {
      const expanded = !state.collapsed[node.i];
      el.setAttribute('aria-expanded', expanded ? 'true' : 'false');
      row.chevron.classList.toggle('tv-chev-open', expanded);
      row.chevron.setAttribute('aria-label', (expanded ? 'Collapse ' : 'Expand ') + node.name);
    } else {
      el.removeAttribute('aria-expanded');
    }
    row.chevron.classList.toggle('tv-chev-none', !hasChildren);
    row.name.style.paddingLeft = `min(${6 + depth * INDENT_PX}px, ${MAX_INDENT_PCT}%)`;
    const color = colorFor(node.name);
    row.swatch.style.background = color.fill;
    row.label.textContent = node.name;
    row.orphan.hidden = !node.orphan;
    row.orphan.title = node.orphan === 'cycle'
      ? 'Its parent links form a cycle; shown at the root'
      : 'Its parent span is not in this trace';
    row.err.hidden = !node.error;
    const left = (node.start / total) * 100;
    const width = (node.dur / total) * 100;
    row.bar.style.left = left + '%';
    row.bar.style.width = width + '%';
    row.bar.style.background = color.fill;
    row.dur.textContent = fmtMs(node.dur);
    // The duration goes after the bar; near the right edge before it, so it is never cut off; and a
    // bar spanning nearly the whole axis carries it inside, in the bar's label color.
    const label = row.dur.style;
    if (left + width <= 78) {
      label.right = '';
      label.left = `calc(${left + width}% + 4px)`;
      label.color = '';
    } else if (left >= 12) {
      label.left = '';
      label.right = `calc(${100 - left}% + 4px)`;
      label.color = '';
    } else {
      label.left = '';
      label.right = `calc(${100 - left - width}% + 6px)`;
      label.color = color.text;
    }
    el.title = `${node.name} · ${fmtMs(node.dur)}`;
  }

  function render() {
    const g = geometry();
    const scrollTop = scroll.scrollTop;
    const virtualTop = scrollTop * g.ratio;
    const first = Math.max(0, Math.floor(virtualTop / ROW_H) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((virtualTop + g.viewH) / ROW_H) + OVERSCAN);
    const count = Math.max(0, last - first);
    while (pool.length < count) pool.push(makeRow());
    for (let j = 0; j < pool.length; j++) {
      const row = pool[j];
      if (j >= count) {
        if (!row.el.hidden) row.el.hidden = true;
        continue;
      }
      const r = first + j;
      const node = rows[r];
      if (row.node !== node || row.version !== version) fill(row, node, rowDepth[r]);
      row.el.hidden = false;
      row.el.style.transform = `translateY(${r * ROW_H - virtualTop + scrollTop}px)`;
    }
  }

  function drawAxis() {
    const width = axis.clientWidth;
    const t = ticks(0, total, Math.max(2, Math.floor(width / 90)));
    const fmt = tickFormatter(total, t.step);
    const marks = t.values.map((v) => {
      const pct = (v / total) * 100;
      const mark = h('span', { className: 'tv-tick' + (pct > 94 ? ' tv-tick-end' : '') }, fmt(v));
      mark.style.left = pct + '%';
      return mark;
    });
    axis.replaceChildren(...marks);
  }

  function rowFromEvent(e) {
    const el = e.target instanceof Element ? e.target.closest('.tv-row') : null;
    const row = el ? rowOf.get(el) : null;
    return row && row.node ? row : null;
  }

  function onClick(e) {
    const row = rowFromEvent(e);
    if (!row) return;
    if (e.target instanceof Element && e.target.closest('.tv-chev')) {
      if (row.node.children) toggle(row.node, !!state.collapsed[row.node.i]);
      return;
    }
    onSelect(row.node);
  }

  function toggle(node, expanded) {
    if (!node.children) return;
    const want = expanded ? 0 : 1;
    if (state.collapsed[node.i] === want) return;
    state.collapsed[node.i] = want;
    computeRows();
  }

  function expandAll() {
    state.collapsed.fill(0);
    computeRows();
  }

  function collapseAll() {
    for (const node of model.nodes) state.collapsed[node.i] = node.children ? 1 : 0;
    computeRows();
  }

  // setSelected(node, reveal): highlight node's row; with reveal, expand its ancestors and scroll to it.
  function setSelected(node, reveal) {
    if (node && reveal) {
      let changed = false;
      for (let p = node.parent; p; p = p.parent) {
        if (state.collapsed[p.i]) { state.collapsed[p.i] = 0; changed = true; }
      }
      if (changed) computeRows();
      scrollToNode(node);
    }
    version++;
    schedule();
  }

  function scrollToNode(node) {
    const r = rows.indexOf(node);
    if (r < 0) return;
    const g = geometry();
    const top = r * ROW_H;
    const virtualTop = scroll.scrollTop * g.ratio;
    if (top < virtualTop || top + ROW_H > virtualTop + g.viewH) {
      scroll.scrollTop = Math.max(0, (top - g.viewH / 3) / g.ratio);
    }
  }

  // neighbour(node, step) -> the row step rows away from node (or the first row), for arrow keys.
  function neighbour(node, step) {
    if (!rows.length) return null;
    const r = node ? rows.indexOf(node) : -1;
    if (r < 0) return rows[0];
    return rows[Math.max(0, Math.min(rows.length - 1, r + step))];
  }

  scroll.addEventListener('scroll', schedule, { passive: true });
  scroll.addEventListener('click', onClick);
  const resize = new ResizeObserver(() => { drawAxis(); layout(); });
  resize.observe(scroll);
  resize.observe(axis);

  computeRows();
  drawAxis();

  return {
    refresh: computeRows,
    setSelected,
    neighbour,
    expandAll,
    collapseAll,
    toggle,
    destroy() {
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
      view.remove();
    },
  };
}
