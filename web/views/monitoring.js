// Monitoring: the org's conversations (status, external id, agent, created, span count, audio),
// newest first and paged, with the "Upload to Monitoring" button that opens views/upload.js.
//
// data-testids: upload-button, conversations-table, conversation-row (data-conversation-id),
// conversation-link, conversation-status, conversation-span-count, pager testids, and upload.js's.

import { api } from '/api.js';
import { h, link, replace, fmtTime, fmtNum, badge, errorBox, loading, empty, enc } from '/dom.js';
import { pageHeader, tokenPager } from '/views/parts.js';
import { openUpload } from '/views/upload.js';

const PAGE_SIZE = 50;

export function render(ctx) {
  const org = ctx.params.org;
  document.title = 'Monitoring · voxtrace';
  const body = h('div', { className: 'table-wrap' }, loading('Loading conversations…'));
  const uploadSlot = h('div');
  let upload = null;

  const pager = tokenPager({
    signal: ctx.signal,
    load: (token) => api('/v1/conversations', { query: { page_size: PAGE_SIZE, page_token: token }, signal: ctx.signal }),
    onError: (err) => replace(body, errorBox(err)),
    onPage: (resp) => {
      const convs = (resp && resp.conversations) || [];
      if (convs.length === 0) {
        replace(body, empty('No conversations yet. Upload one, or submit them with POST /v1/conversations:submit.'));
        return;
      }
      replace(body, h('table', { className: 'table', dataset: { testid: 'conversations-table' } },
        h('thead', null, h('tr', null,
          h('th', null, 'Conversation'), h('th', null, 'Status'), h('th', null, 'External id'), h('th', null, 'Agent'),
          h('th', null, 'Created'), h('th', { className: 'num' }, 'Spans'), h('th', null, 'Audio'), h('th', null, ''))),
        h('tbody', null, convs.map((c) => {
          const href = `/${enc(org)}/monitoring/${enc(c.conversation_id)}`;
          return h('tr', { dataset: { testid: 'conversation-row', conversationId: c.conversation_id } },
            h('td', { className: 'mono' }, link(href, { dataset: { testid: 'conversation-link' } }, c.conversation_id)),
            h('td', null, badge(c.status, 'conversation-status')),
            h('td', null, c.external_conversation_id || h('span', { className: 'muted' }, '—')),
            h('td', null, c.agent_id || h('span', { className: 'muted' }, '—')),
            h('td', { className: 'nowrap' }, fmtTime(c.create_time)),
            h('td', { className: 'num', dataset: { testid: 'conversation-span-count' } }, fmtNum(c.span_count || 0, 0)),
            h('td', null, c.has_audio ? 'yes' : h('span', { className: 'muted' }, '—')),
            h('td', { className: 'row-actions' },
              c.span_count > 0 ? link(`${href}/traces`, { className: 'btn btn-sm' }, 'Traces') : null));
        }))));
    },
  });

  const uploadBtn = h('button', {
    className: 'btn btn-primary', dataset: { testid: 'upload-button' }, attrs: { type: 'button' },
    onclick: () => {
      if (upload) { upload.focus(); return; }
      upload = openUpload(uploadSlot, {
        signal: ctx.signal,
        onClose: () => { upload = null; uploadBtn.disabled = false; },
        onDone: (resp) => {
          const c = resp.conversation;
          const parts = [`Uploaded conversation ${c.conversation_id}`];
          if (resp.accepted_spans !== undefined) {
            parts.push(`${fmtNum(resp.accepted_spans, 0)} spans stored`);
            if (resp.rejected_spans) parts.push(`${fmtNum(resp.rejected_spans, 0)} rejected${resp.rejection_message ? ` (${resp.rejection_message})` : ''}`);
            if (resp.duplicate_spans) parts.push(`${fmtNum(resp.duplicate_spans, 0)} duplicates`);
          }
          ctx.flash(parts.join(' · '));
          ctx.navigate(`/${enc(org)}/monitoring/${enc(c.conversation_id)}`);
        },
      });
      uploadBtn.disabled = true;
    },
  }, 'Upload to Monitoring');

  replace(ctx.root, h('div', { className: 'page' },
    pageHeader('Monitoring', {
      meta: [h('span', { className: 'muted' }, 'Production calls, newest first')],
      actions: [uploadBtn],
    }),
    uploadSlot,
    h('section', { className: 'card' }, body, h('div', { className: 'card-foot' }, pager.el))));
  pager.first();
  if (ctx.query.get('upload') === '1') uploadBtn.click();
}
