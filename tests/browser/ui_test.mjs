// The web view in Chromium (issue 20), driven with playwright-core against a running
// `spokeflow serve` (tests/integration/ui_browser_test.sh starts it). Plain Node: node:assert,
// no test framework. Environment:
//   BASE_URL                                  the service, e.g. http://127.0.0.1:40000
//   ADMIN_TOKEN OPERATOR_TOKEN VIEWER_TOKEN   API tokens of each role, and their names in
//   ADMIN_NAME OPERATOR_NAME VIEWER_NAME
//   WORK_DIR                                  a folder for the flaky flow's marker files
//   SCREENSHOT_DIR                            where the screenshots go
//   HOOK_SECRET                               the event hook's Authorization value (optional)
//   BENCH_ITEMS                               items of the big execution (default 5000: 10,001 step runs)
//   CHROMIUM                                  the browser (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') throw new Error(`ui_test.mjs needs the environment variable ${name}`);
  return v;
};
const BASE = env('BASE_URL').replace(/\/$/, '');
const TOKENS = { admin: env('ADMIN_TOKEN'), operator: env('OPERATOR_TOKEN'), viewer: env('VIEWER_TOKEN') };
const NAMES = { admin: env('ADMIN_NAME', 'ui-admin'), operator: env('OPERATOR_NAME', 'ui-operator'), viewer: env('VIEWER_NAME', 'ui-viewer') };
const WORK = env('WORK_DIR');
const SHOTS = env('SCREENSHOT_DIR');
const HOOK_SECRET = process.env.HOOK_SECRET || '';
const BENCH_ITEMS = Number(process.env.BENCH_ITEMS || 5000);
fs.mkdirSync(SHOTS, { recursive: true });

const rand = () => crypto.randomBytes(6).toString('hex');
const CANARY = `canary-${crypto.randomBytes(12).toString('hex')}`;
const PROBE = `probe-${rand()}`;
const HOSTILE_WHO = `<b id=xss-probe>${PROBE}</b>`; // no quotes: it stays markup inside JSON text too

let passed = 0;
let failed = 0;
const failures = [];
async function scenario(name, fn) {
  const t = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`  ok: ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    failed += 1;
    failures.push(name);
    console.log(`  FAIL: ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 6).join('\n    ') : e}`);
  }
}

// The API with a bearer token, for setting up and for checking what the page shows.
async function apiCall(method, p, { token = TOKENS.operator, body, headers = {} } = {}) {
  const res = await fetch(BASE + p, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
}
async function startFlow(flow, inputs, token = TOKENS.operator) {
  const r = await apiCall('POST', `/api/v1/flows/${flow}/executions`, { token, body: { inputs } });
  assert.equal(r.status, 202, `starting ${flow}: ${r.text}`);
  return r.json.execution_id;
}
async function waitStatus(id, want, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  let last = null;
  while (Date.now() < deadline) {
    const r = await apiCall('GET', `/api/v1/executions/${id}?steps_limit=1`);
    last = r.json && r.json.status;
    if ([].concat(want).includes(last)) return last;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`execution ${id} is ${last}, not ${want}, after ${seconds} s`);
}

// Every response body the browser received, to look for the canary in. Each request goes
// through a route that fetches it and hands the page the same answer, so every body is read
// whole; event streams are left to flow (the live view needs them) and are read by the
// response listener when they end.
const bodies = [];
const streams = [];
function record(context) {
  return context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.includes('/events')) return route.continue();
    let resp;
    try {
      resp = await route.fetch();
    } catch {
      return route.abort().catch(() => {});
    }
    const body = await resp.body();
    bodies.push({ url, text: body.toString('utf8') });
    return route.fulfill({ response: resp, body }).catch(() => {});
  });
  context.on('response', (resp) => {
    if (!resp.url().includes('/events')) return;
    streams.push(resp.body().then((b) => ({ url: resp.url(), text: b.toString('utf8') }), () => ({ url: resp.url(), text: null })));
  });
}
// The forms of a secret that must never be shown: as is, JSON-escaped, percent-encoded.
const secretForms = (s) => [...new Set([s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])].map((f) => f.toLowerCase());
const holdsSecret = (text) => secretForms(CANARY).some((f) => text.toLowerCase().includes(f));
const htmlSeen = [];
async function snapshotHtml(page, where) {
  htmlSeen.push({ where, html: await page.content() });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const pageErrors = [];
async function newContext(viewport = { width: 1280, height: 800 }, extra = {}, { intercept = true } = {}) {
  const context = await browser.newContext({ viewport, ...extra });
  if (intercept) await record(context);
  context.on('page', (p) => p.on('pageerror', (e) => pageErrors.push(String(e))));
  return context;
}
async function openPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.setDefaultTimeout(20000);
  return page;
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}
async function signIn(page, token) {
  await page.goto(BASE + '/ui/');
  await page.waitForSelector('#token');
  await page.fill('#token', token);
  await page.click('form.sign-in button[type=submit]');
  await page.waitForSelector('#executions-table');
}
const csrfOf = (page) => page.evaluate(async () => (await (await fetch('/ui/session')).json()).csrf);
const pagePost = (page, url, headers) =>
  page.evaluate(async ({ url, headers }) => {
    const r = await fetch(url, { method: 'POST', headers, credentials: 'same-origin' });
    let kind = null;
    try {
      kind = (await r.json()).error.kind;
    } catch {
      kind = null;
    }
    return { status: r.status, kind };
  }, { url, headers });

console.log(`# the web view at ${BASE}/ui/`);

