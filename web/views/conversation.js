// Conversation page (monitoring): facts, audio player when the conversation has audio, transcript,
// metric grid (GET /v1/conversations/{id}/metrics) with the OTel Traces card when it has spans.
//
// data-testids: conversation-page, conversation-status, audio-player, audio-link, plus those of
// parts.js (transcript, metric-grid, metric-card, otel-traces-card, otel-span-count, view-traces).

import { api } from '/api.js';
import { h, link, replace, fmtTime, fmtNum, badge, errorBox, loading, enc } from '/dom.js';
import { pageHeader, transcriptPanel, metricGrid, facts, metadataBlock } from '/views/parts.js';

// Audio: an uploaded file is served same-origin and plays inline. An audio_url points elsewhere,
// which the Content-Security-Policy does not let the page load, so it is offered as a link.
function audioCard(c) {
  if (!c.has_audio) return null;
  const body = c.audio_url
    ? h('p', null, 'Recorded audio is hosted elsewhere: ',
      h('a', { dataset: { testid: 'audio-link' }, attrs: { href: c.audio_url, target: '_blank', rel: 'noopener noreferrer' } }, c.audio_url))
    : h('audio', { className: 'audio', dataset: { testid: 'audio-player' },
      attrs: { controls: true, preload: 'metadata', src: `/v1/conversations/${enc(c.conversation_id)}/audio` } });
  return h('section', { className: 'card' },
    h('div', { className: 'card-head' }, h('h2', null, 'Audio')),
    h('div', { className: 'card-body' }, body));
}

export function render(ctx) {
  const { org, conv } = ctx.params;
  const listHref = `/${enc(org)}/monitoring`;
  const base = `${listHref}/${enc(conv)}`;
  document.title = `${conv} · voxtrace`;
  const crumbs = [{ label: 'Monitoring', href: listHref }, { label: conv }];
  const headerSlot = h('div', null, pageHeader(conv, { crumbs }));
  const body = h('div', null, loading('Loading conversation…'));
  replace(ctx.root, h('div', { className: 'page', dataset: { testid: 'conversation-page' } }, headerSlot, body));

  api(`/v1/conversations/${enc(conv)}`, { signal: ctx.signal }).then((resp) => {
    if (ctx.signal.aborted) return;
    const c = resp.conversation;
    const title = c.external_conversation_id || c.conversation_id;
    document.title = `${title} · voxtrace`;
    const actions = [];
    if (c.span_count > 0) {
      actions.push(link(`${base}/traces`, { className: 'btn btn-primary' }, 'View Traces'));
      actions.push(h('a', { className: 'btn', attrs: { href: `/v1/traces/export?conversation_id=${encodeURIComponent(c.conversation_id)}`, download: '' } },
        'Export OTLP JSON'));
    }
    replace(headerSlot, pageHeader(title, {
      crumbs: [{ label: 'Monitoring', href: listHref }, { label: title }],
      meta: [badge(c.status, 'conversation-status'),
        c.agent_id ? h('span', { className: 'muted' }, `Agent ${c.agent_id}`) : null,
        (c.tags || []).map((t) => h('span', { className: 'tag' }, t))].flat().filter(Boolean),
      actions,
    }));
    const grid = metricGrid(c.span_count || 0, `${base}/traces`);
    replace(body, h('div', { className: 'result-layout' },
      h('div', { className: 'result-main' }, grid.el, audioCard(c), transcriptPanel(c.transcript)),
      h('div', { className: 'result-side' },
        h('section', { className: 'card' },
          h('div', { className: 'card-head' }, h('h2', null, 'Details')),
          h('div', { className: 'card-body' }, facts([
            ['Conversation', h('span', { className: 'mono' }, c.conversation_id)],
            ['External id', c.external_conversation_id],
            ['Status', c.status],
            ['Agent', c.agent_id],
            ['Occurred', c.occurred_at ? fmtTime(c.occurred_at) : null],
            ['Spans', fmtNum(c.span_count || 0, 0)],
            ['Audio', c.has_audio ? 'yes' : 'no'],
            ['Created', fmtTime(c.create_time)],
            ['Updated', fmtTime(c.update_time)],
          ]))),
        metadataBlock(c.metadata),
        c.reference_transcript
          ? h('section', { className: 'card' },
            h('div', { className: 'card-head' }, h('h2', null, 'Reference transcript')),
            h('div', { className: 'card-body' }, h('p', { className: 'pre-wrap' }, c.reference_transcript)))
          : null)));
    api(`/v1/conversations/${enc(conv)}/metrics`, { signal: ctx.signal })
      .then((m) => { if (!ctx.signal.aborted) grid.setOutputs(m && m.metric_outputs); })
      .catch((err) => { if (!ctx.signal.aborted) grid.setError(err); });
  }).catch((err) => {
    if (ctx.signal.aborted) return;
    replace(body, errorBox(err));
  });
}
