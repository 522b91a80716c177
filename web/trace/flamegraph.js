// Flame graph view of the trace viewer, drawn on <canvas>: every span is a bar, x = time, y = depth
// (a row below its parent; overlapping siblings get rows of their own, see layoutRows in model.js).
//
// The view is a time range [start, end] in ms from the trace start. Interactions, as the seed lists them:
// wheel pans the range left/right; Ctrl/Cmd + wheel zooms around the pointer; dragging selects a region
// and zooms to it; double-clicking a span zooms to fit it; the viewer calls reset() when F is pressed;
// the mini-map above shows the whole trace with the current range highlighted and can be dragged to
// pan. Shift + wheel scrolls deep traces up and down (the plain wheel belongs to time). A hover tooltip
// names the span; a click selects it.
//
// Drawing cost follows what is visible, not the trace: per row the spans are sorted by start with a
// running maximum of end (model.levels), so two binary searches bound the spans overlapping the range,
// and bars narrower than a pixel are merged per pixel column instead of being drawn one by one. Text
// widths are measured once per distinct string. The current range is mirrored on the canvas as
// data-view-start / data-view-end (ms) so tests can observe zooming.
//
// data-testids: flamegraph (the view), flamegraph-canvas, flamegraph-minimap, flamegraph-scroll,
// flamegraph-tooltip, flamegraph-reset, flamegraph-range (the current range as text).

import { h, fmtMs } from '/dom.js';
import { colorFor } from '/trace/colors.js';
import { levelLowerBound, levelUpperBound, ticks, tickFormatter } from '/trace/model.js';

const ROW_H = 20;
const AXIS_H = 22;
const MINIMAP_H = 44;
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const DRAG_PX = 4;
const DIM_ALPHA = 0.16;
const MIN_LABEL_PX = 28;
const ERROR_RED = '#dc2626';
const GRID = '#e5e7eb';
const AXIS_BG = '#f8fafc';
const AXIS_TEXT = '#475569';
const MEASURE_CACHE_MAX = 20000;