// The big execution runs while the other scenarios do.
const bigId = await startFlow('bulk', { items: Array.from({ length: BENCH_ITEMS }, (_, i) => i) });

if (HOOK_SECRET) {
  const delivery = {
    eventType: 'com.okta.event_hook', eventTypeVersion: '1.0', cloudEventsVersion: '0.1', source: 'ui-test', eventId: `ui-${rand()}`,
    eventTime: new Date().toISOString(), contentType: 'application/json',
    data: { events: [{ uuid: `ui-${rand()}`, published: new Date().toISOString(), eventType: 'user.session.start', displayMessage: 'x', actor: { id: '00u1', type: 'User' }, target: [{ id: '00u2', type: 'User', alternateId: 'a@b.c' }] }] },
  };
  const r = await apiCall('POST', '/hooks/okta/okta', { token: null, body: delivery, headers: { Authorization: HOOK_SECRET } });
  assert.equal(r.status, 200, `the hook delivery: ${r.text}`);
  const again = await apiCall('POST', '/hooks/okta/okta', { token: null, body: delivery, headers: { Authorization: HOOK_SECRET } });
  assert.equal(again.status, 200, `the same delivery again (Okta's retry): ${again.text}`);
}

const opContext = await newContext();
const op = await openPage(opContext);
let greetId = null;
let failedId = null;
let stillFailedId = null;

await scenario('sign in: a bad token is refused with its message; a good one lands on executions with its name and role', async () => {
  await op.goto(BASE + '/ui/');
  await op.waitForSelector('#token');
  assert.equal(await op.getAttribute('#token', 'type'), 'password');
  assert.equal(await op.isVisible('#top'), false, 'no header before sign-in');
  await shot(op, 'sign-in');
  const bad = `sft_${rand()}${rand()}`;
  const expected = await apiCall('POST', '/ui/session', { token: null, body: { token: bad } });
  assert.equal(expected.status, 401, 'the service refuses the bad token');
  await op.fill('#token', bad);
  await op.click('form.sign-in button[type=submit]');
  await op.waitForFunction(() => document.getElementById('sign-in-error').textContent.length > 0);
  assert.equal(await op.textContent('#sign-in-error'), expected.json.error.message);
  assert.equal((await opContext.cookies()).filter((c) => c.name === 'spokeflow_session').length, 0, 'no cookie for a bad token');
  await op.fill('#token', TOKENS.operator);
  await op.click('form.sign-in button[type=submit]');
  await op.waitForSelector('#executions-table');
  assert.equal(new URL(op.url()).hash, '#/executions');
  assert.equal(await op.textContent('#who-name'), NAMES.operator);
  assert.equal(await op.textContent('#who-role'), 'operator');
  const cookie = (await opContext.cookies()).find((c) => c.name === 'spokeflow_session');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', `an HttpOnly SameSite=Strict session cookie: ${JSON.stringify(cookie)}`);
  assert.equal(await op.evaluate(() => document.cookie.includes('spokeflow_session')), false, 'the page script cannot read the cookie');
});

