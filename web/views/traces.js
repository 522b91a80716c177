// Trace page of a simulation or a conversation: fetches every span page by page
// (GET /v1/traces/spans, limit 10000) and the summary (GET /v1/traces/summary) in parallel, then
// hands both to the trace viewer (/trace/viewer.js, mountTraceViewer).
//
// data-testids: trace-page, trace-loading (with trace-progress), trace-host (the viewer's
// container), trace-truncated (when more spans exist than are shown), plus error/empty.

import { api } from '/api.js';
import { h, link, replace, fmtNum, errorBox, empty, enc } from '/dom.js';

const PAGE = 10000;
// The summary endpoint reads at most 200,000 spans; the page stops there too, so a runaway
// trace cannot exhaust the browser's memory.
const MAX_SPANS = 200000;

// Pages after the first are fetched a few at a time: the total is known from the first answer,
// and overlapping requests hide the round trips (the server has more than one worker).
const PARALLEL = 3;

async function fetchAllSpans(targetQuery, signal, onProgress) {
  const get = (offset) => api('/v1/traces/spans', { query: { ...targetQuery, limit: PAGE, offset }, signal });
  const first = await get(0);
  const pages = [(first && first.traces) || []];
  const total = first && typeof first.total_spans === 'number' ? first.total_spans : null;
  let loaded = pages[0].length;
  onProgress(loaded, total);
  if (total !== null && pages[0].length === PAGE) {
    const offsets = [];
    for (let off = PAGE; off < Math.min(total, MAX_SPANS); off += PAGE) offsets.push(off);
    let next = 0;
    const worker = async () => {
      while (next < offsets.length) {
        const i = next++;
        const resp = await get(offsets[i]);
        pages[i + 1] = (resp && resp.traces) || [];
        loaded += pages[i + 1].length;
        onProgress(loaded, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, offsets.length) }, worker));
  }
  const spans = [];
  for (const page of pages) {
    for (const sp of page) {
      if (spans.length >= MAX_SPANS) break;
      spans.push(sp);
    }
  }
  return { spans, total };
}

export function render(ctx) {
  const { org, run: runId, sim: simId, conv } = ctx.params;
  const isSim = !!simId;
  const id = isSim ? simId : conv;
  const backHref = isSim
    ? `/${enc(org)}/runs/${enc(runId)}/results/${enc(simId)}`
    : `/${enc(org)}/monitoring/${enc(conv)}`;
  const spanQuery = isSim ? { simulation_output_id: simId } : { conversation_id: conv };
  const summaryQuery = isSim ? { simulation_id: simId } : { conversation_id: conv };
  const title = isSim ? `Simulation ${simId}` : `Conversation ${conv}`;
  document.title = `Traces · ${id} · voxtrace`;

  const progress = h('span', { dataset: { testid: 'trace-progress' } }, 'Loading spans…');
  const bar = h('span', { className: 'progress-ok' });
  const status = h('div', { className: 'trace-loading', dataset: { testid: 'trace-loading' } },
    h('div', { className: 'loading' }, h('span', { className: 'spinner' }), progress),
    h('div', { className: 'progress wide' }, bar));
  const host = h('div', { className: 'trace-host', dataset: { testid: 'trace-host' } }, status);
  const top = h('div', { className: 'trace-topbar' },
    link(backHref, { className: 'btn btn-sm' }, '← Back'),
    h('span', { className: 'trace-title' }, title));
  replace(ctx.root, h('div', { className: 'trace-page', dataset: { testid: 'trace-page' } }, top, host));

  let viewer = null;
  const onProgress = (n, total) => {
    progress.textContent = total ? `Loading spans… ${fmtNum(n, 0)} of ${fmtNum(total, 0)}` : `Loading spans… ${fmtNum(n, 0)}`;
    bar.style.width = total ? `${Math.min(100, (n / total) * 100)}%` : '0%';
  };

  // The viewer module is loaded in parallel with the data; a missing or broken module is reported
  // on the page instead of breaking navigation.
  const viewerModule = import('/trace/viewer.js').then((m) => m, (err) => ({ loadError: err }));

  Promise.all([
    fetchAllSpans(spanQuery, ctx.signal, onProgress),
    api('/v1/traces/summary', { query: summaryQuery, signal: ctx.signal }),
    viewerModule,
  ]).then(([{ spans, total }, summaryResp, mod]) => {
    if (ctx.signal.aborted) return;
    if (spans.length === 0) {
      replace(host, h('div', { className: 'page' }, empty('No spans were received for this call yet. ' +
        'Traces appear within a few seconds of the call being exported.')));
      return;
    }
    if (mod.loadError || typeof mod.mountTraceViewer !== 'function') {
      replace(host, h('div', { className: 'page' }, errorBox(new Error(
        `The trace viewer could not be loaded${mod.loadError ? `: ${mod.loadError.message}` : ''}.`))));
      return;
    }
    const summary = summaryResp && summaryResp.trace_summary;
    // The viewer draws its own header (title, back button), so the loading bar goes away.
    if (total !== null && total > spans.length) {
      replace(top, h('span', { className: 'notice small', dataset: { testid: 'trace-truncated' } },
        `Showing the first ${fmtNum(spans.length, 0)} of ${fmtNum(total, 0)} spans`));
    } else {
      top.remove();
    }
    replace(host);
    viewer = mod.mountTraceViewer(host, {
      spans, summary, title,
      onBack: () => ctx.navigate(backHref),
    });
  }).catch((err) => {
    if (ctx.signal.aborted) return;
    replace(host, h('div', { className: 'page' }, errorBox(err)));
  });

  return {
    destroy() {
      if (viewer && typeof viewer.destroy === 'function') viewer.destroy();
      viewer = null;
    },
  };
}
