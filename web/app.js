// The app shell: session gate, client-side router on the History API, and the org-scoped nav.
//
// data-testids: app-header, nav-runs, nav-monitoring, nav-metrics, org-name, sign-out, flash (with
// flash-message inside), not-found (unknown route or another org's URL).
//
// A view module exports render(ctx) and may return {destroy(), update(ctx)}. When only the query
// string of the current path changes (e.g. ?view=hotspots), update(ctx) is called instead of a
// fresh render, so a view keeps what it already loaded. ctx holds:
//   root      the element to render into (cleared before render)
//   params    route parameters ({org, run, sim, conv})
//   query     URLSearchParams of the current URL
//   session   {org:{slug,name}, scopes}
//   signal    AbortSignal aborted when the view is left; pass it to api() and check it after awaits
//   navigate(url, {replace})  change route
//   setQuery(obj)  replace query parameters in the URL without re-rendering (null deletes a key)
//   flash(message) show a one-line notice on the next rendered page

import { api, onUnauthorized } from '/api.js';
import { h, link, replace, errorBox, loading, enc } from '/dom.js';
import * as signinView from '/views/signin.js';
import * as runsView from '/views/runs.js';
import * as runView from '/views/run.js';
import * as resultView from '/views/result.js';
import * as tracesView from '/views/traces.js';
import * as monitoringView from '/views/monitoring.js';
import * as conversationView from '/views/conversation.js';
import * as metricsView from '/views/metrics.js';

const app = document.getElementById('app');

let session = null;         // the signed-in session, or null
let current = null;         // {path, handle, controller} of the rendered view
let pendingFlash = null;    // message for the next rendered page
let renderSeq = 0;          // guards against an older async route() finishing after a newer one

// Routes, tried in order. Segments are matched literally, ':name' captures one segment.
const ROUTES = [
  { pattern: [':org', 'runs'], view: runsView, nav: 'runs' },
  { pattern: [':org', 'runs', ':run'], view: runView, nav: 'runs' },
  { pattern: [':org', 'runs', ':run', 'results', ':sim'], view: resultView, nav: 'runs' },
  { pattern: [':org', 'runs', ':run', 'results', ':sim', 'traces'], view: tracesView, nav: 'runs', full: true },
  { pattern: [':org', 'monitoring'], view: monitoringView, nav: 'monitoring' },
  { pattern: [':org', 'monitoring', ':conv'], view: conversationView, nav: 'monitoring' },
  { pattern: [':org', 'monitoring', ':conv', 'traces'], view: tracesView, nav: 'monitoring', full: true },
  { pattern: [':org', 'metrics'], view: metricsView, nav: 'metrics' },
];

function matchRoute(pathname) {
  const segs = pathname.split('/').filter(Boolean).map((s) => {
    try { return decodeURIComponent(s); } catch (_) { return s; }
  });
  for (const r of ROUTES) {
    if (r.pattern.length !== segs.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < segs.length; i++) {
      const p = r.pattern[i];
      if (p.startsWith(':')) params[p.slice(1)] = segs[i];
      else if (p !== segs[i]) { ok = false; break; }
    }
    if (ok) return { route: r, params };
  }
  return { route: null, params: {}, segs };
}

function navigate(url, opts = {}) {
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route();
}

function setQuery(obj) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined || v === '') u.searchParams.delete(k);
    else u.searchParams.set(k, String(v));
  }
  history.replaceState(null, '', u.pathname + u.search + u.hash);
  if (current) current.search = u.search;
}

function flash(message) {
  pendingFlash = message;
}

async function loadSession() {
  try {
    const s = await api('/v1/sessions');
    session = s && s.org && s.org.slug ? s : null;
  } catch (err) {
    if (err.status === 401) session = null;
    else throw err;
  }
}

function leaveCurrent() {
  if (!current) return;
  current.controller.abort();
  if (current.handle && typeof current.handle.destroy === 'function') {
    try { current.handle.destroy(); } catch (err) { console.warn('view destroy failed', err); }
  }
  current = null;
}

function header(navKey) {
  const org = session.org;
  const base = `/${enc(org.slug)}`;
  const item = (key, label, href) => link(href, {
    className: 'nav-link' + (key === navKey ? ' active' : ''),
    dataset: { testid: `nav-${key}` },
  }, label);
  return h('header', { className: 'app-header', dataset: { testid: 'app-header' } },
    link(`${base}/runs`, { className: 'brand' }, h('span', { className: 'brand-mark' }), 'voxtrace'),
    h('nav', { className: 'nav' },
      item('runs', 'Runs', `${base}/runs`),
      item('monitoring', 'Monitoring', `${base}/monitoring`),
      item('metrics', 'Metrics', `${base}/metrics`)),
    h('div', { className: 'header-right' },
      h('span', { className: 'org-name', dataset: { testid: 'org-name' }, attrs: { title: org.slug } },
        org.name || org.slug),
      h('button', {
        className: 'btn btn-ghost btn-sm', dataset: { testid: 'sign-out' }, attrs: { type: 'button' },
        onclick: signOut,
      }, 'Sign out')));
}