await scenario('run a flow from its form and watch it succeed live (no reload); hostile text stays text', async () => {
  await op.goto(BASE + '/ui/#/flows/greet');
  await op.waitForSelector('#run-flow');
  assert.equal(await op.getAttribute('[data-input="secret"] input', 'type'), 'password', 'a sensitive input is a password field');
  assert.deepEqual(await op.$eval('[data-input="mood"] select', (s) => [...s.options].map((o) => o.textContent)), ['(not given)', 'calm', 'cheerful'], 'an enum is a select');
  assert.equal(await op.getAttribute('[data-input="loud"] input', 'type'), 'checkbox');
  assert.equal(await op.getAttribute('[data-input="times"] input', 'type'), 'number');
  assert.ok((await op.textContent('[data-input="who"] label')).includes('*'), 'a required input is marked');
  await op.waitForSelector('pre.source .y-expr');
  assert.ok((await op.$$eval('pre.source .y-key', (els) => els.map((e) => e.textContent))).includes('name'), 'the source is highlighted');
  await shot(op, 'flow');
  await op.fill('[data-input="who"] input', HOSTILE_WHO);
  await op.fill('[data-input="pause"] input', '3s');
  await op.fill('[data-input="times"] input', '2');
  await op.check('[data-input="loud"] input');
  await op.selectOption('[data-input="mood"] select', { label: 'cheerful' });
  await op.fill('[data-input="tags"] textarea', '["a", "b"]');
  await op.fill('[data-input="extra"] textarea', '{"k": 1}');
  await op.fill('[data-input="secret"] input', CANARY);
  await op.evaluate(() => {
    window.__sameDocument = true;
  });
  const eventsSeen = op.waitForRequest((r) => r.url().includes('/events'), { timeout: 15000 });
  await op.click('#run-flow');
  await op.waitForURL(/#\/executions\/[0-9A-Z]{26}$/);
  greetId = decodeURIComponent(new URL(op.url()).hash.split('/')[2]);
  await op.waitForSelector('#exec-status[data-status]');
  const first = await op.getAttribute('#exec-status', 'data-status');
  assert.ok(['queued', 'running', 'waiting'].includes(first), `the page first shows it unfinished, not ${first}`);
  await eventsSeen;
  await op.waitForSelector('#exec-status[data-status="succeeded"]', { timeout: 30000 });
  assert.equal(await op.evaluate(() => window.__sameDocument), true, 'the status changed without a reload');
  assert.equal(await waitStatus(greetId, 'succeeded', 5), 'succeeded');
  const e = (await apiCall('GET', `/api/v1/executions/${greetId}`)).json;
  assert.deepEqual([e.inputs.who, e.inputs.times, e.inputs.loud, e.inputs.mood, e.inputs.tags, e.inputs.extra], [HOSTILE_WHO, 2, true, 'cheerful', ['a', 'b'], { k: 1 }], 'the form sent typed inputs');
  assert.equal(await op.evaluate(() => document.querySelector('[id*="xss-probe"]') !== null), false, 'no element from a value');
  assert.ok((await op.textContent('main')).includes(JSON.stringify(HOSTILE_WHO)), 'the value is shown as text (in the inputs, as JSON)');
  assert.ok((await op.textContent('main')).includes(`api by token ${NAMES.operator}`), 'the page says who started it (the token)');
  await op.waitForSelector('[data-path="greet"]');
  await shot(op, 'execution-succeeded');
  await snapshotHtml(op, 'greet execution');
  await op.goto(BASE + '/ui/#/executions');
  await op.waitForSelector(`#executions-table tr[data-id="${greetId}"]`);
  assert.equal(await op.evaluate(() => document.querySelector('[id*="xss-probe"]') !== null), false, 'no element from a value in the list');
});

await scenario('a failed execution shows its failing step\'s error; Retry makes it succeed', async () => {
  const marker = path.join(WORK, `marker-${rand()}`);
  fs.writeFileSync(marker, '');
  failedId = await startFlow('flaky', { marker });
  await waitStatus(failedId, 'failed');
  await op.goto(BASE + `/ui/#/executions/${failedId}`);
  await op.waitForSelector('#exec-status[data-status="failed"]');
  await op.waitForSelector('#step-tree[data-ready="true"]');
  const stepError = await op.textContent('[data-path="check"] > summary .step-error');
  assert.equal(stepError, `failing while ${marker} exists`);
  assert.ok((await op.textContent('#exec-error')).includes(`failing while ${marker} exists`), 'the execution\'s error is shown');
  assert.ok(await op.isVisible('[data-path="check"] .value-error'), 'the failed step is open with its error as JSON');
  assert.deepEqual(await op.$$eval('#exec-actions button', (bs) => bs.map((b) => b.textContent)), ['Retry', 'Rerun']);
  assert.ok((await op.$$('#timeline .bar-row')).length >= 2, 'a timeline bar per step run');
  await shot(op, 'execution-failed');
  fs.unlinkSync(marker);
  await op.evaluate(() => {
    window.__sameDocument = true;
  });
  await op.click('#exec-actions button[data-action="retry"]');
  await op.waitForSelector('#exec-status[data-status="succeeded"]', { timeout: 30000 });
  assert.equal(await op.evaluate(() => window.__sameDocument), true, 'followed without a reload');
  assert.equal(await waitStatus(failedId, 'succeeded', 5), 'succeeded');
  await op.waitForSelector('[data-path="check"] > summary .status-succeeded');
  assert.equal(await op.$eval('[data-path="check"] > summary .attempt', (e) => e.textContent), 'attempt 2');
  assert.deepEqual(await op.$$eval('#exec-actions button', (bs) => bs.map((b) => b.textContent)), ['Rerun'], 'a succeeded execution offers only Rerun');
  // One that stays failed, for the filters.
  const keep = path.join(WORK, `marker-${rand()}`);
  fs.writeFileSync(keep, '');
  stillFailedId = await startFlow('flaky', { marker: keep });
  await waitStatus(stillFailedId, 'failed');
});

await scenario('Cancel stops a running execution (seen live); Rerun starts a new one and opens it', async () => {
  const id = await startFlow('greet', { who: 'to-cancel', pause: '60s' });
  await waitStatus(id, ['running', 'waiting']);
  await op.goto(BASE + `/ui/#/executions/${id}`);
  await op.waitForSelector('#exec-actions button[data-action="cancel"]');
  assert.deepEqual(await op.$$eval('#exec-actions button', (bs) => bs.map((b) => b.textContent)), ['Cancel'], 'an unfinished execution offers only Cancel');
  op.once('dialog', (d) => d.accept());
  await op.click('#exec-actions button[data-action="cancel"]');
  await op.waitForSelector('#exec-status[data-status="cancelled"]', { timeout: 30000 });
  assert.equal(await waitStatus(id, 'cancelled', 5), 'cancelled');
  assert.deepEqual(await op.$$eval('#exec-actions button', (bs) => bs.map((b) => b.textContent)), ['Retry', 'Rerun']);
  await op.click('#exec-actions button[data-action="rerun"]');
  await op.waitForURL((u) => /#\/executions\/[0-9A-Z]{26}$/.test(u.hash) && !u.hash.endsWith(id));
  const rerun = decodeURIComponent(new URL(op.url()).hash.split('/')[2]);
  await op.waitForSelector('#exec-status[data-status]');
  const r = (await apiCall('GET', `/api/v1/executions/${rerun}?steps_limit=1`)).json;
  assert.equal(r.inputs.who, 'to-cancel', 'the rerun has the same inputs');
  assert.equal((await apiCall('POST', `/api/v1/executions/${rerun}/cancel`)).status, 202);
  await waitStatus(rerun, 'cancelled');
});

await scenario('filters by status and flow, search by execution id and by an input value, older pages', async () => {
  assert.ok(greetId && stillFailedId, 'needs the executions made above');
  // Enough executions for a second page.
  const quick = [];
  for (let i = 0; i < 55; i++) quick.push(startFlow('greet', { who: `page-${i}`, pause: '0s' }));
  const quickIds = await Promise.all(quick);
  await waitStatus(quickIds[quickIds.length - 1], 'succeeded');
  await op.goto(BASE + '/ui/#/executions');
  await op.waitForSelector('#executions-table tbody tr');
  const ids = () => op.$$eval('#executions-table tbody tr', (trs) => trs.map((tr) => tr.dataset.id));
  const statuses = () => op.$$eval('#executions-table tbody tr', (trs) => trs.map((tr) => tr.dataset.status));
  const flows = () => op.$$eval('#executions-table tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  const settle = () => op.waitForFunction(() => !document.getElementById('executions-count').textContent.startsWith('Loading'));
  await settle();
  assert.equal((await ids()).length, 50, 'a page of 50');
  assert.equal(await op.isVisible('#older'), true, 'an Older button when more exist');
  const firstPage = await ids();
  assert.deepEqual(firstPage, [...firstPage].sort().reverse(), 'newest first');
  await op.click('#older');
  await op.waitForFunction(() => document.querySelectorAll('#executions-table tbody tr').length > 50);
  const both = await ids();
  assert.equal(new Set(both).size, both.length, 'no execution twice');
  assert.deepEqual(both.slice(0, 50), firstPage, 'the older page follows the first');

  await op.selectOption('#filter-status', 'failed');
  await settle();
  await op.waitForFunction(() => [...document.querySelectorAll('#executions-table tbody tr')].every((tr) => tr.dataset.status === 'failed'));
  const failedRows = await ids();
  assert.ok(failedRows.includes(stillFailedId), 'the failed execution is listed');
  assert.ok(!failedRows.includes(greetId), 'a succeeded one is not');
  assert.ok((await statuses()).every((s) => s === 'failed'));
  assert.ok(new URL(op.url()).hash.includes('status=failed'), 'the filter is in the address');
  await shot(op, 'executions-failed-filter');

  await op.selectOption('#filter-status', '');
  await op.selectOption('#filter-flow', 'flaky');
  await settle();
  await op.waitForFunction(() => [...document.querySelectorAll('#executions-table tbody tr td:nth-child(2)')].every((td) => td.textContent === 'flaky'));
  const flakyRows = await ids();
  assert.ok(flakyRows.includes(stillFailedId) && flakyRows.includes(failedId) && !flakyRows.includes(greetId));
  assert.ok((await flows()).every((f) => f === 'flaky'));

  await op.selectOption('#filter-flow', '');
  await op.fill('#filter-q', stillFailedId);
  await op.press('#filter-q', 'Enter');
  await settle();
  await op.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#executions-table tbody tr')];
    return rows.length === 1 && rows[0].dataset.id === id;
  }, stillFailedId);

  await op.fill('#filter-q', PROBE);
  await op.press('#filter-q', 'Enter');
  await settle();
  await op.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#executions-table tbody tr')];
    return rows.length === 1 && rows[0].dataset.id === id;
  }, greetId);
  await op.click('#filter-clear');
  await settle();
  assert.equal((await ids()).length, 50);
});

