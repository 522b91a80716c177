// Metrics page: every metric of the org plus the built-ins (GET /v1/metrics?include_builtin=true),
// a form to create a metric (custom trace metric by default: span name, value source, attribute,
// aggregation, unit, optional target condition; or one of the word error rate types), and delete
// for custom metrics (two-step, no browser dialog).
//
// data-testids: metric-form, metric-form-name, metric-form-description, metric-form-type,
// metric-form-span-name, metric-form-source, metric-form-attribute, metric-form-aggregation,
// metric-form-unit, metric-form-operator, metric-form-target, metric-form-submit,
// metric-form-error, metrics-table, metric-row (data-metric-id, data-builtin), metric-delete,
// metric-delete-confirm, builtin-badge, plus pager/loading/empty/error.

import { api } from '/api.js';
import { h, replace, fmtTime, errorBox, loading, empty, errorText } from '/dom.js';
import { pageHeader, tokenPager } from '/views/parts.js';

const AGGREGATIONS = [
  ['average', 'Average'], ['median', 'Median'], ['p90', 'p90'], ['p95', 'p95'], ['p99', 'p99'],
  ['max', 'Max'], ['min', 'Min'], ['sum', 'Sum'], ['count', 'Count of spans'],
  ['error_rate', 'Error rate (spans with status ERROR)'], ['success_rate', 'Success rate (spans without ERROR)'],
];
// Aggregations over span statuses or span counts need no attribute.
const NO_ATTRIBUTE = new Set(['count', 'error_rate', 'success_rate']);
const UNITS = [['', '(default)'], ['s', 's'], ['ms', 'ms'], ['count', 'count'], ['ratio', 'ratio'],
  ['percent', 'percent'], ['tokens', 'tokens'], ['score', 'score']];
const OPERATORS = [['', 'No target'], ['eq', '= (eq)'], ['neq', '≠ (neq)'], ['gt', '> (gt)'], ['gte', '≥ (gte)'],
  ['lt', '< (lt)'], ['lte', '≤ (lte)'], ['in', 'in (one of)'], ['nin', 'not in (none of)']];
