// #/actions, #/actions/<name>, #/connections, #/hooks, #/schedules.
import { h, clear, link, uid } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { errorBox, jsonBlock, facts, timeEl, loading, table, cell } from './parts.js';

function page(main, title, ctx) {
  ctx.title(title);
  const body = h('div', {}, loading());
  main.append(h('div.page-head', {}, h('h1', { text: title })), body);
  return body;
}

export function renderActions(main, ctx) {
  const body = page(main, 'Actions', ctx);
  api.get('/api/v1/actions').then((data) => {
    clear(body);
    const actions = data.actions || [];
    const filterId = uid('filter');
    const filter = h('input', { type: 'search', id: filterId, placeholder: 'okta.user, echo…', autocomplete: 'off' });
    const t = table('Actions', [{ label: 'Action' }, { label: 'Description' }]);
    t.table.id = 'actions-table';
    const rows = actions.map((a) => {
      const tr = h('tr', {}, cell(link(a.name, 'actions', a.name)), cell(a.description || ''));
      tr.dataset.text = `${a.name} ${a.description || ''}`.toLowerCase();
      return tr;
    });
    t.tbody.append(...rows);
    const shown = h('p.count', { 'aria-live': 'polite', text: fmt.plural(actions.length, 'action') });
    filter.addEventListener('input', () => {
      const want = filter.value.trim().toLowerCase();
      let n = 0;
      for (const tr of rows) {
        tr.hidden = Boolean(want) && !tr.dataset.text.includes(want);
        if (!tr.hidden) n += 1;
      }
      shown.textContent = fmt.plural(n, 'action');
    });
    body.append(h('div.filters', {}, h('div.field.grow', {}, h('label', { for: filterId, text: 'Find an action' }), filter)), shown, t.el);
  }).catch((e) => clear(body).append(errorBox(e, 'The actions could not be read')));
}

// The properties of an object schema as a table, the schema itself below.
function schemaEl(title, schema) {
  const box = h('section', {}, h('h2', { text: title }));
  const props = schema && typeof schema === 'object' && schema.properties && typeof schema.properties === 'object' ? schema.properties : null;
  if (props && Object.keys(props).length) {
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const t = table(title, [{ label: 'Field' }, { label: 'Type' }, { label: 'Required' }, { label: 'Description', wide: true }]);
    for (const [name, p] of Object.entries(props)) {
      const type = p && typeof p === 'object' ? [].concat(p.type || (p.enum ? 'enum' : p.$ref ? p.$ref : 'any')).join(' | ') : 'any';
      t.tbody.append(h('tr', {},
        cell(h('span.mono.nowrap', { text: name })),
        cell(`${type}${p && p['x-sensitive'] ? ', sensitive' : ''}${p && p.enum ? ` (${p.enum.map((v) => JSON.stringify(v)).join(', ')})` : ''}`),
        cell(required.has(name) ? 'yes' : 'no'),
        cell((p && p.description) || '', true)));
    }
    box.append(t.el);
  }
  box.append(h('details.value-box', { open: !props }, h('summary', { text: `${title}: JSON Schema` }), jsonBlock(schema ?? null)));
  return box;
}

export function renderAction(main, name, ctx) {
  ctx.title('Action ' + name);
  const body = h('div', {}, loading());
  main.append(h('p.back', {}, h('a', { href: '#/actions', text: '← Actions' })), h('div.page-head', {}, h('h1', {}, 'Action ', h('span.mono', { text: name }))), body);
  api.get('/api/v1/actions/' + api.enc(name)).then((a) => {
    clear(body).append(h('p.description', { text: a.description || '' }), h('div.columns', {}, schemaEl('Inputs', a.inputs), schemaEl('Outputs', a.outputs)));
  }).catch((e) => clear(body).append(errorBox(e, 'The action could not be read')));
}

export function renderConnections(main, ctx) {
  const body = page(main, 'Connections', ctx);
  api.get('/api/v1/connections').then((data) => {
    clear(body);
    body.append(facts([['Connections file', data.file || 'none']]));
    if (data.problem) body.append(h('div.error-box', { role: 'note', text: data.problem }));
    const admin = ctx.can('admin');
    const cols = [{ label: 'Alias' }, { label: 'Connection', wide: true }, { label: 'Credential type' }, { label: 'Host' }, { label: 'Base URL', wide: true }];
    if (admin) cols.push({ label: 'Test' });
    const t = table('Connection aliases', cols);
    t.table.id = 'connections-table';
    for (const a of data.aliases || []) {
      const result = h('div.test-result', { 'aria-live': 'polite' });
      const tr = h('tr', { 'data-alias': a.alias },
        cell(h('span.mono', { text: a.alias })), cell(a.connection || '', true), cell(a.type || ''), cell(a.host || '', false, 'mono'),
        cell(a.base_url || '', true, 'mono'));
      if (admin) {
        const b = h('button.small', { type: 'button', text: 'Test', 'aria-label': `Test ${a.alias}` });
        b.addEventListener('click', async () => {
          b.disabled = true;
          clear(result).append(h('span', { text: 'testing…' }));
          try {
            const r = await api.post(`/api/v1/connections/${api.enc(a.alias)}/test`);
            clear(result).append(testResult(r));
          } catch (e) {
            clear(result).append(errorBox(e, 'The test was refused'));
          } finally {
            b.disabled = false;
          }
        });
        tr.append(cell([b, result]));
      }
      t.tbody.append(tr);
    }
    if (!(data.aliases || []).length) body.append(h('p.empty', { text: 'No aliases are configured.' }));
    else body.append(t.el);
  }).catch((e) => clear(body).append(errorBox(e, 'The connections could not be read')));
}