await scenario('the list updates live: a new execution appears without a reload', async () => {
  await op.goto(BASE + '/ui/#/executions');
  await op.waitForSelector('#executions-table tbody tr');
  await op.evaluate(() => {
    window.__sameDocument = true;
  });
  const id = await startFlow('greet', { who: 'live', pause: '1s' });
  await op.waitForSelector(`#executions-table tr[data-id="${id}"]`, { timeout: 10000 });
  await op.waitForSelector(`#executions-table tr[data-id="${id}"][data-status="succeeded"]`, { timeout: 15000 });
  assert.equal(await op.evaluate(() => window.__sameDocument), true);
  await shot(op, 'executions');
});

await scenario('without its event stream (refused), an execution page polls until the execution ends', async () => {
  const ctx = await newContext(undefined, {}, { intercept: false });
  let refused = 0;
  await ctx.route('**/events', (route) => {
    refused += 1;
    return route.fulfill({ status: 503, contentType: 'application/json', body: '{"error": {"kind": "unavailable", "message": "test: no stream", "details": {}}}' });
  });
  const page = await openPage(ctx);
  await signIn(page, TOKENS.viewer);
  const id = await startFlow('greet', { who: 'poller', pause: '3s' });
  await page.goto(BASE + `/ui/#/executions/${id}`);
  await page.waitForSelector('#exec-status[data-status="running"], #exec-status[data-status="waiting"], #exec-status[data-status="queued"]');
  await page.waitForSelector('#exec-status[data-status="succeeded"]', { timeout: 30000 });
  assert.ok(refused >= 1, 'the page asked for the stream and was refused');
  await page.waitForSelector('[data-path="greet"] > summary .status-succeeded');
  await ctx.close();
});

