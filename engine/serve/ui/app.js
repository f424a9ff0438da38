// The web view's shell: the session (sign in, sign out), the header, and the routes.
import { h, clear } from './dom.js';
import * as api from './api.js';
import { renderExecutions } from './executions.js';
import { renderExecution } from './execution.js';
import { renderFlows, renderFlow } from './flows.js';
import { renderActions, renderAction, renderConnections, renderHooks, renderSchedules } from './admin.js';

const RANKS = { viewer: 1, operator: 2, admin: 3 };
const main = document.getElementById('main');
const header = document.getElementById('top');
let user = null; // {name, role, csrf}
let cleanup = null;
let sessionNote = '';

const ctx = {
  get user() {
    return user;
  },
  // Whether the signed-in token's role is at least `role` (the server decides; this only hides buttons).
  can(role) {
    return Boolean(user) && (RANKS[user.role] || 0) >= (RANKS[role] || 99);
  },
  title(text) {
    document.title = text ? `${text} · spokeflow` : 'spokeflow';
  },
};

function parseRoute() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query };
}

const routes = {
  executions: (r) => (r.parts.length > 1 ? renderExecution(main, r.parts[1], ctx) : renderExecutions(main, r.query, ctx)),
  flows: (r) => (r.parts.length > 1 ? renderFlow(main, r.parts[1], ctx) : renderFlows(main, ctx)),
  actions: (r) => (r.parts.length > 1 ? renderAction(main, r.parts[1], ctx) : renderActions(main, ctx)),
  connections: () => renderConnections(main, ctx),
  hooks: () => renderHooks(main, ctx),
  schedules: () => renderSchedules(main, ctx),
};

function stopPage() {
  if (typeof cleanup === 'function') {
    try {
      cleanup();
    } catch {
      /* a page's cleanup must not stop the next page */
    }
  }
  cleanup = null;
}

function showRoute(focus = true) {
  stopPage();
  if (!user) return;
  const r = parseRoute();
  const section = r.parts[0] || 'executions';
  const render = routes[section];
  for (const a of header.querySelectorAll('[data-section]')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(main);
  if (!render) {
    ctx.title('Not found');
    main.append(h('h1', { text: 'Not found' }), h('p', {}, 'There is no page here. ', h('a', { href: '#/executions', text: 'Executions' })));
    return;
  }
  cleanup = render(r) || null;
  if (focus) main.focus({ preventScroll: true });
}

function showHeader() {
  header.hidden = !user;
  document.getElementById('who-name').textContent = user ? user.name : '';
  const role = document.getElementById('who-role');
  role.textContent = user ? user.role : '';
  role.className = 'role role-' + (user ? user.role : '');
}

function signedIn(session) {
  user = { name: String(session.name), role: String(session.role), csrf: String(session.csrf) };
  api.setCsrf(user.csrf);
  sessionNote = '';
  showHeader();
}

function signedOut(note = '') {
  stopPage();
  user = null;
  api.setCsrf(null);
  sessionNote = note;
  showHeader();
  showSignIn();
}

function showSignIn() {
  ctx.title('Sign in');
  clear(main);
  const error = h('p.error', { id: 'sign-in-error', role: 'alert' });
  const field = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help sign-in-error',
  });
  const button = h('button', { type: 'submit', text: 'Sign in' });
  const form = h(
    'form.sign-in',
    { novalidate: true },
    h('h1', { text: 'Sign in to spokeflow' }),
    sessionNote ? h('p.note', { text: sessionNote }) : null,
    h('label', { for: 'token', text: 'API token' }),
    field,
    h('p.help', { id: 'token-help', text: 'A token made with `spokeflow tokens create` (it starts with sft_). The browser keeps only a session cookie, not the token.' }),
    button,
    error,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const token = field.value.trim();
    if (!token) {
      error.textContent = 'Enter an API token.';
      field.focus();
      return;
    }
    button.disabled = true;
    try {
      const session = await api.post('/ui/session', { token }, { quietAuth: true });
      field.value = '';
      signedIn(session);
      const r = parseRoute();
      if (!r.parts.length) window.location.hash = '#/executions';
      else showRoute();
    } catch (e) {
      error.textContent = e.message;
      field.select();
      field.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.append(form);
  field.focus();
}

async function signOut() {
  const button = document.getElementById('sign-out');
  button.disabled = true;
  try {
    await api.post('/ui/session/sign-out', undefined, { quietAuth: true });
  } catch (e) {
    if (e.status !== 401) {
      window.alert('Signing out failed: ' + e.message);
      button.disabled = false;
      return;
    }
  }
  button.disabled = false;
  history.replaceState(null, '', window.location.pathname);
  signedOut('You are signed out.');
}

async function start() {
  document.getElementById('sign-out').addEventListener('click', signOut);
  api.onUnauthorized(() => {
    if (user) signedOut('Your session has ended: sign in again.');
  });
  window.addEventListener('hashchange', () => {
    if (user) showRoute();
  });
  try {
    const session = await api.get('/ui/session', undefined, { quietAuth: true });
    signedIn(session);
    if (!parseRoute().parts.length) history.replaceState(null, '', '#/executions');
    showRoute(false);
  } catch (e) {
    signedOut(e.status === 401 ? '' : 'The service cannot tell who is signed in: ' + e.message);
  }
}

start();