async function signOut() {
  try {
    await api('/v1/sessions', { method: 'DELETE' });
  } catch (err) {
    // Even if the server could not be told, the UI forgets the session; the cookie expires on its own.
    console.warn('sign out failed', err);
  }
  session = null;
  navigate('/');
}

function notFound(message, home) {
  return h('div', { className: 'page' },
    h('div', { className: 'empty big', dataset: { testid: 'not-found' } },
      h('h2', null, 'Not found'),
      h('p', null, message),
      home && link(home, { className: 'btn' }, 'Go to runs')));
}

function shell(navKey, full) {
  const main = h('main', { className: full ? 'main main-full' : 'main' });
  const children = [header(navKey)];
  if (pendingFlash) {
    const msg = pendingFlash;
    pendingFlash = null;
    const bar = h('div', { className: 'flash', dataset: { testid: 'flash' }, attrs: { role: 'status' } },
      h('span', { dataset: { testid: 'flash-message' } }, msg),
      h('button', { className: 'btn-icon', attrs: { type: 'button', 'aria-label': 'Dismiss' },
        onclick: () => bar.remove() }, '×'));
    children.push(bar);
  }
  children.push(main);
  replace(app, children);
  document.body.classList.toggle('is-full', !!full);
  return main;
}

async function route() {
  const seq = ++renderSeq;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);

  // Same path, different query: let the view update itself when it can.
  if (current && current.path === path && current.handle && typeof current.handle.update === 'function') {
    if (current.search !== location.search) {
      current.search = location.search;
      current.ctx.query = query;
      current.handle.update(current.ctx);
    }
    return;
  }
  leaveCurrent();

  if (session === null) {
    try {
      await loadSession();
    } catch (err) {
      if (seq !== renderSeq) return;
      replace(app, h('div', { className: 'page' }, errorBox(err)));
      return;
    }
    if (seq !== renderSeq) return;
  }

  if (!session) {
    document.body.classList.remove('is-full');
    const controller = new AbortController();
    const next = path === '/' ? '' : path + location.search;
    const root = h('div', { className: 'signin-wrap' });
    replace(app, root);
    const ctx = {
      root, params: {}, query, session: null, signal: controller.signal, navigate, setQuery, flash,
      next, onSignedIn: (s) => { session = s; },
    };
    current = { path, search: location.search, controller, ctx, handle: signinView.render(ctx) };
    return;
  }

  const slug = session.org.slug;
  if (path === '/' || path === '') {
    navigate(`/${enc(slug)}/runs`, { replace: true });
    return;
  }
  const { route: r, params, segs } = matchRoute(path);
  if (!r) {
    // /<org> alone goes to that org's runs; anything else is unknown.
    if (segs && segs.length === 1 && segs[0] === slug) {
      navigate(`/${enc(slug)}/runs`, { replace: true });
      return;
    }
    const main = shell(null, false);
    main.appendChild(notFound('There is no page at this address.', `/${enc(slug)}/runs`));
    document.title = 'Not found · voxtrace';
    return;
  }
  if (params.org !== slug) {
    const main = shell(null, false);
    main.appendChild(notFound(`Organization "${params.org}" was not found.`, `/${enc(slug)}/runs`));
    document.title = 'Not found · voxtrace';
    return;
  }

  const main = shell(r.nav, r.full);
  const controller = new AbortController();
  const ctx = { root: main, params, query, session, signal: controller.signal, navigate, setQuery, flash };
  current = { path, search: location.search, controller, ctx, handle: null };
  try {
    const handle = r.view.render(ctx);
    if (current && current.ctx === ctx) current.handle = handle || null;
  } catch (err) {
    console.error(err);
    replace(main, h('div', { className: 'page' }, errorBox(err)));
  }
}

// Clicks on same-origin links become in-app navigations, unless the user asked for a new tab or
// a download, or the link leaves the app (API downloads such as /v1/traces/export).
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname === '/healthz') return;
  ev.preventDefault();
  if (url.pathname + url.search + url.hash === location.pathname + location.search + location.hash) return;
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => route());

// A 401 on any request means the session ended: go back to sign-in, then return here.
onUnauthorized(() => {
  if (!session) return;
  session = null;
  leaveCurrent();
  route();
});

replace(app, loading());
route();