await scenario('a viewer sees no Cancel/Retry/Rerun/Run buttons, and its POSTs are refused 403', async () => {
  const ctx = await newContext();
  const page = await openPage(ctx);
  await signIn(page, TOKENS.viewer);
  assert.equal(await page.textContent('#who-role'), 'viewer');
  await page.goto(BASE + `/ui/#/executions/${stillFailedId}`);
  await page.waitForSelector('#exec-status[data-status="failed"]');
  assert.equal((await page.$$('#exec-actions button')).length, 0, 'no action buttons for a viewer');
  await page.goto(BASE + '/ui/#/flows/greet');
  await page.waitForSelector('pre.source');
  assert.equal(await page.$('#run-flow'), null, 'no Run form for a viewer');
  await page.goto(BASE + '/ui/#/connections');
  await page.waitForSelector('#connections-table');
  assert.equal(await page.$('#connections-table button'), null, 'no Test button for a viewer');
  const csrf = await csrfOf(page);
  assert.ok(csrf, 'the session has a csrf token');
  for (const action of ['retry', 'rerun', 'cancel']) {
    const r = await pagePost(page, `/api/v1/executions/${stillFailedId}/${action}`, { 'X-CSRF-Token': csrf });
    assert.deepEqual(r, { status: 403, kind: 'forbidden' }, `a viewer's ${action}`);
  }
  const run = await page.evaluate(async (csrf) => {
    const r = await fetch('/api/v1/flows/greet/executions', { method: 'POST', headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' }, body: '{"inputs":{"who":"v"}}' });
    return r.status;
  }, csrf);
  assert.equal(run, 403, "a viewer's run");
  // page.request carries the context's cookie too.
  const viaRequest = await page.request.post(BASE + `/api/v1/executions/${stillFailedId}/retry`, { headers: { 'X-CSRF-Token': csrf } });
  assert.equal(viaRequest.status(), 403);
  assert.equal(await waitStatus(stillFailedId, 'failed', 1), 'failed', 'nothing changed');
  await ctx.close();
});

await scenario('a POST without the X-CSRF-Token header (or with a wrong one) is refused 403', async () => {
  const csrf = await csrfOf(op);
  const without = await pagePost(op, `/api/v1/executions/${stillFailedId}/rerun`, {});
  assert.deepEqual(without, { status: 403, kind: 'csrf' });
  const wrong = await pagePost(op, `/api/v1/executions/${stillFailedId}/rerun`, { 'X-CSRF-Token': csrf.split('').reverse().join('') + 'x' });
  assert.deepEqual(wrong, { status: 403, kind: 'csrf' });
  const viaRequest = await op.request.post(BASE + '/api/v1/flows/greet/executions', { data: { inputs: { who: 'no-csrf' } } });
  assert.equal(viaRequest.status(), 403);
  const signOut = await op.request.post(BASE + '/ui/session/sign-out');
  assert.equal(signOut.status(), 403, 'sign-out without the header is refused too');
  const list = await apiCall('GET', '/api/v1/executions?q=no-csrf');
  assert.equal(list.json.executions.length, 0, 'nothing was started');
  // The same call with the header is accepted: the header is what was missing.
  const withIt = await pagePost(op, `/api/v1/executions/${stillFailedId}/rerun`, { 'X-CSRF-Token': csrf });
  assert.equal(withIt.status, 202);
});

await scenario('an admin tests a connection; the other pages render', async () => {
  const ctx = await newContext();
  const page = await openPage(ctx);
  await signIn(page, TOKENS.admin);
  assert.equal(await page.textContent('#who-role'), 'admin');
  await page.goto(BASE + '/ui/#/connections');
  await page.waitForSelector('#connections-table tr[data-alias="okta"] button');
  await page.click('#connections-table tr[data-alias="okta"] button');
  await page.waitForSelector('#connections-table tr[data-alias="okta"] .test-result .status');
  assert.equal(await page.textContent('#connections-table tr[data-alias="okta"] .test-result .status'), 'ok');
  await shot(page, 'connections');
  await page.goto(BASE + '/ui/#/flows');
  await page.waitForSelector('#flows-table tr[data-flow="nightly"]');
  assert.ok((await page.textContent('#flows-table tr[data-flow="nightly"]')).includes('0 3 29 2 *'), 'a schedule trigger');
  assert.ok(await page.$('#flows-table tr[data-flow="nightly"] time'), 'with its next fires');
  await shot(page, 'flows');
  await page.goto(BASE + '/ui/#/actions');
  await page.waitForSelector('#actions-table');
  assert.ok((await page.textContent('#actions-table')).includes('core.echo'));
  await shot(page, 'actions');
  await page.goto(BASE + '/ui/#/actions/test.side_effect');
  await page.waitForSelector('main .columns table');
  assert.ok((await page.textContent('main .columns table')).includes('delay_ms'), 'its input schema');
  await shot(page, 'action');
  await page.goto(BASE + '/ui/#/schedules');
  await page.waitForSelector('#schedules-table');
  assert.ok((await page.textContent('#schedules-table')).includes('Europe/Berlin'));
  await shot(page, 'schedules');
  await page.goto(BASE + '/ui/#/hooks');
  await page.waitForSelector('main .count');
  if (HOOK_SECRET) {
    await page.waitForSelector('#deliveries-table tbody tr');
    assert.ok((await page.textContent('#deliveries-table')).includes('on_sign_in'), 'the delivery started on_sign_in');
    assert.ok((await page.textContent('#deliveries-table')).includes('received 2 times'), 'the redelivery is shown');
  }
  await shot(page, 'hooks');
  await page.goto(BASE + '/ui/#/executions/' + failedId);
  await page.waitForSelector('#step-tree[data-ready="true"]');
  await snapshotHtml(page, 'admin execution');
  await ctx.close();
});

await scenario('phone size (390x844) and dark mode', async () => {
  const ctx = await newContext({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, colorScheme: 'dark' });
  const page = await openPage(ctx);
  await signIn(page, TOKENS.operator);
  await page.waitForSelector('#executions-table tbody tr');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the list fits the phone's width (${overflow} px too wide)`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(255, 255, 255)', 'dark mode follows prefers-color-scheme');
  await shot(page, 'phone-executions');
  await page.goto(BASE + '/ui/#/executions/' + greetId);
  await page.waitForSelector('#step-tree[data-ready="true"]');
  const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow2 <= 1, `the execution fits the phone's width (${overflow2} px too wide)`);
  await shot(page, 'phone-execution');
  await ctx.close();
});