function testResult(r) {
  const parts = [];
  if (r.ok) {
    parts.push(h('span.status.status-succeeded', { text: 'ok' }));
    if (r.ms !== undefined) parts.push(` ${fmt.duration(r.ms)}`);
    if (r.status !== undefined) parts.push(`, HTTP ${r.status}`);
    if (r.authenticated_as) parts.push(`, as ${typeof r.authenticated_as === 'string' ? r.authenticated_as : JSON.stringify(r.authenticated_as)}`);
  } else {
    parts.push(h('span.status.status-failed', { text: 'failed' }), ' ', String(r.summary || (r.error && r.error.message) || ''));
  }
  return h('div', {}, h('p', {}, parts), h('details', {}, h('summary', { text: 'details' }), jsonBlock(r)));
}

export function renderHooks(main, ctx) {
  const body = page(main, 'Event hook deliveries', ctx);
  let cursor = null;
  const t = table('Event hook deliveries, newest first', [
    { label: 'Received' }, { label: 'Hook', wide: true }, { label: 'Event id', wide: true }, { label: 'Events' }, { label: 'Started' }, { label: 'What each event did' },
  ]);
  t.table.id = 'deliveries-table';
  const older = h('button.secondary', { type: 'button', text: 'Older', hidden: true });
  const note = h('p.count', { 'aria-live': 'polite' });
  let shown = 0;
  const load = async () => {
    const data = await api.get('/api/v1/hook-deliveries', { limit: 50, cursor });
    const frag = document.createDocumentFragment();
    for (const d of data.deliveries || []) {
      const what = h('ul.plain', {}, (d.started || []).map((s) => h('li', {},
        s.event ? h('span.mono', { text: String(s.event) + ' ' }) : null,
        s.flow ? link(s.flow, 'flows', s.flow) : null, ' ',
        s.execution ? h('a.mono', { href: '#/executions/' + encodeURIComponent(s.execution), text: s.execution }) : null,
        s.created === false ? ' (seen before)' : '',
        s.skipped !== undefined ? ` skipped: ${typeof s.skipped === 'string' ? s.skipped : JSON.stringify(s.skipped)}` : '',
        s.error !== undefined ? h('span.step-error', { text: ` error: ${typeof s.error === 'string' ? s.error : s.error && s.error.message ? s.error.message : JSON.stringify(s.error)}` }) : null)));
      frag.append(h('tr', {},
        cell(h('span', {}, timeEl(d.received_at),
          d.redeliveries ? h('span.count', { text: ` received ${fmt.plural(d.redeliveries + 1, 'time', 'times')}, last ` }) : null,
          d.redeliveries && d.last_redelivered_at ? timeEl(d.last_redelivered_at) : null)),
        cell(d.hook || '', true), cell(h('span.mono', { text: d.event_id || '' }), true),
        cell(String(d.events ?? ''), false, 'num'),
        cell(`${d.executions_started ?? 0}${d.duplicate_events ? ` (+${d.duplicate_events} duplicate)` : ''}`, false, 'num'),
        cell(what)));
      shown += 1;
    }
    t.tbody.append(frag);
    cursor = data.next_cursor || null;
    older.hidden = !cursor;
    note.textContent = shown ? fmt.plural(shown, 'delivery', 'deliveries') : 'No delivery has been received.';
  };
  older.addEventListener('click', () => {
    older.disabled = true;
    load().catch((e) => body.append(errorBox(e))).finally(() => {
      older.disabled = false;
    });
  });
  load().then(() => clear(body).append(note, t.el, h('div.more', {}, older)))
    .catch((e) => clear(body).append(errorBox(e, 'The deliveries could not be read')));
}

export function renderSchedules(main, ctx) {
  const body = page(main, 'Schedules', ctx);
  api.get('/api/v1/schedules', { fires: 10 }).then((data) => {
    clear(body);
    const list = data.schedules || [];
    if (!list.length) {
      body.append(h('p.empty', { text: 'No flow has a schedule trigger.' }));
      return;
    }
    const t = table('Schedules', [
      { label: 'Flow' }, { label: 'Cron' }, { label: 'Policy', wide: true }, { label: 'Next fires' }, { label: 'Last fire', wide: true }, { label: 'Skipped' },
    ]);
    t.table.id = 'schedules-table';
    for (const s of list) {
      const fireText = (f) => (f ? [timeEl(f.scheduled_at), ' ', f.outcome || '', f.execution_id ? [' ', h('a.mono', { href: '#/executions/' + encodeURIComponent(f.execution_id), text: f.execution_id })] : ''] : 'never');
      const recent = (s.recent_fires || []).length
        ? h('details', {}, h('summary', { text: `${fmt.plural(s.recent_fires.length, 'recent fire')}` }),
          h('ul.plain', {}, s.recent_fires.map((f) => h('li', {}, fireText(f), f.missed_before ? ` (${f.missed_before} missed before)` : ''))))
        : null;
      t.tbody.append(h('tr', {},
        cell(link(s.flow, 'flows', s.flow)),
        cell([h('span.mono', { text: s.cron || '' }), s.timezone ? ` ${s.timezone}` : '']),
        cell(`catchup ${s.catchup || '-'}, overlap ${s.overlap || '-'}`, true),
        cell(h('ul.plain', {}, (s.next_fires || []).map((f) => h('li', {}, timeEl(f.at), f.local ? ` (${String(f.local).replace('T', ' ')} ${f.abbrev || ''})` : '')))),
        cell([fireText(s.last_fire), recent], true),
        cell(String(s.skipped_fires ?? 0), false, 'num')));
    }
    body.append(h('p.help', { text: `Skipped fires are counted over each flow's last ${data.fires_counted ?? ''} recorded fires.` }), t.el);
  }).catch((e) => clear(body).append(errorBox(e, 'The schedules could not be read')));
}

