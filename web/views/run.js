// Run page: header with progress, a Results | Hotspots tab switch (?view=hotspots), the results
// table (simulation id, test case, status, result, metric values, span count, links) and the
// Hotspots tab (views/hotspots.js). The Hotspots tab shows only when a simulation of the run has
// spans (or when the URL asks for it directly).
//
// data-testids: run-header, run-status, run-progress, tabs, tab-results, tab-hotspots,
// results-panel, hotspots-panel, results-table, sim-row (data-simulation-id), sim-link, sim-status,
// sim-result, sim-metric (data-metric-id), sim-span-count, sim-traces-link, metric-averages (the
// footer row), metric-average (data-metric-id), pager testids.

import { api } from '/api.js';
import { h, link, replace, fmtTime, fmtNum, badge, errorBox, loading, empty, enc } from '/dom.js';
import { pageHeader, tokenPager } from '/views/parts.js';
import { progressCell } from '/views/runs.js';
import { mountHotspots } from '/views/hotspots.js';

const PAGE_SIZE = 100;
// How many pages of simulations to scan, beyond the first, for one with spans (tab visibility).
const TRACED_SCAN_PAGES = 50;

// Metric values of a simulation may be plain numbers or objects with value/unit/status/result.
function metricCell(v) {
  if (v === null || v === undefined) return h('span', { className: 'muted' }, '—');
  if (typeof v === 'object') {
    const failed = v.status === 'FAILED' || v.result === 'FAILED';
    const val = v.value === null || v.value === undefined ? '—' : fmtNum(v.value, 3);
    return h('span', { className: failed ? 'text-failed' : '', attrs: { title: v.status_reason || '' } },
      val, v.unit && v.value !== null && v.value !== undefined ? h('span', { className: 'muted small' }, ` ${v.unit}`) : null);
  }
  return typeof v === 'number' ? fmtNum(v, 3) : String(v);
}