await scenario('keyboard only: sign-in and navigation work with Tab and Enter, and focus is visible', async () => {
  const ctx = await newContext();
  const page = await openPage(ctx);
  await page.goto(BASE + '/ui/');
  await page.waitForSelector('#token');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token', 'the token field has the focus');
  await page.keyboard.type(TOKENS.viewer);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#executions-table');
  // From the top of the page, Tab to the Flows link and follow it.
  await page.reload();
  await page.waitForSelector('#executions-table');
  let found = false;
  for (let i = 0; i < 20 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement && document.activeElement.dataset && document.activeElement.dataset.section === 'flows');
  }
  assert.ok(found, 'the Flows link is reachable with Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused link shows an outline');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#flows-table');
  await ctx.close();
});

await scenario(`an execution with ${(2 * BENCH_ITEMS + 1).toLocaleString('en-US')} step runs opens quickly`, async () => {
  await waitStatus(bigId, 'succeeded', 120);
  const total = (await apiCall('GET', `/api/v1/executions/${bigId}?steps_limit=1`)).json.steps_total;
  // A context whose requests go straight to the service (no recording route in between).
  const ctx = await newContext(undefined, {}, { intercept: false });
  const op = await openPage(ctx);
  await signIn(op, TOKENS.operator);
  await op.goto(BASE + '/ui/#/flows');
  await op.waitForSelector('#flows-table');
  const t0 = Date.now();
  await op.goto(BASE + `/ui/#/executions/${bigId}`);
  await op.waitForSelector('#step-tree[data-ready] [data-key="each"]');
  const usable = Date.now() - t0;
  await op.waitForSelector('#step-tree[data-ready="true"]', { timeout: 60000 });
  const complete = Date.now() - t0;
  const line = await op.textContent('[data-path="each"] > summary');
  assert.ok(line.includes(`${BENCH_ITEMS.toLocaleString('en-US')} iterations`), `the loop's count: ${line}`);
  assert.equal(await op.getAttribute('[data-path="each"]', 'open'), null, 'a loop of more than 20 iterations starts collapsed');
  assert.equal(await op.getAttribute('#step-tree', 'data-steps'), String(total), 'every step run was read');
  assert.ok((await op.$$('#step-tree li')).length < 50, 'only what is open is drawn');
  // Opening the loop draws its first iterations only.
  await op.click('[data-path="each"] > summary');
  await op.waitForSelector('[data-path="each"] li.more button');
  assert.ok((await op.$$('[data-path="each"] > .inside > ul > li.node')).length <= 200);
  // Its timeline starts closed; opened, it draws the 500 longest step runs, then all on request.
  await op.waitForSelector('#timeline details.timeline');
  assert.equal(await op.getAttribute('#timeline details.timeline', 'open'), null, 'a timeline of more than 300 step runs starts closed');
  assert.ok((await op.textContent('#timeline details.timeline > summary')).includes(`${total.toLocaleString('en-US')} step runs`), 'its summary counts them');
  assert.equal((await op.$$('#timeline .bar-row')).length, 0, 'nothing drawn while closed');
  await op.click('#timeline details.timeline > summary');
  await op.waitForSelector('#timeline .bar-row');
  assert.equal((await op.$$('#timeline .bar-row')).length, 500, 'opened: the 500 longest step runs');
  assert.ok((await op.textContent('#timeline p.note')).includes('longest step runs'), 'saying which ones');
  await op.click('#timeline p.note button');
  await op.waitForFunction((n) => document.querySelectorAll('#timeline .bar-row').length === n, total, { timeout: 30000 });
  await shot(op, 'execution-big');
  console.log(`ui-bench: execution with ${total} step runs usable in ${usable} ms (every step run read and in the tree after ${complete} ms)`);
  assert.ok(complete < 30000, `the whole tree within 30 s (${complete} ms)`);
  await ctx.close();
});

