// Result page of one simulation: facts, transcript, metric grid (GET /v1/simulations/{id}/metrics)
// with the OTel Traces card (span count + View Traces) when the simulation has spans.
//
// data-testids: result-page, result-status, result-result, plus those of parts.js
// (transcript, transcript-message, metric-grid, metric-card, otel-traces-card, otel-span-count,
// view-traces) and loading/error.

import { api } from '/api.js';
import { h, link, replace, fmtTime, fmtNum, badge, errorBox, loading, enc } from '/dom.js';
import { pageHeader, transcriptPanel, metricGrid, facts, metadataBlock } from '/views/parts.js';

export function render(ctx) {
  const { org, run: runId, sim: simId } = ctx.params;
  const runHref = `/${enc(org)}/runs/${enc(runId)}`;
  const base = `${runHref}/results/${enc(simId)}`;
  document.title = `${simId} · voxtrace`;
  const crumbs = (runLabel) => [
    { label: 'Runs', href: `/${enc(org)}/runs` },
    { label: runLabel, href: runHref },
    { label: simId },
  ];
  const headerSlot = h('div', null, pageHeader(simId, { crumbs: crumbs(runId) }));
  const body = h('div', null, loading('Loading result…'));
  replace(ctx.root, h('div', { className: 'page', dataset: { testid: 'result-page' } }, headerSlot, body));

  // The run's name only decorates the breadcrumbs; a failure there is not worth an error.
  api(`/v1/runs/${enc(runId)}`, { signal: ctx.signal }).then((resp) => {
    if (ctx.signal.aborted || !resp || !resp.run || !resp.run.display_name) return;
    const crumbEls = headerSlot.querySelectorAll('.crumb');
    if (crumbEls[1]) crumbEls[1].textContent = resp.run.display_name;
  }).catch(() => {});

  api(`/v1/simulations/${enc(simId)}`, { signal: ctx.signal }).then((resp) => {
    if (ctx.signal.aborted) return;
    const s = resp.simulation;
    if (s.run_id !== runId) {
      // The simulation exists but under another run: point at the right address instead.
      replace(body, errorBox(new Error(`Simulation ${simId} belongs to another run.`)),
        link(`/${enc(org)}/runs/${enc(s.run_id)}/results/${enc(simId)}`, { className: 'btn' }, 'Open it in its run'));
      return;
    }
    const actions = [];
    if (s.span_count > 0) {
      actions.push(link(`${base}/traces`, { className: 'btn btn-primary' }, 'View Traces'));
      actions.push(h('a', { className: 'btn', attrs: { href: `/v1/traces/export?simulation_output_id=${encodeURIComponent(simId)}`, download: '' } },
        'Export OTLP JSON'));
    }
    replace(headerSlot, pageHeader(simId, {
      crumbs: crumbs(headerSlot.querySelectorAll('.crumb')[1]?.textContent || runId),
      meta: [badge(s.status, 'result-status'), s.result ? badge(s.result, 'result-result') : null,
        s.test_case_id ? h('span', { className: 'muted' }, `Test case ${s.test_case_id}`) : null].filter(Boolean),
      actions,
    }));
    const grid = metricGrid(s.span_count || 0, `${base}/traces`);
    replace(body, h('div', { className: 'result-layout' },
      h('div', { className: 'result-main' }, grid.el, transcriptPanel(s.transcript)),
      h('div', { className: 'result-side' },
        h('section', { className: 'card' },
          h('div', { className: 'card-head' }, h('h2', null, 'Details')),
          h('div', { className: 'card-body' }, facts([
            ['Simulation', h('span', { className: 'mono' }, s.simulation_id)],
            ['Run', link(runHref, { className: 'mono' }, s.run_id)],
            ['Status', s.status],
            ['Result', s.result],
            ['Test case', s.test_case_id],
            ['Spans', fmtNum(s.span_count || 0, 0)],
            ['Created', fmtTime(s.create_time)],
            ['Updated', fmtTime(s.update_time)],
          ]))),
        metadataBlock(s.metadata))));
    api(`/v1/simulations/${enc(simId)}/metrics`, { signal: ctx.signal })
      .then((m) => { if (!ctx.signal.aborted) grid.setOutputs(m && m.metric_outputs); })
      .catch((err) => { if (!ctx.signal.aborted) grid.setError(err); });
  }).catch((err) => {
    if (ctx.signal.aborted) return;
    replace(body, errorBox(err));
  });
}
