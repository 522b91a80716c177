// Upload to Monitoring form: a transcript JSON file or an audio file (WAV/MP3), an optional
// "Traces (Optional)" OTLP JSON file (checked here to hold a resourceSpans array before sending),
// and optional details; posts multipart/form-data to POST /v1/conversations:upload.
//
// data-testids: upload-form, upload-transcript, upload-audio, upload-traces, upload-external-id,
// upload-agent-id, upload-reference, upload-metadata, upload-submit, upload-cancel, upload-error.

import { apiForm } from '/api.js';
import { h, replace, errorText } from '/dom.js';

// Read a file as text; resolves to its contents.
function readText(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error || new Error(`Could not read ${file.name}`));
    r.readAsText(file);
  });
}

// The first bytes of an audio file tell WAV (RIFF....WAVE) and MP3 (ID3 tag or an MPEG frame
// sync) apart from anything else, as the server checks them too.
async function sniffAudio(file) {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const ascii = (a, b) => String.fromCharCode(...head.slice(a, b));
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (head.length >= 3 && ascii(0, 3) === 'ID3') return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0) return 'mp3';
  return null;
}

function fileField(id, label, hint, accept, testid) {
  const input = h('input', { className: 'input-file', dataset: { testid }, attrs: { type: 'file', id, name: id, accept } });
  return {
    input,
    el: h('div', { className: 'field' },
      h('label', { className: 'label', attrs: { for: id } }, label),
      input,
      hint ? h('div', { className: 'hint' }, hint) : null),
  };
}