await scenario('a sensitive input\'s value is in no page\'s HTML and no response the browser received', async () => {
  assert.ok(greetId, 'needs the execution with the canary');
  assert.ok(holdsSecret(`x${JSON.stringify({ v: CANARY })}y`) && holdsSecret(encodeURIComponent(` ${CANARY}`)), 'the search finds the canary where it is');
  const e = (await apiCall('GET', `/api/v1/executions/${greetId}`)).json;
  assert.equal(e.inputs.secret, '[REDACTED]', 'the API shows it redacted');
  await op.goto(BASE + `/ui/#/executions/${greetId}`);
  await op.waitForSelector('#step-tree[data-ready="true"]');
  await op.click('[data-path="greet"] > summary');
  await op.waitForSelector('[data-path="greet"] .attempt');
  await snapshotHtml(op, 'greet execution, step open');
  await op.goto(BASE + '/ui/#/executions');
  await op.waitForSelector('#executions-table tbody tr');
  await snapshotHtml(op, 'executions list');
  // The event stream of the execution with the canary, as the browser's cookie reads it.
  const cookie = (await opContext.cookies()).find((c) => c.name === 'spokeflow_session');
  const sse = await fetch(BASE + `/api/v1/executions/${greetId}/events`, { headers: { Cookie: `spokeflow_session=${cookie.value}` } });
  assert.equal(sse.status, 200);
  const sseText = await sse.text();
  assert.ok(sseText.includes('event: end'), 'its event stream read to the end');
  const streamed = await Promise.all(streams.map((p) => Promise.race([p, new Promise((res) => setTimeout(() => res({ url: '?', text: null }), 5000))])));
  const results = [...bodies, ...streamed, { url: 'events of the execution with the canary', text: sseText }];
  const read = results.filter((r) => r.text !== null);
  assert.ok(read.length > 20, `response bodies recorded (${read.length})`);
  assert.ok(read.some((r) => r.text.includes(greetId)), 'the recorded bodies include the execution with the canary');
  const leaks = read.filter((r) => holdsSecret(r.text)).map((r) => r.url);
  assert.deepEqual(leaks, [], 'no response holds the canary');
  const htmlLeaks = htmlSeen.filter((s) => holdsSecret(s.html)).map((s) => s.where);
  assert.deepEqual(htmlLeaks, [], 'no page holds the canary');
  const unread = results.filter((r) => r.text === null).map((r) => r.url.replace(BASE, ''));
  console.log(`    (${read.length} response bodies and ${htmlSeen.length} pages searched; ${unread.length} bodies could not be read${unread.length ? ': ' + unread.slice(0, 8).join(' ') : ''})`);
});

