// Transition Hotspots tab of a run (GET /v1/runs/{run}/hotspots): a heatmap matrix (rows = from
// state, columns = to state) with a Counts / Failure Rate toggle, a color legend, a detail panel
// for the clicked cell with exemplar simulations, a Top Hotspots sidebar, and span-type filters
// (checkboxes per state -> exclude/include, "Collapse wrappers" -> collapse_wrappers, on by
// default). Mode and filters live in the URL (mode, include, exclude, collapse_wrappers) so a view
// can be linked.
//
// data-testids: hotspots, toggle-counts, toggle-failure-rate, collapse-wrappers, span-filters,
// span-filter (data-state; the checkbox inside is span-filter-checkbox), span-filter-only,
// reset-filters, hotspot-summary, hotspot-legend, hotspot-matrix, hotspot-row-header,
// hotspot-col-header, hotspot-cell (data-from, data-to, data-count, data-failure-rate;
// class "selected"), hotspot-detail, hotspot-detail-title, hotspot-detail-count,
// hotspot-detail-simulations, hotspot-detail-failed, hotspot-detail-rate, hotspot-detail-errors,
// exemplar (data-failed: counted as failed for the cell), exemplar-link (data-simulation-id),
// top-hotspots, top-hotspot (data-from, data-to), plus loading/empty/error.

import { api } from '/api.js';
import { h, link, replace, fmtNum, fmtPct, badge, errorBox, loading, empty, enc } from '/dom.js';

const MODES = { counts: 'counts', rate: 'failure_rate' };

export function isWrapper(name) {
  return name === 'conversation' || name === 'pipeline' || name === 'transport' || name.startsWith('session:');
}