// openUpload(container, {signal, onDone(resp), onClose()}) -> {focus(), close()}
export function openUpload(container, opts) {
  const transcript = fileField('up-transcript', 'Transcript (JSON)',
    'An array of messages {role, content, start_time, end_time}, or {"transcript": [...]}.', '.json,application/json', 'upload-transcript');
  const audio = fileField('up-audio', 'Audio (WAV or MP3)', 'Optional when a transcript is given.', '.wav,.mp3,audio/wav,audio/x-wav,audio/mpeg', 'upload-audio');
  const traces = fileField('up-traces', 'Traces file (OTLP JSON)',
    'Must contain a resourceSpans array, e.g. a file from Export OTLP JSON or an OTLP JSON exporter.', '.json,application/json', 'upload-traces');
  const externalId = h('input', { className: 'input', dataset: { testid: 'upload-external-id' }, attrs: { id: 'up-ext', maxlength: 256, placeholder: 'call-8812' } });
  const agentId = h('input', { className: 'input', dataset: { testid: 'upload-agent-id' }, attrs: { id: 'up-agent', maxlength: 256, placeholder: 'pharmacy-bot' } });
  const reference = h('textarea', { className: 'input', dataset: { testid: 'upload-reference' },
    attrs: { id: 'up-ref', rows: 2, placeholder: 'What was actually said (ground truth for the audio word error rate)' } });
  const metadata = h('textarea', { className: 'input mono', dataset: { testid: 'upload-metadata' },
    attrs: { id: 'up-meta', rows: 2, placeholder: '{"store": "berlin-3"}' } });
  const errors = h('div', { className: 'form-errors', dataset: { testid: 'upload-error' } });
  const submit = h('button', { className: 'btn btn-primary', dataset: { testid: 'upload-submit' }, attrs: { type: 'submit' } }, 'Upload');
  const cancel = h('button', { className: 'btn', dataset: { testid: 'upload-cancel' }, attrs: { type: 'button' }, onclick: () => close() }, 'Cancel');
  let inFlight = null;

  const fail = (msg) => {
    replace(errors, h('div', { className: 'error-box', attrs: { role: 'alert' } }, msg));
    submit.disabled = false;
    submit.textContent = 'Upload';
  };

  async function onSubmit(ev) {
    ev.preventDefault();
    replace(errors);
    const tFile = transcript.input.files[0];
    const aFile = audio.input.files[0];
    const trFile = traces.input.files[0];
    if (!tFile && !aFile) return fail('Add a transcript file or an audio file.');
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      if (tFile) {
        try { JSON.parse(await readText(tFile)); } catch (_) { return fail(`The transcript file ${tFile.name} is not valid JSON.`); }
      }
      if (aFile && !(await sniffAudio(aFile))) return fail(`The audio file ${aFile.name} is neither WAV nor MP3.`);
      if (trFile) {
        let doc;
        try { doc = JSON.parse(await readText(trFile)); } catch (_) { return fail(`The traces file ${trFile.name} is not valid JSON.`); }
        if (!doc || typeof doc !== 'object' || !Array.isArray(doc.resourceSpans)) {
          return fail(`The traces file ${trFile.name} must be OTLP JSON with a top-level resourceSpans array.`);
        }
      }
      const meta = metadata.value.trim();
      if (meta) {
        let m;
        try { m = JSON.parse(meta); } catch (_) { return fail('Metadata must be a JSON object.'); }
        if (!m || typeof m !== 'object' || Array.isArray(m)) return fail('Metadata must be a JSON object.');
      }
      const fd = new FormData();
      if (tFile) fd.append('transcript', tFile, tFile.name);
      if (aFile) fd.append('audio', aFile, aFile.name);
      if (trFile) fd.append('traces', trFile, trFile.name);
      if (meta) fd.append('metadata', meta);
      if (reference.value.trim()) fd.append('reference_transcript', reference.value.trim());
      if (externalId.value.trim()) fd.append('external_conversation_id', externalId.value.trim());
      if (agentId.value.trim()) fd.append('agent_id', agentId.value.trim());
      submit.textContent = 'Uploading…';
      inFlight = new AbortController();
      const resp = await apiForm('/v1/conversations:upload', fd, { signal: inFlight.signal });
      inFlight = null;
      if (opts.signal && opts.signal.aborted) return;
      opts.onDone(resp);
    } catch (err) {
      inFlight = null;
      if (opts.signal && opts.signal.aborted) return;
      if (err && err.name === 'AbortError') return;
      fail(errorText(err));
    }
  }

  const form = h('form', { className: 'card upload-card', dataset: { testid: 'upload-form' }, attrs: { novalidate: true }, onsubmit: onSubmit },
    h('div', { className: 'card-head' }, h('h2', null, 'Upload to Monitoring'),
      h('button', { className: 'btn-icon', attrs: { type: 'button', 'aria-label': 'Close' }, onclick: () => close() }, '×')),
    h('div', { className: 'card-body' },
      h('p', { className: 'muted small' }, 'Add an audio file or a transcript, and optionally the call\'s traces. ',
        'The conversation and its traces are submitted together.'),
      h('div', { className: 'form-grid' },
        h('fieldset', { className: 'fieldset' }, h('legend', null, 'Conversation'), transcript.el, audio.el),
        h('fieldset', { className: 'fieldset' }, h('legend', null, 'Traces (Optional)'), traces.el),
        h('fieldset', { className: 'fieldset' }, h('legend', null, 'Details (Optional)'),
          h('div', { className: 'field' }, h('label', { className: 'label', attrs: { for: 'up-ext' } }, 'External conversation id'), externalId),
          h('div', { className: 'field' }, h('label', { className: 'label', attrs: { for: 'up-agent' } }, 'Agent id'), agentId),
          h('div', { className: 'field' }, h('label', { className: 'label', attrs: { for: 'up-ref' } }, 'Reference transcript'), reference),
          h('div', { className: 'field' }, h('label', { className: 'label', attrs: { for: 'up-meta' } }, 'Metadata (JSON object)'), metadata))),
      errors),
    h('div', { className: 'card-foot form-actions' }, cancel, submit));

  replace(container, form);
  transcript.input.focus();

  function close() {
    if (inFlight) inFlight.abort();
    replace(container);
    opts.onClose();
  }
  return { focus: () => transcript.input.focus(), close };
}
