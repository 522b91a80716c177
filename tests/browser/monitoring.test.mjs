// Monitoring and Upload to Monitoring (the seed's "Uploading Traces via the Dashboard"): a transcript
// file and an OTLP JSON traces file go in through the form, and the conversation page then shows the
// transcript and the OTel Traces card, whose viewer holds exactly the uploaded spans. Takes the
// monitoring screenshot (the list with the upload form open and filled in).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo, launchBrowser, openPage, signInByApi, screenshot, textOf, rowCount, waitForViewer, num, until,
} from './lib/browser.mjs';
import { span, otlpRequest, hex, nowNs, MS, ULID } from '../integration/lib/otlp_json.mjs';

// A short call: the transcript, and its trace (conversation > turns > stt / llm / tool / tts).
function uploadedCall() {
  const transcript = [
    { role: 'assistant', content: 'Thanks for calling Bright Smile Dental. How can I help?', start_time: 0.2, end_time: 2.9 },
    { role: 'user', content: 'Can I move my <b>Friday</b> appointment?', start_time: 3.4, end_time: 5.8 },
    { role: 'assistant', content: 'Done: you are now booked for Monday at 10.', start_time: 7.1, end_time: 9.6 },
  ];
  const traceId = hex(16);
  const t0 = nowNs() - 60_000n * MS;
  const at = (ms) => t0 + BigInt(ms) * MS;
  const root = span({ traceId, name: 'conversation', start: at(0), end: at(10_000) });
  const turn1 = span({ traceId, parentSpanId: root.spanId, name: 'turn', start: at(0), end: at(3_000) });
  const turn2 = span({ traceId, parentSpanId: root.spanId, name: 'turn', start: at(3_300), end: at(9_800) });
  const spans = [
    root, turn1, turn2,
    span({ traceId, parentSpanId: turn1.spanId, name: 'tts', start: at(150), end: at(2_900) }),
    span({ traceId, parentSpanId: turn2.spanId, name: 'stt', start: at(3_300), end: at(6_000),
      attributes: { transcript: 'Can I move my Friday appointment?' } }),
    span({ traceId, parentSpanId: turn2.spanId, name: 'llm', start: at(6_050), end: at(6_900),
      attributes: { 'gen_ai.usage.input_tokens': 812, 'gen_ai.usage.output_tokens': 41 } }),
    span({ traceId, parentSpanId: turn2.spanId, name: 'llm_tool_call', start: at(6_900), end: at(7_000),
      status: 'ERROR', message: 'calendar busy', attributes: { 'tool.name': 'reschedule' } }),
    span({ traceId, parentSpanId: turn2.spanId, name: 'tts', start: at(7_050), end: at(9_600) }),
  ];
  return { transcript, spans, traces: otlpRequest(spans, { resource: { 'service.name': 'front-desk-agent' } }) };
}

const jsonFile = (name, value) => ({ name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(value)) });