await scenario('sign out ends the session: a reload shows the sign-in page and the old cookie is refused', async () => {
  const cookie = (await opContext.cookies()).find((c) => c.name === 'spokeflow_session');
  assert.ok(cookie, 'signed in before');
  const before = await fetch(BASE + '/ui/session', { headers: { Cookie: `spokeflow_session=${cookie.value}` } });
  assert.equal(before.status, 200, 'the cookie works before sign-out');
  await op.click('#sign-out');
  await op.waitForSelector('#token');
  assert.equal(await op.isVisible('#top'), false);
  await op.reload();
  await op.waitForSelector('#token');
  assert.equal(await op.$('#executions-table'), null);
  const session = await fetch(BASE + '/ui/session', { headers: { Cookie: `spokeflow_session=${cookie.value}` } });
  assert.equal(session.status, 401, 'the old cookie no longer opens a session');
  const list = await fetch(BASE + '/api/v1/executions', { headers: { Cookie: `spokeflow_session=${cookie.value}` } });
  assert.equal(list.status, 401, 'nor calls the API');
  const post = await fetch(BASE + `/api/v1/executions/${stillFailedId}/rerun`, { method: 'POST', headers: { Cookie: `spokeflow_session=${cookie.value}` } });
  assert.equal(post.status, 401);
});

await scenario('no script error on any page', async () => {
  assert.deepEqual(pageErrors, []);
});

await browser.close();
console.log(`screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
if (failed) console.log(`failed: ${failures.join('; ')}`);
process.exit(failed ? 1 : 0);