export function render(ctx) {
  const { org, run: runId } = ctx.params;
  const runBase = `/${enc(org)}/runs/${enc(runId)}`;
  document.title = 'Run · voxtrace';

  const headerSlot = h('div', { dataset: { testid: 'run-header' } },
    pageHeader(runId, { crumbs: [{ label: 'Runs', href: `/${enc(org)}/runs` }, { label: runId }] }));
  const tabResults = h('a', { className: 'tab', dataset: { testid: 'tab-results' }, attrs: { href: runBase, role: 'tab' } }, 'Results');
  const tabHotspots = h('a', {
    className: 'tab', dataset: { testid: 'tab-hotspots' }, attrs: { href: `${runBase}?view=hotspots`, role: 'tab' },
  }, 'Hotspots');
  tabHotspots.hidden = true;
  const tabs = h('div', { className: 'tabs', dataset: { testid: 'tabs' }, attrs: { role: 'tablist' } }, tabResults, tabHotspots);

  const tableSlot = h('div', { className: 'table-wrap' }, loading('Loading simulations…'));
  const simsById = new Map();
  let traced = false;
  let hotspots = null;

  const pager = tokenPager({
    signal: ctx.signal,
    label: 'Page',
    load: (token) => api('/v1/simulations', {
      query: { filter: `run_id="${runId}"`, page_size: PAGE_SIZE, page_token: token }, signal: ctx.signal,
    }),
    onError: (err) => replace(tableSlot, errorBox(err)),
    onPage: (resp) => renderTable((resp && resp.simulations) || []),
  });

  const resultsPanel = h('section', { className: 'card', dataset: { testid: 'results-panel' } },
    tableSlot, h('div', { className: 'card-foot' }, pager.el));
  const hotspotsPanel = h('section', { className: 'hotspots-host', dataset: { testid: 'hotspots-panel' } });
  hotspotsPanel.hidden = true;

  // The run's metrics (GET /v1/runs/{run}/metrics) by metric id: name, unit, run average and the
  // per-simulation outputs, which the simulation list does not carry.
  const metricInfo = new Map();
  let lastSims = null;

  function renderTable(sims) {
    lastSims = sims;
    for (const s of sims) simsById.set(s.simulation_id, s);
    if (sims.some((s) => s.span_count > 0)) markTraced();
    if (sims.length === 0) {
      replace(tableSlot, empty('This run has no simulations yet.'));
      return;
    }
    // Columns: the run's metrics that produced a value for at least one of its simulations (a
    // metric that failed everywhere, e.g. one needing an uploaded reference, would be a column
    // of dashes), then any other metric a simulation of this page carries.
    const metricKeys = [...metricInfo.keys()].filter((k) => metricInfo.get(k).hasValue);
    for (const s of sims) {
      for (const k of Object.keys(s.metric_values || {})) if (!metricKeys.includes(k)) metricKeys.push(k);
    }
    const valueOf = (s, k) => {
      const info = metricInfo.get(k);
      const v = info && info.bySim.get(s.simulation_id);
      return v !== undefined ? v : s.metric_values && s.metric_values[k];
    };
    const metricHead = (k) => {
      const info = metricInfo.get(k);
      const label = info ? info.name : k;
      return h('th', { className: 'num th-metric', attrs: { title: info && info.unit ? `${label} (${info.unit})` : label } },
        label, info && info.unit ? h('span', { className: 'th-unit' }, ` ${info.unit}`) : null);
    };
    const hasAverages = metricKeys.some((k) => metricInfo.has(k) && metricInfo.get(k).average !== null);
    replace(tableSlot, h('table', { className: 'table', dataset: { testid: 'results-table' } },
      h('thead', null, h('tr', null,
        h('th', null, 'Simulation'), h('th', null, 'Test case'), h('th', null, 'Status'), h('th', null, 'Result'),
        metricKeys.map(metricHead),
        h('th', { className: 'num' }, 'Spans'), h('th', null, ''))),
      h('tbody', null, sims.map((s) => {
        const href = `${runBase}/results/${enc(s.simulation_id)}`;
        return h('tr', { dataset: { testid: 'sim-row', simulationId: s.simulation_id } },
          h('td', { className: 'mono' }, link(href, { dataset: { testid: 'sim-link' } }, s.simulation_id)),
          h('td', { className: 'nowrap' }, s.test_case_id || h('span', { className: 'muted' }, '—')),
          h('td', null, badge(s.status, 'sim-status')),
          h('td', null, s.result ? badge(s.result, 'sim-result') : h('span', { className: 'muted', dataset: { testid: 'sim-result' } }, '—')),
          metricKeys.map((k) => h('td', { className: 'num', dataset: { testid: 'sim-metric', metricId: k } },
            metricCell(valueOf(s, k)))),
          h('td', { className: 'num', dataset: { testid: 'sim-span-count' } }, fmtNum(s.span_count || 0, 0)),
          h('td', { className: 'row-actions' },
            s.span_count > 0
              ? link(`${href}/traces`, { className: 'btn btn-sm', dataset: { testid: 'sim-traces-link' } }, 'Traces')
              : null));
      })),
      hasAverages
        ? h('tfoot', null, h('tr', { dataset: { testid: 'metric-averages' } },
          h('td', { attrs: { colspan: 4 } }, 'Run average'),
          metricKeys.map((k) => {
            const info = metricInfo.get(k);
            return h('td', { className: 'num', dataset: { testid: 'metric-average', metricId: k } },
              info && info.average !== null ? fmtNum(info.average, 3) : '—');
          }),
          h('td', { attrs: { colspan: 2 } })))
        : null));
  }

  function markTraced() {
    if (traced) return;
    traced = true;
    tabHotspots.hidden = false;
  }

  // The first page may hold no traced simulation while later ones do: look further, cheaply
  // (simulation rows only), until one is found.
  async function scanForTraces() {
    let token = '';
    for (let i = 0; i <= TRACED_SCAN_PAGES && !traced; i++) {
      const resp = await api('/v1/simulations', {
        query: { filter: `run_id="${runId}"`, page_size: PAGE_SIZE, page_token: token }, signal: ctx.signal,
      });
      if (ctx.signal.aborted) return;
      if (((resp && resp.simulations) || []).some((s) => s.span_count > 0)) markTraced();
      token = (resp && resp.next_page_token) || '';
      if (!token) return;
    }
  }

  function showView(query) {
    const wantHotspots = query.get('view') === 'hotspots';
    if (wantHotspots) tabHotspots.hidden = false;
    else if (!traced) tabHotspots.hidden = true;
    tabResults.classList.toggle('active', !wantHotspots);
    tabHotspots.classList.toggle('active', wantHotspots);
    tabResults.setAttribute('aria-selected', String(!wantHotspots));
    tabHotspots.setAttribute('aria-selected', String(wantHotspots));
    resultsPanel.hidden = wantHotspots;
    hotspotsPanel.hidden = !wantHotspots;
    if (wantHotspots) {
      if (!hotspots) {
        hotspots = mountHotspots(hotspotsPanel, {
          org, runId, query, setQuery: ctx.setQuery, signal: ctx.signal, simsById,
        });
      } else {
        hotspots.update(query);
      }
    }
  }

  replace(ctx.root, h('div', { className: 'page' }, headerSlot, tabs, resultsPanel, hotspotsPanel));
  showView(ctx.query);

  api(`/v1/runs/${enc(runId)}`, { signal: ctx.signal }).then((resp) => {
    if (ctx.signal.aborted) return;
    const run = resp.run;
    document.title = `${run.display_name || run.run_id} · voxtrace`;
    replace(headerSlot, pageHeader(run.display_name || run.run_id, {
      crumbs: [{ label: 'Runs', href: `/${enc(org)}/runs` }, { label: run.display_name || run.run_id }],
      meta: [
        badge(run.status, 'run-status'),
        progressCell(run.progress),
        h('span', { className: 'muted' }, `Created ${fmtTime(run.create_time)}`),
        h('span', { className: 'mono muted small' }, run.run_id),
      ],
    }));
  }).catch((err) => {
    if (ctx.signal.aborted) return;
    replace(headerSlot, errorBox(err));
    if (err.status === 404) {
      tabs.hidden = true;
      resultsPanel.hidden = true;
      hotspotsPanel.hidden = true;
    }
  });

  api(`/v1/runs/${enc(runId)}/metrics`, { signal: ctx.signal }).then((resp) => {
    if (ctx.signal.aborted) return;
    for (const m of (resp && resp.metrics) || []) {
      const values = Array.isArray(m.simulations) ? m.simulations : [];
      metricInfo.set(m.metric_id, {
        name: m.metric_name || m.metric_id, unit: m.unit || '',
        average: typeof m.average === 'number' ? m.average : null,
        hasValue: values.some((v) => v.value !== null && v.value !== undefined),
        bySim: new Map(values.map((v) => [v.simulation_id, v])),
      });
    }
    if (lastSims) renderTable(lastSims);
  }).catch(() => {
    // Without names the columns keep showing metric ids; the table itself is still right.
  });

  pager.first().then(() => {
    if (!traced && !ctx.signal.aborted) scanForTraces().catch(() => {});
  });

  return {
    update(next) { showView(next.query); },
    destroy() { if (hotspots) hotspots.destroy(); },
  };
}
