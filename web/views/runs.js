// Runs list: name, status, progress, created; paged with next_page_token.
//
// data-testids: runs-table, run-row (data-run-id), run-link, run-status, run-progress, plus the
// pager's (prev-page, next-page, page-info) and empty/error/loading.

import { api } from '/api.js';
import { h, link, replace, fmtTime, badge, errorBox, loading, empty, enc } from '/dom.js';
import { pageHeader, tokenPager } from '/views/parts.js';

const PAGE_SIZE = 50;

// progressCell shows completed/total with a bar split into passed-or-done and failed parts.
export function progressCell(p) {
  const total = (p && p.total_test_cases) || 0;
  const done = (p && p.completed_test_cases) || 0;
  const failed = (p && p.failed_test_cases) || 0;
  const running = (p && p.in_progress_test_cases) || 0;
  const pct = (n) => (total ? Math.min(100, (n / total) * 100) : 0);
  const okPart = Math.max(0, done - Math.min(failed, done));
  return h('div', { className: 'progress-cell', dataset: { testid: 'run-progress' } },
    h('div', { className: 'progress', attrs: { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': total,
      'aria-valuenow': done } },
      h('span', { className: 'progress-ok', style: { width: `${pct(okPart)}%` } }),
      h('span', { className: 'progress-failed', style: { width: `${pct(Math.min(failed, total))}%` } })),
    h('span', { className: 'progress-text' },
      `${done}/${total}`,
      failed ? h('span', { className: 'text-failed' }, ` · ${failed} failed`) : null,
      running ? h('span', { className: 'muted' }, ` · ${running} running`) : null));
}

export function render(ctx) {
  document.title = 'Runs · voxtrace';
  const org = ctx.params.org;
  const body = h('div', { className: 'table-wrap' }, loading('Loading runs…'));

  const pager = tokenPager({
    signal: ctx.signal,
    load: (token) => api('/v1/runs', { query: { page_size: PAGE_SIZE, page_token: token }, signal: ctx.signal }),
    onError: (err) => replace(body, errorBox(err)),
    onPage: (resp) => {
      const runs = (resp && resp.runs) || [];
      if (runs.length === 0) {
        replace(body, empty('No runs yet. Create one with POST /v1/runs, or start the server with --demo.'));
        return;
      }
      replace(body, h('table', { className: 'table', dataset: { testid: 'runs-table' } },
        h('thead', null, h('tr', null,
          h('th', null, 'Name'), h('th', null, 'Status'), h('th', { className: 'col-progress' }, 'Progress'),
          h('th', null, 'Created'), h('th', null, 'Run ID'))),
        h('tbody', null, runs.map((r) => {
          const href = `/${enc(org)}/runs/${enc(r.run_id)}`;
          return h('tr', { dataset: { testid: 'run-row', runId: r.run_id } },
            h('td', { className: 'cell-name' }, link(href, { dataset: { testid: 'run-link' } }, r.display_name || r.run_id)),
            h('td', null, badge(r.status, 'run-status')),
            h('td', null, progressCell(r.progress)),
            h('td', { className: 'nowrap' }, fmtTime(r.create_time)),
            h('td', { className: 'mono muted' }, r.run_id));
        }))));
    },
  });

  replace(ctx.root, h('div', { className: 'page' },
    pageHeader('Runs', { meta: [h('span', { className: 'muted' }, 'Simulation runs of your agent, newest first')] }),
    h('section', { className: 'card' }, body, h('div', { className: 'card-foot' }, pager.el))));
  pager.first();
}