function splitList(v) {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

// Heat colors: lightness falls as the value rises, so darker always means higher. Counts are blue
// on a square-root scale (a few very common transitions would otherwise wash out the rest);
// failure rates are red on a linear 0-100% scale, comparable between runs.
const SCALES = {
  counts: { hue: 214, sat: 72 },
  failure_rate: { hue: 2, sat: 74 },
};
function heat(mode, t) {
  const { hue, sat } = SCALES[mode];
  const clamped = Math.max(0, Math.min(1, t));
  const light = 96 - clamped * 62;
  return { bg: `hsl(${hue} ${sat}% ${light}%)`, dark: light < 58 };
}
function intensity(mode, tr, maxCount) {
  if (mode === MODES.rate) return tr.failure_rate / 100;
  return maxCount > 0 ? Math.sqrt(tr.count / maxCount) : 0;
}

function cellKey(from, to) {
  return `${from}\u0000${to}`;
}

// mountHotspots(container, {org, runId, query, setQuery, signal, simsById}) -> {update(query), destroy()}
export function mountHotspots(container, opts) {
  const { org, runId, setQuery, signal } = opts;
  const simsById = opts.simsById || new Map();
  const runBase = `/${enc(org)}/runs/${enc(runId)}`;

  const state = {
    mode: MODES.counts,
    collapse: true,
    include: [],
    exclude: [],
    data: null,
    selected: null,
    known: new Set(),
    seq: 0,
  };

  function readQuery(q) {
    state.mode = q.get('mode') === MODES.rate ? MODES.rate : MODES.counts;
    state.collapse = q.get('collapse_wrappers') !== 'false';
    state.include = splitList(q.get('include'));
    state.exclude = splitList(q.get('exclude'));
  }
  function writeQuery() {
    setQuery({
      mode: state.mode === MODES.rate ? MODES.rate : null,
      collapse_wrappers: state.collapse ? null : 'false',
      include: state.include.length ? state.include.join(',') : null,
      exclude: state.exclude.length ? state.exclude.join(',') : null,
    });
  }
  function filterKey() {
    return JSON.stringify([state.collapse, state.include, state.exclude]);
  }

  // Static parts.
  const btnCounts = h('button', { className: 'seg-btn', dataset: { testid: 'toggle-counts' }, attrs: { type: 'button' },
    onclick: () => setMode(MODES.counts) }, 'Counts');
  const btnRate = h('button', { className: 'seg-btn', dataset: { testid: 'toggle-failure-rate' }, attrs: { type: 'button' },
    onclick: () => setMode(MODES.rate) }, 'Failure Rate');
  const collapseBox = h('input', { dataset: { testid: 'collapse-wrappers' }, attrs: { type: 'checkbox', id: 'hs-collapse' },
    onchange: () => { state.collapse = collapseBox.checked; filtersChanged(); } });
  const summary = h('span', { className: 'muted', dataset: { testid: 'hotspot-summary' } });
  const filtersEl = h('div', { className: 'hs-filter-list', dataset: { testid: 'span-filters' } });
  const matrixSlot = h('div', { className: 'hs-matrix-slot' }, loading('Computing transitions…'));
  const legendSlot = h('div', { className: 'hs-legend-slot' });
  const detailSlot = h('div', { className: 'card hs-detail', dataset: { testid: 'hotspot-detail' } });
  const topSlot = h('div', { className: 'card hs-top', dataset: { testid: 'top-hotspots' } });
  const busy = h('span', { className: 'hs-busy muted small' });

  const root = h('div', { className: 'hotspots', dataset: { testid: 'hotspots' } },
    h('div', { className: 'card hs-toolbar' },
      h('div', { className: 'hs-toolbar-row' },
        h('div', { className: 'seg', attrs: { role: 'group', 'aria-label': 'Heatmap value' } }, btnCounts, btnRate),
        h('label', { className: 'check', attrs: { for: 'hs-collapse' } }, collapseBox, 'Collapse wrappers'),
        h('span', { className: 'spacer' }),
        busy,
        summary),
      h('div', { className: 'hs-filters' },
        h('span', { className: 'hs-filter-label' }, 'Span types'),
        filtersEl)),
    h('div', { className: 'hs-body' },
      h('div', { className: 'card hs-matrix-card' },
        h('div', { className: 'card-head' }, h('h2', null, 'Transition heatmap'), legendSlot),
        h('div', { className: 'card-body hs-matrix-body' }, matrixSlot)),
      h('aside', { className: 'hs-side' }, detailSlot, topSlot)));
  replace(container, root);

  function setMode(mode) {
    if (state.mode === mode) return;
    state.mode = mode;
    writeQuery();
    syncToolbar();
    renderData();
  }

  function filtersChanged() {
    state.selected = null;
    writeQuery();
    load();
  }

  function syncToolbar() {
    btnCounts.classList.toggle('active', state.mode === MODES.counts);
    btnRate.classList.toggle('active', state.mode === MODES.rate);
    btnCounts.setAttribute('aria-pressed', String(state.mode === MODES.counts));
    btnRate.setAttribute('aria-pressed', String(state.mode === MODES.rate));
    collapseBox.checked = state.collapse;
  }

  function renderFilters() {
    for (const s of state.include) state.known.add(s);
    for (const s of state.exclude) state.known.add(s);
    const names = [...state.known].filter((n) => !(state.collapse && isWrapper(n))).sort();
    const including = state.include.length > 0;
    const items = names.map((name) => {
      const checked = including ? state.include.includes(name) : !state.exclude.includes(name);
      const id = `hs-f-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${[...name].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7)}`;
      const box = h('input', {
        dataset: { testid: 'span-filter-checkbox' }, attrs: { type: 'checkbox', id }, checked,
        onchange: () => toggleState(name, box.checked),
      });
      return h('span', { className: 'hs-filter' + (checked ? '' : ' off'), dataset: { testid: 'span-filter', state: name } },
        h('label', { className: 'check', attrs: { for: id } }, box, name),
        h('button', { className: 'link-btn small', dataset: { testid: 'span-filter-only' }, attrs: { type: 'button', title: `Only ${name}` },
          onclick: () => { state.include = [name]; state.exclude = []; filtersChanged(); } }, 'only'));
    });
    const reset = (state.include.length || state.exclude.length)
      ? h('button', { className: 'btn btn-sm', dataset: { testid: 'reset-filters' }, attrs: { type: 'button' },
        onclick: () => { state.include = []; state.exclude = []; filtersChanged(); } }, 'Show all')
      : null;
    replace(filtersEl, items.length ? items : h('span', { className: 'muted small' }, 'No span types yet.'), reset);
  }

  function toggleState(name, on) {
    if (state.include.length) {
      state.include = on ? [...new Set([...state.include, name])] : state.include.filter((n) => n !== name);
    } else {
      state.exclude = on ? state.exclude.filter((n) => n !== name) : [...new Set([...state.exclude, name])];
    }
    filtersChanged();
  }

  async function load() {
    const seq = ++state.seq;
    busy.textContent = 'Updating…';
    root.classList.add('is-busy');
    renderFilters();
    try {
      const data = await api(`/v1/runs/${enc(runId)}/hotspots`, {
        query: {
          include: state.include.join(','),
          exclude: state.exclude.join(','),
          collapse_wrappers: state.collapse ? 'true' : 'false',
        },
        signal,
      });
      if (signal.aborted || seq !== state.seq) return;
      state.data = data;
      state.loadedKey = filterKey();
      for (const s of data.states || []) state.known.add(s);
      for (const s of (data.filters && data.filters.collapsed) || []) state.known.add(s);
      if (state.selected && !findTransition(state.selected)) state.selected = null;
      renderFilters();
      renderData();
    } catch (err) {
      if (signal.aborted || seq !== state.seq) return;
      state.data = null;
      replace(matrixSlot, errorBox(err));
      replace(legendSlot);
      replace(detailSlot);
      replace(topSlot);
      summary.textContent = '';
    } finally {
      if (seq === state.seq) {
        busy.textContent = '';
        root.classList.remove('is-busy');
      }
    }
  }

  function findTransition(key) {
    const d = state.data;
    if (!d || !key) return null;
    return (d.transitions || []).find((t) => cellKey(t.from, t.to) === key) || null;
  }

  function select(key) {
    state.selected = state.selected === key ? null : key;
    for (const td of matrixSlot.querySelectorAll('td.hs-cell')) {
      td.classList.toggle('selected', td.dataset.key === state.selected);
    }
    renderDetail();
    renderTop();
  }

  function renderData() {
    const d = state.data;
    if (!d) return;
    const mode = state.mode;
    summary.textContent = `${fmtNum(d.traced_simulation_count, 0)} of ${fmtNum(d.simulation_count, 0)} simulations traced · ` +
      `${fmtNum((d.transitions || []).length, 0)} transitions · ${fmtNum((d.states || []).length, 0)} states`;
    if (!d.traced_simulation_count) {
      replace(matrixSlot, empty('No simulation of this run has trace data yet, so there are no transitions to show.'));
      replace(legendSlot);
      renderDetail();
      renderTop();
      return;
    }
    const transitions = d.transitions || [];
    if (transitions.length === 0) {
      replace(matrixSlot, empty('No transitions with these filters. Show more span types or turn off "Collapse wrappers".'));
      replace(legendSlot);
      renderDetail();
      renderTop();
      return;
    }
    const byKey = new Map(transitions.map((t) => [cellKey(t.from, t.to), t]));
    const maxCount = transitions.reduce((m, t) => Math.max(m, t.count), 0);
    const states = d.states || [];

    // Legend: the gradient and the range it spans in this mode.
    const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => heat(mode, t).bg);
    replace(legendSlot, h('div', { className: 'hs-legend', dataset: { testid: 'hotspot-legend' } },
      h('span', { className: 'muted small' }, mode === MODES.rate ? 'Failure rate' : 'Count'),
      h('span', { className: 'small' }, mode === MODES.rate ? '0%' : '1'),
      h('span', { className: 'hs-legend-bar', style: { backgroundImage: `linear-gradient(to right, ${stops.join(', ')})` } }),
      h('span', { className: 'small' }, mode === MODES.rate ? '100%' : fmtNum(maxCount, 0)),
      h('span', { className: 'muted small' }, 'darker = higher')));

    // Column labels are written vertically; the header is as tall as the longest one needs.
    const longest = states.reduce((m, s) => Math.max(m, s.length), 0);
    const headPx = Math.max(60, Math.min(240, longest * 7 + 14));
    const head = h('tr', { style: { height: `${headPx}px` } },
      h('th', { className: 'hs-corner' }, h('span', { className: 'hs-corner-to' }, 'to →'), h('span', { className: 'hs-corner-from' }, 'from ↓')),
      states.map((s) => h('th', { className: 'hs-col-head', dataset: { testid: 'hotspot-col-header' }, attrs: { scope: 'col', title: s } },
        h('span', { style: { maxHeight: `${headPx - 6}px` } }, s))));
    const rows = states.map((from) => h('tr', null,
      h('th', { className: 'hs-row-head', dataset: { testid: 'hotspot-row-header' }, attrs: { scope: 'row', title: from } }, from),
      states.map((to) => {
        const key = cellKey(from, to);
        const t = byKey.get(key);
        if (!t) return h('td', { className: 'hs-cell-empty', attrs: { title: `${from} → ${to}: none` } });
        const color = heat(mode, intensity(mode, t, maxCount));
        const label = mode === MODES.rate ? fmtPct(t.failure_rate, 0) : fmtNum(t.count, 0);
        const td = h('td', {
          className: 'hs-cell' + (color.dark ? ' dark' : '') + (state.selected === key ? ' selected' : ''),
          style: { backgroundColor: color.bg },
          dataset: { testid: 'hotspot-cell', from, to, count: t.count, failureRate: t.failure_rate, key },
          attrs: {
            tabindex: 0, role: 'button',
            title: `${from} → ${to}\n${fmtNum(t.count, 0)} occurrences in ${fmtNum(t.simulation_count, 0)} simulations\n` +
              `${fmtNum(t.failed_simulation_count, 0)} failed (${fmtPct(t.failure_rate)})`,
          },
          onclick: () => select(key),
          onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(key); } },
        }, label);
        return td;
      })));
    replace(matrixSlot, h('div', { className: 'hs-matrix-scroll' },
      h('table', { className: 'hs-matrix', dataset: { testid: 'hotspot-matrix' } }, h('thead', null, head), h('tbody', null, rows))));
    renderDetail();
    renderTop();
  }

  function stat(label, value, testid, cls) {
    return h('div', { className: 'hs-stat' + (cls ? ` ${cls}` : '') },
      h('div', { className: 'hs-stat-value', dataset: { testid } }, value),
      h('div', { className: 'hs-stat-label' }, label));
  }

  function renderDetail() {
    const t = findTransition(state.selected);
    if (!t) {
      replace(detailSlot,
        h('div', { className: 'card-head' }, h('h2', null, 'Transition detail')),
        h('div', { className: 'card-body' }, h('p', { className: 'muted small' },
          'Click a cell to see its counts and exemplar simulations.')));
      detailSlot.classList.remove('has-selection');
      return;
    }
    detailSlot.classList.add('has-selection');
    const nFailed = Math.min(t.failed_simulation_count, (t.exemplars || []).length);
    // The server lists the simulations counted as failed for this cell first. One can count as
    // failed here while its own result is PASSED (its transition's target span erred), so the
    // simulation's own result is shown when the run page knows it, plus an ERROR mark then.
    const exemplars = (t.exemplars || []).map((id, i) => {
      const sim = simsById.get(id);
      const failedHere = i < nFailed;
      const simFailed = sim && (sim.status === 'FAILED' || sim.result === 'FAILED');
      const badges = [];
      if (sim) badges.push(badge(sim.result || sim.status));
      else badges.push(badge(failedHere ? 'FAILED' : 'PASSED'));
      if (sim && failedHere && !simFailed) {
        const mark = badge('ERROR');
        mark.title = 'Counted as failed for this transition: its target span has status ERROR (or a metric target failed)';
        badges.push(mark);
      }
      return h('li', { className: 'exemplar', dataset: { testid: 'exemplar', failed: failedHere ? 'true' : 'false' } },
        link(`${runBase}/results/${enc(id)}`, { className: 'mono', dataset: { testid: 'exemplar-link', simulationId: id }, attrs: { title: id } }, id),
        h('span', { className: 'exemplar-badges' }, badges),
        sim && sim.test_case_id ? h('span', { className: 'exemplar-case muted small' }, sim.test_case_id) : null);
    });
    replace(detailSlot,
      h('div', { className: 'card-head' },
        h('h2', { dataset: { testid: 'hotspot-detail-title' } }, t.from, h('span', { className: 'arrow' }, ' → '), t.to),
        h('button', { className: 'btn-icon', attrs: { type: 'button', 'aria-label': 'Close detail' }, onclick: () => select(state.selected) }, '×')),
      h('div', { className: 'card-body' },
        h('div', { className: 'hs-stats' },
          stat('occurrences', fmtNum(t.count, 0), 'hotspot-detail-count'),
          stat('simulations', fmtNum(t.simulation_count, 0), 'hotspot-detail-simulations'),
          stat('failed simulations', fmtNum(t.failed_simulation_count, 0), 'hotspot-detail-failed', t.failed_simulation_count ? 'bad' : ''),
          stat('failure rate', fmtPct(t.failure_rate), 'hotspot-detail-rate', t.failure_rate > 0 ? 'bad' : ''),
          stat('erroring occurrences', fmtNum(t.error_count, 0), 'hotspot-detail-errors', t.error_count ? 'bad' : '')),
        h('h3', { className: 'section-label' }, 'Exemplar simulations'),
        exemplars.length
          ? h('ul', { className: 'exemplars' }, exemplars)
          : h('p', { className: 'muted small' }, 'No exemplars.'),
        h('p', { className: 'muted small' }, 'Open a failing simulation to read its transcript and trace together.')));
  }

  function renderTop() {
    const d = state.data;
    const top = (d && d.top_hotspots) || [];
    replace(topSlot,
      h('div', { className: 'card-head' }, h('h2', null, 'Top Hotspots'),
        h('span', { className: 'muted small' }, 'by failed simulations')),
      top.length === 0
        ? h('div', { className: 'card-body' }, h('p', { className: 'muted small' }, 'No transition has a failed simulation.'))
        : h('ol', { className: 'hs-top-list' }, top.map((t, i) => {
          const key = cellKey(t.from, t.to);
          return h('li', null, h('button', {
            className: 'hs-top-item' + (state.selected === key ? ' selected' : ''),
            dataset: { testid: 'top-hotspot', from: t.from, to: t.to },
            attrs: { type: 'button' },
            onclick: () => select(key),
          },
          h('span', { className: 'hs-top-rank' }, String(i + 1)),
          h('span', { className: 'hs-top-name' }, t.from, h('span', { className: 'arrow' }, ' → '), t.to),
          h('span', { className: 'hs-top-stats' },
            h('strong', { className: 'text-failed' }, `${fmtNum(t.failed_simulation_count, 0)} failed`),
            h('span', { className: 'muted' }, ` · ${fmtPct(t.failure_rate, 0)} · ${fmtNum(t.count, 0)}×`))));
        })));
  }

  readQuery(opts.query);
  syncToolbar();
  renderDetail();
  load();

  return {
    update(q) {
      readQuery(q);
      syncToolbar();
      if (filterKey() !== state.loadedKey) load();
      else { renderFilters(); renderData(); }
    },
    destroy() { state.seq++; },
  };
}