describe('monitoring and Upload to Monitoring', () => {
  let demo;
  let browser;

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (demo) await demo.server.stop();
  });

  test('upload a transcript and a traces file, then see the conversation and its traces', async () => {
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      const before = (await demo.api.get('/v1/conversations?page_size=100')).json.conversations;
      assert.ok(before.length > 0, 'the demo has monitored conversations');

      await page.goto('/default/monitoring');
      await page.getByTestId('conversations-table').waitFor();
      assert.equal(await page.getByTestId('conversation-row').count(), Math.min(before.length, 50));

      await page.getByTestId('upload-button').click();
      await page.getByTestId('upload-form').waitFor();
      const call = uploadedCall();
      const externalId = 'CA-browser-upload-1';
      await page.getByTestId('upload-transcript').setInputFiles(jsonFile('call-transcript.json', call.transcript));
      await page.getByTestId('upload-traces').setInputFiles(jsonFile('call-traces.json', call.traces));
      await page.getByTestId('upload-external-id').fill(externalId);
      await page.getByTestId('upload-agent-id').fill('front-desk-agent');
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      await screenshot(page, 'monitoring-upload');
      await page.getByTestId('upload-submit').click();

      // The conversation page, with a notice of what was stored.
      await page.waitForURL(/\/default\/monitoring\/[0-9A-HJKMNP-TV-Z]{26}$/);
      const convId = new URL(page.url()).pathname.split('/').pop();
      assert.match(convId, ULID);
      assert.match(await textOf(page, 'flash-message'), new RegExp(`${call.spans.length} spans stored`));
      await page.getByTestId('conversation-page').waitFor();
      assert.equal(await textOf(page, 'page-title'), externalId);

      // What the API stored is what the form sent.
      const conv = (await demo.api.get(`/v1/conversations/${convId}`)).json.conversation;
      assert.equal(conv.external_conversation_id, externalId);
      assert.equal(conv.agent_id, 'front-desk-agent');
      assert.equal(conv.span_count, call.spans.length);
      assert.deepEqual(conv.transcript.map((m) => m.content), call.transcript.map((m) => m.content));

      // Transcript, as text (the markup in a message stays characters).
      await page.getByTestId('transcript').waitFor();
      const messages = await page.getByTestId('transcript-message').evaluateAll((els) =>
        els.map((e) => [e.dataset.role, e.querySelector('.msg-text').textContent]));
      assert.deepEqual(messages, call.transcript.map((m) => [m.role, m.content]));
      assert.equal(await page.getByTestId('transcript').locator('b').count(), 0);

      // OTel Traces card -> the viewer on the uploaded spans.
      assert.equal(await textOf(page, 'otel-span-count'), num(call.spans.length));
      await page.getByTestId('view-traces').click();
      await page.waitForURL(`**/default/monitoring/${convId}/traces`);
      await waitForViewer(page);
      assert.equal(await rowCount(page), call.spans.length);
      const ids = await until(async () => {
        const got = await page.locator('[data-testid="waterfall-row"]:visible').evaluateAll((els) => els.map((e) => e.dataset.spanId));
        return got.length === call.spans.length ? got : null;
      }, 'every uploaded span to be rendered');
      assert.deepEqual(new Set(ids), new Set(call.spans.map((s) => s.spanId)));
      assert.equal(await textOf(page, 'summary-error-count'), '1');

      // The Monitoring list has it now, with its span count.
      await page.getByTestId('nav-monitoring').click();
      await page.waitForURL('**/default/monitoring');
      const row = page.locator(`[data-testid="conversation-row"][data-conversation-id="${convId}"]`);
      await row.waitFor();
      assert.equal((await row.getByTestId('conversation-span-count').textContent()).trim(), num(call.spans.length));
      assert.equal(await page.getByTestId('conversation-row').count(), Math.min(before.length + 1, 50));
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('a traces file without resourceSpans is refused in the form and nothing is created', async () => {
    const { context, page, problems } = await openPage(browser, demo.server);
    try {
      await signInByApi(context, demo.key);
      const count = async () => (await demo.api.get('/v1/conversations?page_size=100')).json.conversations.length;
      const n0 = await count();
      await page.goto('/default/monitoring?upload=1');
      await page.getByTestId('upload-form').waitFor();
      const call = uploadedCall();
      await page.getByTestId('upload-transcript').setInputFiles(jsonFile('t.json', call.transcript));
      await page.getByTestId('upload-traces').setInputFiles(jsonFile('not-otlp.json', { spans: call.spans }));
      await page.getByTestId('upload-submit').click();
      assert.match(await textOf(page, 'upload-error'), /not-otlp\.json must be OTLP JSON with a top-level resourceSpans array/);
      assert.equal(new URL(page.url()).pathname, '/default/monitoring');
      assert.equal(await count(), n0);

      // Cancel closes the form and brings the button back.
      await page.getByTestId('upload-cancel').click();
      assert.equal(await page.getByTestId('upload-form').count(), 0);
      assert.ok(await page.getByTestId('upload-button').isEnabled());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
