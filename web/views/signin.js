// Sign-in page: exchanges an API key for a session cookie (POST /v1/sessions).
//
// data-testids: signin-form, api-key-input, signin-submit, error (from dom.errorBox).

import { api } from '/api.js';
import { h, replace, errorBox, enc } from '/dom.js';

export function render(ctx) {
  document.title = 'Sign in · voxtrace';
  const input = h('input', {
    className: 'input', dataset: { testid: 'api-key-input' },
    attrs: { type: 'password', name: 'api_key', id: 'api-key', autocomplete: 'current-password',
      placeholder: 'vt_…', required: true, spellcheck: 'false' },
  });
  const submit = h('button', { className: 'btn btn-primary btn-block', dataset: { testid: 'signin-submit' },
    attrs: { type: 'submit' } }, 'Sign in');
  const errors = h('div', { className: 'form-errors' });

  const form = h('form', {
    className: 'signin-card', dataset: { testid: 'signin-form' }, attrs: { novalidate: true },
    onsubmit: async (ev) => {
      ev.preventDefault();
      const key = input.value.trim();
      if (!key) {
        replace(errors, errorBox(new Error('Enter an API key.')));
        input.focus();
        return;
      }
      submit.disabled = true;
      submit.textContent = 'Signing in…';
      replace(errors);
      try {
        const s = await api('/v1/sessions', { method: 'POST', body: { api_key: key } });
        if (ctx.signal.aborted) return;
        ctx.onSignedIn(s);
        const dest = ctx.next && ctx.next.startsWith('/') && !ctx.next.startsWith('//')
          ? ctx.next : `/${enc(s.org.slug)}/runs`;
        ctx.navigate(dest, { replace: true });
      } catch (err) {
        if (ctx.signal.aborted) return;
        const e = err.status === 401
          ? new Error('That API key is not valid (unknown or revoked).') : err;
        replace(errors, errorBox(e));
        submit.disabled = false;
        submit.textContent = 'Sign in';
        input.select();
      }
    },
  },
  h('div', { className: 'signin-brand' }, h('span', { className: 'brand-mark' }), 'voxtrace'),
  h('h1', null, 'Sign in'),
  h('p', { className: 'muted' }, 'Use an API key of your organization. ',
    'Create one with ', h('code', null, 'voxtrace keys create --org SLUG'), '.'),
  h('label', { className: 'label', attrs: { for: 'api-key' } }, 'API key'),
  input,
  errors,
  submit);

  replace(ctx.root, form);
  input.focus();
}