// createFlamegraph(host, {model, state, onSelect}) builds the view inside host.
//   state: the viewer's {hidden: Uint8Array per type, selected: node}; onSelect(node) on click.
// Returns {show(), refresh(), setSelected(node, reveal), reset(), destroy()}.
export function createFlamegraph(host, { model, state, onSelect }) {
  const full = model.totalMs > 0 ? model.totalMs : 1;
  // One nanosecond, or a billionth of the trace: below that the doubles stop telling times apart.
  const minRange = Math.max(full * 1e-9, 1e-6);
  const levels = model.levels;
  const lastRow = levels.length - 1;
  let viewStart = 0, viewEnd = full;
  let width = 0, height = 0, mmWidth = 0, dpr = 1;
  let frame = 0;
  let drag = null;      // main canvas gesture: {id, x0, x, moved}
  let mmDrag = null;    // mini-map gesture: {id, grab} where grab is the time offset held by the pointer
  let minimapBase = null;
  const measured = new Map();

  const canvas = h('canvas', {
    className: 'tv-fg-canvas', dataset: { testid: 'flamegraph-canvas' },
    attrs: { role: 'img', 'aria-label': 'Flame graph of the trace' },
  });
  const minimap = h('canvas', {
    className: 'tv-fg-minimap', dataset: { testid: 'flamegraph-minimap' },
    attrs: { role: 'img', 'aria-label': 'Whole trace with the visible range highlighted; drag to pan' },
  });
  const spacer = h('div', { className: 'tv-fg-spacer' });
  const scroller = h('div', { className: 'tv-fg-scroll', dataset: { testid: 'flamegraph-scroll' } }, canvas, spacer);
  const tipName = h('strong');
  const tipInfo = h('span');
  const tooltip = h('div', { className: 'tv-fg-tooltip', dataset: { testid: 'flamegraph-tooltip' }, hidden: true }, tipName, tipInfo);
  const rangeLabel = h('span', { className: 'tv-fg-range', dataset: { testid: 'flamegraph-range' } });
  const resetButton = h('button', {
    className: 'tv-btn', dataset: { testid: 'flamegraph-reset' }, attrs: { type: 'button', title: 'Fit the whole trace (F)' },
    onclick: () => reset(),
  }, 'Reset (F)');
  const hint = h('span', { className: 'tv-fg-hint' },
    'Scroll to pan · Ctrl/⌘ + scroll to zoom · drag to zoom to a region · double-click to fit a span · F to reset');
  const view = h('div', { className: 'tv-fg', dataset: { testid: 'flamegraph' } },
    h('div', { className: 'tv-fg-toolbar' }, rangeLabel, hint, resetButton), minimap, scroller, tooltip);
  host.appendChild(view);

  // ---- view range ----------------------------------------------------------------------------------

  function setView(start, end) {
    let range = end - start;
    if (!(range >= minRange)) range = minRange;
    if (range > full) range = full;
    let s = start;
    if (!(s >= 0)) s = 0;
    if (s + range > full) s = full - range;
    viewStart = s;
    viewEnd = s + range;
    canvas.dataset.viewStart = attrNumber(viewStart);
    canvas.dataset.viewEnd = attrNumber(viewEnd);
    const from = viewStart === 0 ? '0' : fmtMs(viewStart);
    rangeLabel.textContent = `${from} – ${fmtMs(viewEnd)} (${fmtMs(viewEnd - viewStart)} of ${fmtMs(full)})`;
    schedule();
  }

  function reset() {
    scroller.scrollTop = 0;
    setView(0, full);
  }

  // zoomTo(node) fits the range to the span; a span shorter than the minimum range is centred.
  function zoomTo(node) {
    if (node.dur >= minRange) setView(node.start, node.end);
    else setView(node.start - minRange / 2, node.start + minRange / 2);
    revealRow(node.row);
  }

  function zoomAround(x, factor) {
    const range = viewEnd - viewStart;
    const frac = width > 0 ? Math.min(1, Math.max(0, x / width)) : 0.5;
    const at = viewStart + frac * range;
    const next = Math.min(full, Math.max(minRange, range * factor));
    setView(at - frac * next, at - frac * next + next);
  }

  function revealRow(row) {
    const top = row * ROW_H;
    const visible = height - AXIS_H;
    if (top < scroller.scrollTop || top + ROW_H > scroller.scrollTop + visible) {
      scroller.scrollTop = Math.max(0, top - visible / 3);
    }
  }

  // ---- drawing -------------------------------------------------------------------------------------

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function measure(ctx, text) {
    let w = measured.get(text);
    if (w === undefined) {
      w = ctx.measureText(text).width;
      if (measured.size >= MEASURE_CACHE_MAX) measured.clear();
      measured.set(text, w);
    }
    return w;
  }

  function fitText(ctx, text, avail) {
    const w = measure(ctx, text);
    if (w <= avail) return text;
    for (let chars = Math.floor((text.length * avail) / w) - 1; chars > 0; chars--) {
      const t = text.slice(0, chars) + '…';
      if (ctx.measureText(t).width <= avail) return t;
    }
    return '';
  }

  // drawSpans paints rows d0..d1 of the range [vStart, vEnd] over w css px; yOf(row) gives a
  // row's top and barH its height. Labels are drawn only on the main canvas.
  function drawSpans(ctx, w, vStart, vEnd, yOf, barH, d0, d1, labels) {
    const scale = w / (vEnd - vStart);
    const hidden = state.hidden;
    const nodes = model.nodes;
    const gap = barH > 3 ? 1 : 0;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    for (let d = d0; d <= d1; d++) {
      const lv = levels[d];
      const y = yOf(d);
      const hi = levelUpperBound(lv, vEnd);
      // Spans narrower than a pixel are not drawn one by one: those starting in the same pixel column
      // form a run, painted as one pixel in the color of its longest shown span (dimmed only when all
      // of it is filtered out), with an error mark when any shown span in it failed.
      let runCol = 0, runNode = null, runHidden = true, runError = false;
      const flush = () => {
        if (!runNode) return;
        ctx.globalAlpha = runHidden ? DIM_ALPHA : 1;
        ctx.fillStyle = colorFor(runNode.name).fill;
        ctx.fillRect(runCol, y, 1, barH - gap);
        if (runError) {
          ctx.fillStyle = ERROR_RED;
          ctx.fillRect(runCol, y + barH - gap - 2, 1, 2);
        }
        runNode = null;
      };
      for (let k = levelLowerBound(lv, vStart); k < hi; k++) {
        const e = lv.end[k];
        if (e < vStart) continue;
        const x0 = (lv.start[k] - vStart) * scale;
        const x1 = (e - vStart) * scale;
        const node = nodes[lv.idx[k]];
        if (x1 - x0 < 1) {
          const col = Math.floor(x0);
          const nodeHidden = hidden[node.type] === 1;
          if (runNode && col === runCol) {
            if ((runHidden && !nodeHidden) || (runHidden === nodeHidden && node.dur > runNode.dur)) runNode = node;
            if (!nodeHidden) runHidden = false;
          } else {
            flush();
            runCol = col; runNode = node; runHidden = nodeHidden; runError = false;
          }
          if (node.error && !nodeHidden) runError = true;
          continue;
        }
        flush();
        const bx0 = x0 < -2 ? -2 : x0;
        const bx1 = x1 > w + 2 ? w + 2 : x1;
        const bw = bx1 - bx0 > 3 ? bx1 - bx0 - gap : bx1 - bx0;
        const dim = hidden[node.type] === 1;
        const color = colorFor(node.name);
        ctx.globalAlpha = dim ? DIM_ALPHA : 1;
        ctx.fillStyle = color.fill;
        ctx.fillRect(bx0, y, bw, barH - gap);
        if (node.error && !dim) {
          ctx.strokeStyle = ERROR_RED;
          ctx.lineWidth = 2;
          ctx.strokeRect(bx0 + 1, y + 1, Math.max(0, bw - 2), barH - gap - 2);
        }
        if (labels && !dim) {
          const lx0 = Math.max(bx0, 0) + 4;
          const avail = Math.min(bx1, w) - lx0 - 4;
          if (avail >= MIN_LABEL_PX) {
            const withTime = `${node.name} ${fmtMs(node.dur)}`;
            const text = measure(ctx, withTime) <= avail ? withTime : fitText(ctx, node.name, avail);
            if (text) {
              ctx.fillStyle = color.text;
              ctx.fillText(text, lx0, y + (barH - gap) / 2 + 0.5);
            }
          }
        }
      }
      flush();
    }
    ctx.globalAlpha = 1;
  }

  function draw() {
    frame = 0;
    if (width <= 0 || height <= 0) return;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const range = viewEnd - viewStart;
    const scale = width / range;
    const scrollY = scroller.scrollTop;
    const t = ticks(viewStart, viewEnd, Math.max(2, Math.floor(width / 110)));
    const fmt = tickFormatter(viewEnd, t.step);

    ctx.fillStyle = GRID;
    for (const v of t.values) ctx.fillRect(Math.round((v - viewStart) * scale), AXIS_H, 1, height - AXIS_H);

    if (lastRow >= 0) {
      const d0 = Math.max(0, Math.floor(scrollY / ROW_H));
      const d1 = Math.min(lastRow, Math.floor((scrollY + height - AXIS_H) / ROW_H));
      const yOf = (d) => AXIS_H + d * ROW_H - scrollY;
      drawSpans(ctx, width, viewStart, viewEnd, yOf, ROW_H, d0, d1, true);
      const sel = state.selected;
      if (sel && sel.row >= d0 && sel.row <= d1 && sel.end >= viewStart && sel.start <= viewEnd) {
        const x0 = Math.max(-2, (sel.start - viewStart) * scale);
        const x1 = Math.min(width + 2, Math.max(x0 + 2, (sel.end - viewStart) * scale));
        const y = yOf(sel.row);
        ctx.lineWidth = 2;
        ctx.strokeStyle = '#111827';
        ctx.strokeRect(x0, y - 1, x1 - x0, ROW_H);
        ctx.lineWidth = 1;
        ctx.strokeStyle = '#ffffff';
        ctx.strokeRect(x0 + 1.5, y + 0.5, Math.max(0, x1 - x0 - 3), ROW_H - 3);
      }
    } else {
      ctx.fillStyle = AXIS_TEXT;
      ctx.font = FONT;
      ctx.fillText('This trace has no spans.', 12, AXIS_H + 20);
    }

    // The axis band is drawn last so rows scrolled up slide under it.
    ctx.fillStyle = AXIS_BG;
    ctx.fillRect(0, 0, width, AXIS_H);
    ctx.fillStyle = GRID;
    ctx.fillRect(0, AXIS_H - 1, width, 1);
    ctx.fillStyle = AXIS_TEXT;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    for (const v of t.values) {
      const x = Math.round((v - viewStart) * scale);
      ctx.fillRect(x, AXIS_H - 6, 1, 5);
      const label = fmt(v);
      const lw = measure(ctx, label);
      ctx.fillText(label, Math.min(Math.max(2, x + 3), width - lw - 2), AXIS_H / 2 - 1);
    }

    if (drag && drag.moved) {
      const x0 = Math.min(drag.x0, drag.x), x1 = Math.max(drag.x0, drag.x);
      ctx.fillStyle = 'rgba(37, 99, 235, 0.14)';
      ctx.fillRect(x0, AXIS_H, x1 - x0, height - AXIS_H);
      ctx.strokeStyle = '#2563eb';
      ctx.lineWidth = 1;
      ctx.strokeRect(x0 + 0.5, AXIS_H + 0.5, Math.max(0, x1 - x0 - 1), height - AXIS_H - 1);
      const label = fmtMs((x1 - x0) / scale);
      const lw = measure(ctx, label);
      ctx.fillStyle = '#1e3a8a';
      ctx.fillRect(x0, 2, lw + 8, AXIS_H - 4);
      ctx.fillStyle = '#ffffff';
      ctx.fillText(label, x0 + 4, AXIS_H / 2);
    }
    drawMinimap();
  }

  function renderMinimapBase() {
    if (mmWidth <= 0) { minimapBase = null; return; }
    const base = minimapBase || document.createElement('canvas');
    base.width = Math.round(mmWidth * dpr);
    base.height = Math.round(MINIMAP_H * dpr);
    const ctx = base.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, mmWidth, MINIMAP_H);
    if (lastRow >= 0) {
      const rowPx = (MINIMAP_H - 4) / (lastRow + 1);
      const barH = Math.max(1, Math.min(8, rowPx));
      drawSpans(ctx, mmWidth, 0, full, (d) => 2 + d * rowPx, barH, 0, lastRow, false);
    }
    minimapBase = base;
  }

  function minimapSpan() {
    let x0 = (viewStart / full) * mmWidth;
    let x1 = (viewEnd / full) * mmWidth;
    if (x1 - x0 < 4) { const c = (x0 + x1) / 2; x0 = c - 2; x1 = c + 2; }
    return [x0, x1];
  }

  function drawMinimap() {
    if (mmWidth <= 0) return;
    const ctx = minimap.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, mmWidth, MINIMAP_H);
    if (minimapBase) ctx.drawImage(minimapBase, 0, 0, mmWidth, MINIMAP_H);
    const [x0, x1] = minimapSpan();
    ctx.fillStyle = 'rgba(15, 23, 42, 0.28)';
    ctx.fillRect(0, 0, Math.max(0, x0), MINIMAP_H);
    ctx.fillRect(x1, 0, Math.max(0, mmWidth - x1), MINIMAP_H);
    ctx.strokeStyle = '#2563eb';
    ctx.lineWidth = 2;
    ctx.strokeRect(x0 + 1, 1, Math.max(0, x1 - x0 - 2), MINIMAP_H - 2);
  }

  function resize() {
    dpr = window.devicePixelRatio || 1;
    width = scroller.clientWidth;
    height = scroller.clientHeight;
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    canvas.width = Math.max(1, Math.round(width * dpr));
    canvas.height = Math.max(1, Math.round(height * dpr));
    const contentH = AXIS_H + (lastRow + 1) * ROW_H + 8;
    spacer.style.height = Math.max(0, contentH - height) + 'px';
    mmWidth = minimap.clientWidth;
    minimap.width = Math.max(1, Math.round(mmWidth * dpr));
    minimap.height = Math.round(MINIMAP_H * dpr);
    renderMinimapBase();
    if (frame) { cancelAnimationFrame(frame); frame = 0; }
    draw();
  }

  // ---- hit testing and input -----------------------------------------------------------------------

  // nodeAt(x, y) -> the span drawn at canvas css px (x, y): the latest-starting span containing the
  // time there, else one within two pixels (so sub-pixel spans can still be picked), else null.
  function nodeAt(x, y) {
    if (y < AXIS_H || lastRow < 0) return null;
    const d = Math.floor((y - AXIS_H + scroller.scrollTop) / ROW_H);
    if (d < 0 || d > lastRow) return null;
    const lv = levels[d];
    const scale = width / (viewEnd - viewStart);
    const t = viewStart + x / scale;
    const tol = 2 / scale;
    let near = -1;
    for (let k = levelUpperBound(lv, t + tol) - 1; k >= 0 && lv.maxEnd[k] >= t - tol; k--) {
      if (lv.end[k] < t - tol) continue;
      if (lv.start[k] <= t && lv.end[k] >= t) return model.nodes[lv.idx[k]];
      if (near < 0) near = k;
    }
    return near >= 0 ? model.nodes[lv.idx[near]] : null;
  }

  function localX(e, el) {
    return e.clientX - el.getBoundingClientRect().left;
  }

  function onWheel(e) {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? height : 1;
    const dx = e.deltaX * unit, dy = e.deltaY * unit;
    if (e.ctrlKey || e.metaKey) {
      zoomAround(localX(e, canvas), Math.exp(Math.max(-300, Math.min(300, dy || dx)) * 0.002));
      return;
    }
    if (e.shiftKey) {
      scroller.scrollTop += dy || dx;
      return;
    }
    const delta = Math.abs(dx) > Math.abs(dy) ? dx : dy;
    if (width > 0) {
      const shift = (delta / width) * (viewEnd - viewStart);
      setView(viewStart + shift, viewEnd + shift);
    }
  }

  function onPointerDown(e) {
    if (e.button !== 0) return;
    drag = { id: e.pointerId, x0: localX(e, canvas), x: localX(e, canvas), moved: false };
    canvas.setPointerCapture(e.pointerId);
    hideTip();
  }

  function onPointerMove(e) {
    const x = localX(e, canvas);
    if (drag && e.pointerId === drag.id) {
      drag.x = Math.max(0, Math.min(width, x));
      if (!drag.moved && Math.abs(drag.x - drag.x0) >= DRAG_PX) drag.moved = true;
      if (drag.moved) schedule();
      return;
    }
    const y = e.clientY - canvas.getBoundingClientRect().top;
    const node = nodeAt(x, y);
    canvas.classList.toggle('tv-fg-pointing', !!node);
    if (node) showTip(node, x, y); else hideTip();
  }

  function onPointerUp(e) {
    if (!drag || e.pointerId !== drag.id) return;
    const g = drag;
    drag = null;
    if (g.moved) {
      const scale = width / (viewEnd - viewStart);
      const a = viewStart + Math.min(g.x0, g.x) / scale;
      const b = viewStart + Math.max(g.x0, g.x) / scale;
      setView(a, b);
      return;
    }
    const node = nodeAt(g.x0, e.clientY - canvas.getBoundingClientRect().top);
    if (node) onSelect(node);
  }

  function onPointerCancel() {
    if (drag) { drag = null; schedule(); }
  }

  function onDoubleClick(e) {
    const node = nodeAt(localX(e, canvas), e.clientY - canvas.getBoundingClientRect().top);
    if (node) zoomTo(node);
  }

  function showTip(node, x, y) {
    tipName.textContent = node.name;
    const status = node.error ? ' · ERROR' : '';
    tipInfo.textContent = ` ${fmtMs(node.dur)} · starts at ${fmtMs(node.start)}${status}`;
    tooltip.hidden = false;
    const hostRect = view.getBoundingClientRect();
    const canvasRect = canvas.getBoundingClientRect();
    const left = canvasRect.left - hostRect.left + x + 14;
    const top = canvasRect.top - hostRect.top + y + 14;
    const maxLeft = hostRect.width - tooltip.offsetWidth - 4;
    tooltip.style.left = Math.max(4, Math.min(left, maxLeft)) + 'px';
    tooltip.style.top = top + 'px';
  }

  function hideTip() {
    tooltip.hidden = true;
  }

  function mmTime(e) {
    return Math.max(0, Math.min(full, (localX(e, minimap) / Math.max(1, mmWidth)) * full));
  }

  function onMinimapDown(e) {
    if (e.button !== 0) return;
    const t = mmTime(e);
    const range = viewEnd - viewStart;
    const [x0, x1] = minimapSpan();
    const x = localX(e, minimap);
    // Grabbing inside the highlighted range keeps the grip point; elsewhere the range jumps to centre there.
    const grab = x >= x0 && x <= x1 ? t - viewStart : range / 2;
    mmDrag = { id: e.pointerId, grab };
    minimap.setPointerCapture(e.pointerId);
    minimap.classList.add('tv-fg-grabbing');
    setView(t - grab, t - grab + range);
  }

  function onMinimapMove(e) {
    if (!mmDrag || e.pointerId !== mmDrag.id) return;
    const t = mmTime(e);
    const range = viewEnd - viewStart;
    setView(t - mmDrag.grab, t - mmDrag.grab + range);
  }

  function onMinimapUp(e) {
    if (!mmDrag || e.pointerId !== mmDrag.id) return;
    mmDrag = null;
    minimap.classList.remove('tv-fg-grabbing');
  }

  scroller.addEventListener('wheel', onWheel, { passive: false });
  scroller.addEventListener('scroll', () => { hideTip(); schedule(); }, { passive: true });
  canvas.addEventListener('pointerdown', onPointerDown);
  canvas.addEventListener('pointermove', onPointerMove);
  canvas.addEventListener('pointerup', onPointerUp);
  canvas.addEventListener('pointercancel', onPointerCancel);
  canvas.addEventListener('pointerleave', hideTip);
  canvas.addEventListener('dblclick', onDoubleClick);
  minimap.addEventListener('pointerdown', onMinimapDown);
  minimap.addEventListener('pointermove', onMinimapMove);
  minimap.addEventListener('pointerup', onMinimapUp);
  minimap.addEventListener('pointercancel', onMinimapUp);
  const observer = new ResizeObserver(resize);
  observer.observe(scroller);
  observer.observe(minimap);

  setView(0, full);

  return {
    // show() re-measures after the view was hidden (a hidden canvas has no size).
    show: resize,
    // refresh() redraws after the type filter changed.
    refresh() { renderMinimapBase(); schedule(); },
    // setSelected(node, reveal): outline node; with reveal, bring it into the visible range first.
    setSelected(node, reveal) {
      // A span outside the range is centred in it at the same zoom (or fitted, when longer than it).
      if (node && reveal) {
        const range = viewEnd - viewStart;
        if (node.end < viewStart || node.start > viewEnd) {
          const s = node.start - (range - node.dur) / 2;
          if (node.dur <= range) setView(s, s + range); else zoomTo(node);
        }
        revealRow(node.row);
      }
      schedule();
    },
    reset,
    destroy() {
      observer.disconnect();
      if (frame) cancelAnimationFrame(frame);
      view.remove();
    },
  };
}

function attrNumber(v) {
  return String(Math.round(v * 1e6) / 1e6);
}