const OP_SYMBOL = { eq: '=', neq: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤', in: 'in', nin: 'not in' };
const TYPES = [['METRIC_CUSTOM_TRACE', 'Custom trace metric'], ['METRIC_STT_WER', 'STT word error rate'],
  ['METRIC_STT_WER_AUDIO_UPLOAD', 'STT word error rate (audio upload)']];
const TYPE_LABEL = Object.fromEntries(TYPES);

function select(id, options, testid, value) {
  return h('select', { className: 'input', dataset: { testid }, attrs: { id, name: id } },
    options.map(([v, label]) => h('option', { attrs: { value: v }, selected: v === value }, label)));
}
function field(label, id, control, hint) {
  return h('div', { className: 'field' }, h('label', { className: 'label', attrs: { for: id } }, label), control,
    hint ? h('div', { className: 'hint' }, hint) : null);
}

function isBuiltin(m) {
  return !!(m.builtin || m.is_builtin);
}

// A one-line description of what a metric computes, built from its fields.
function definition(m) {
  if (m.metric_type !== 'METRIC_CUSTOM_TRACE') return TYPE_LABEL[m.metric_type] || m.metric_type || '';
  const raw = Array.isArray(m.span_names) ? m.span_names.join(' | ') : (m.span_name || '?');
  const names = raw === '*' ? 'all' : raw;
  const src = m.value_source === 'duration' ? 'duration' : (m.metric_attribute || '');
  const agg = m.aggregation_method || '';
  return NO_ATTRIBUTE.has(agg) ? `${agg} of ${names} spans` : `${agg}(${src}) over ${names} spans`;
}

function targetText(t) {
  if (!t || !t.comparison_operator) return '';
  const v = Array.isArray(t.target_values) ? `[${t.target_values.join(', ')}]` : t.target_float;
  return `${OP_SYMBOL[t.comparison_operator] || t.comparison_operator} ${v}`;
}

export function render(ctx) {
  document.title = 'Metrics · voxtrace';
  const listBody = h('div', { className: 'table-wrap' }, loading('Loading metrics…'));

  const pager = tokenPager({
    signal: ctx.signal,
    load: (token) => api('/v1/metrics', { query: { include_builtin: 'true', page_size: 100, page_token: token }, signal: ctx.signal }),
    onError: (err) => replace(listBody, errorBox(err)),
    onPage: (resp) => renderList((resp && resp.metrics) || []),
  });

  function renderList(metrics) {
    if (metrics.length === 0) {
      replace(listBody, empty('No metrics yet.'));
      return;
    }
    replace(listBody, h('table', { className: 'table', dataset: { testid: 'metrics-table' } },
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Type'), h('th', null, 'Computes'),
        h('th', null, 'Unit'), h('th', null, 'Target'), h('th', null, 'Created'), h('th', null, ''))),
      h('tbody', null, metrics.map((m) => {
        const builtin = isBuiltin(m);
        return h('tr', { dataset: { testid: 'metric-row', metricId: m.metric_id, builtin: builtin ? 'true' : 'false' } },
          h('td', null,
            h('div', { className: 'cell-name' }, m.metric_name || m.metric_id,
              builtin ? h('span', { className: 'tag', dataset: { testid: 'builtin-badge' } }, 'built-in') : null),
            h('div', { className: 'muted small mono' }, m.metric_id),
            m.description ? h('div', { className: 'muted small' }, m.description) : null),
          h('td', { className: 'nowrap' }, TYPE_LABEL[m.metric_type] || m.metric_type || ''),
          h('td', { className: 'mono small' }, definition(m)),
          h('td', null, m.unit || h('span', { className: 'muted' }, '—')),
          h('td', { className: 'nowrap' }, targetText(m.target_condition) || h('span', { className: 'muted' }, '—')),
          h('td', { className: 'nowrap muted' }, m.create_time ? fmtTime(m.create_time) : ''),
          h('td', { className: 'row-actions' }, builtin ? null : deleteControl(m)));
      }))));
  }

  function deleteControl(m) {
    const wrap = h('span', { className: 'delete-ctl' });
    const start = h('button', { className: 'btn btn-sm btn-danger-ghost', dataset: { testid: 'metric-delete' }, attrs: { type: 'button' },
      onclick: () => replace(wrap,
        h('span', { className: 'small' }, 'Delete? '),
        h('button', { className: 'btn btn-sm btn-danger', dataset: { testid: 'metric-delete-confirm' }, attrs: { type: 'button' },
          onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try {
              await api(`/v1/metrics/${encodeURIComponent(m.metric_id)}`, { method: 'DELETE', signal: ctx.signal });
              if (!ctx.signal.aborted) pager.reload();
            } catch (err) {
              if (!ctx.signal.aborted) replace(wrap, h('span', { className: 'text-failed small' }, errorText(err)), start);
            }
          } }, 'Delete'),
        h('button', { className: 'btn btn-sm', attrs: { type: 'button' }, onclick: () => replace(wrap, start) }, 'Keep')) }, 'Delete');
    return replace(wrap, start);
  }

  // The create form.
  const name = h('input', { className: 'input', dataset: { testid: 'metric-form-name' }, attrs: { id: 'mf-name', maxlength: 256, required: true, placeholder: 'LLM p95 latency' } });
  const description = h('input', { className: 'input', dataset: { testid: 'metric-form-description' }, attrs: { id: 'mf-desc', maxlength: 4096, placeholder: 'Optional' } });
  const type = select('mf-type', TYPES, 'metric-form-type', 'METRIC_CUSTOM_TRACE');
  const spanName = h('input', { className: 'input mono', dataset: { testid: 'metric-form-span-name' }, attrs: { id: 'mf-span', maxlength: 1024, placeholder: 'llm' } });
  const source = select('mf-source', [['attribute', 'Attribute value'], ['duration', 'Span duration (seconds)']], 'metric-form-source', 'attribute');
  const attribute = h('input', { className: 'input mono', dataset: { testid: 'metric-form-attribute' }, attrs: { id: 'mf-attr', maxlength: 1024, placeholder: 'metrics.ttfb' } });
  const aggregation = select('mf-agg', AGGREGATIONS, 'metric-form-aggregation', 'average');
  const unit = select('mf-unit', UNITS, 'metric-form-unit', '');
  const operator = select('mf-op', OPERATORS, 'metric-form-operator', '');
  const target = h('input', { className: 'input', dataset: { testid: 'metric-form-target' }, attrs: { id: 'mf-target', placeholder: '1.5' } });
  const errors = h('div', { className: 'form-errors', dataset: { testid: 'metric-form-error' } });
  const submit = h('button', { className: 'btn btn-primary', dataset: { testid: 'metric-form-submit' }, attrs: { type: 'submit' } }, 'Create metric');

  const traceFields = h('div', { className: 'form-row' },
    field('Span name', 'mf-span', spanName, 'Exact name, or a prefix ending in * (stt.provider.*).'),
    field('Value source', 'mf-source', source),
    field('Attribute', 'mf-attr', attribute, 'Numeric attribute (numbers or numeric strings).'),
    field('Aggregation', 'mf-agg', aggregation));
  const targetField = field('Target value', 'mf-target', target, 'A number; for in / not in, numbers separated by commas.');

  function syncForm() {
    const custom = type.value === 'METRIC_CUSTOM_TRACE';
    traceFields.hidden = !custom;
    const needsAttr = source.value === 'attribute' && !NO_ATTRIBUTE.has(aggregation.value);
    attribute.disabled = !custom || source.value === 'duration';
    attribute.required = custom && needsAttr;
    targetField.hidden = operator.value === '';
  }
  for (const el of [type, source, aggregation, operator]) el.addEventListener('change', syncForm);

  function fail(msg) {
    replace(errors, h('div', { className: 'error-box', attrs: { role: 'alert' } }, msg));
  }

  const form = h('form', {
    className: 'card', dataset: { testid: 'metric-form' }, attrs: { novalidate: true },
    onsubmit: async (ev) => {
      ev.preventDefault();
      replace(errors);
      const body = { metric_name: name.value.trim(), metric_type: type.value };
      if (!body.metric_name) return fail('Give the metric a name.');
      if (description.value.trim()) body.description = description.value.trim();
      if (type.value === 'METRIC_CUSTOM_TRACE') {
        body.span_name = spanName.value.trim();
        if (!body.span_name) return fail('Enter the span name the metric reads.');
        body.value_source = source.value;
        body.aggregation_method = aggregation.value;
        if (source.value === 'attribute' && attribute.value.trim()) body.metric_attribute = attribute.value.trim();
        if (source.value === 'attribute' && !NO_ATTRIBUTE.has(aggregation.value) && !body.metric_attribute) {
          return fail('Enter the attribute that holds the value (e.g. metrics.ttfb), or use the span duration.');
        }
      }
      if (unit.value) body.unit = unit.value;
      if (operator.value) {
        const raw = target.value.trim();
        if (operator.value === 'in' || operator.value === 'nin') {
          const vals = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
          if (!vals.length || vals.some((v) => !Number.isFinite(v))) return fail('Target values must be numbers separated by commas.');
          body.target_condition = { comparison_operator: operator.value, target_values: vals };
        } else {
          const v = Number(raw);
          if (raw === '' || !Number.isFinite(v)) return fail('The target value must be a number.');
          body.target_condition = { comparison_operator: operator.value, target_float: v };
        }
      }
      submit.disabled = true;
      try {
        const resp = await api('/v1/metrics', { method: 'POST', body, signal: ctx.signal });
        if (ctx.signal.aborted) return;
        form.reset();
        syncForm();
        replace(errors, h('div', { className: 'ok-box', attrs: { role: 'status' } },
          `Created metric ${(resp && resp.metric && resp.metric.metric_name) || body.metric_name}.`));
        pager.first();
      } catch (err) {
        if (!ctx.signal.aborted) fail(errorText(err));
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('div', { className: 'card-head' }, h('h2', null, 'Create a metric')),
  h('div', { className: 'card-body' },
    h('div', { className: 'form-row' },
      field('Name', 'mf-name', name),
      field('Description', 'mf-desc', description),
      field('Type', 'mf-type', type)),
    traceFields,
    h('div', { className: 'form-row' },
      field('Unit', 'mf-unit', unit),
      field('Target condition', 'mf-op', operator, 'A target makes the metric PASS or FAIL per call.'),
      targetField),
    errors),
  h('div', { className: 'card-foot form-actions' }, submit));
  syncForm();

  replace(ctx.root, h('div', { className: 'page' },
    pageHeader('Metrics', { meta: [h('span', { className: 'muted' }, 'Computed from each call\'s spans when read')] }),
    h('section', { className: 'card' }, listBody, h('div', { className: 'card-foot' }, pager.el)),
    form));
  pager.first();
}
