// #/executions: newest first, filtered, paged with the API's cursor, kept fresh by polling.
import { h, clear, link, uid } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { statusBadge, errorBox, table, cell, timeEl, every } from './parts.js';

const FILTERS = ['flow', 'status', 'trigger', 'since', 'until', 'q'];
const PAGE = 50;

export function renderExecutions(main, query, ctx) {
  ctx.title('Executions');
  const filters = {};
  for (const k of FILTERS) filters[k] = query.get(k) || '';

  const rows = new Map(); // id -> row from the API
  const trs = new Map(); // id -> <tr>
  let nextCursor = null;
  let olderLoaded = false; // whether pages past the first are shown (their cursor is then kept)
  let generation = 0; // a new filter starts a new generation; late answers of an old one are dropped

  const heading = h('h1', { text: 'Executions' });
  const message = h('div.message', { 'aria-live': 'polite' });
  const count = h('p.count', { id: 'executions-count', 'aria-live': 'polite' });
  const t = table('Executions, newest first', [
    { label: 'Execution' },
    { label: 'Flow' },
    { label: 'Status' },
    { label: 'Trigger', wide: true },
    { label: 'Created', wide: true },
    { label: 'Duration' },
  ]);
  t.table.id = 'executions-table';
  const older = h('button.secondary', { type: 'button', id: 'older', text: 'Older', hidden: true });

  // The filter form.
  const field = (label, control) => {
    control.id = control.id || uid('filter');
    return h('div.field', {}, h('label', { for: control.id, text: label }), control);
  };
  const flowSelect = h('select', { name: 'flow', id: 'filter-flow' }, h('option', { value: '', text: 'any flow' }));
  if (filters.flow) flowSelect.append(h('option', { value: filters.flow, text: filters.flow }));
  flowSelect.value = filters.flow;
  const statusSelect = h('select', { name: 'status', id: 'filter-status' }, h('option', { value: '', text: 'any status' }),
    fmt.STATUSES.map((s) => h('option', { value: s, text: s })));
  statusSelect.value = filters.status;
  const triggerSelect = h('select', { name: 'trigger', id: 'filter-trigger' }, h('option', { value: '', text: 'any trigger' }),
    fmt.TRIGGERS.map((s) => h('option', { value: s, text: s })));
  triggerSelect.value = filters.trigger;
  const since = h('input', { type: 'datetime-local', name: 'since', id: 'filter-since', value: fmt.toLocalInput(filters.since) });
  const until = h('input', { type: 'datetime-local', name: 'until', id: 'filter-until', value: fmt.toLocalInput(filters.until) });
  const q = h('input', { type: 'search', name: 'q', id: 'filter-q', value: filters.q, placeholder: 'execution id or input value', autocomplete: 'off' });
  const form = h(
    'form.filters',
    { role: 'search', 'aria-label': 'Filter executions' },
    field('Flow', flowSelect),
    field('Status', statusSelect),
    field('Trigger', triggerSelect),
    field('Since', since),
    field('Until', until),
    h('div.field.grow', {}, h('label', { for: 'filter-q', text: 'Search' }), q),
    h('div.field.buttons', {}, h('button', { type: 'submit', text: 'Apply' }), h('button.secondary', { type: 'button', id: 'filter-clear', text: 'Clear' })),
  );

  main.append(h('div.page-head', {}, heading), form, message, count, t.el, h('div.more', {}, older));

  api.get('/api/v1/flows').then((body) => {
    const names = (body.flows || []).map((f) => String(f.name)).sort();
    for (const n of names) if (n !== filters.flow) flowSelect.append(h('option', { value: n, text: n }));
    flowSelect.value = filters.flow;
  }).catch(() => {});

  function readForm() {
    filters.flow = flowSelect.value;
    filters.status = statusSelect.value;
    filters.trigger = triggerSelect.value;
    filters.since = fmt.fromLocalInput(since.value);
    filters.until = fmt.fromLocalInput(until.value);
    filters.q = q.value.trim();
    const params = new URLSearchParams();
    for (const k of FILTERS) if (filters[k]) params.set(k, filters[k]);
    const text = params.toString();
    history.replaceState(null, '', '#/executions' + (text ? '?' + text : ''));
  }

  function queryFor(cursor) {
    const query = { limit: PAGE };
    for (const k of FILTERS) if (filters[k]) query[k] = filters[k];
    if (cursor) query.cursor = cursor;
    return query;
  }

  function rowCells(tr, r) {
    clear(tr);
    tr.append(
      cell(h('a.mono', { href: '#/executions/' + encodeURIComponent(r.id), text: r.id })),
      cell(link(r.flow, 'flows', r.flow)),
      cell(statusBadge(r.status)),
      cell(r.trigger || '', true),
      cell(timeEl(r.created_at), true),
      cell(r.duration_ms !== undefined ? fmt.duration(r.duration_ms) : r.status === 'waiting' && r.wakes_at ? 'wakes ' + fmt.time(r.wakes_at) : '', false, 'num'),
    );
    tr.dataset.id = r.id;
    tr.dataset.status = r.status;
    tr.dataset.sig = signature(r);
  }

  const signature = (r) => [r.status, r.duration_ms, r.wakes_at, r.flow, r.trigger].join('|');

  // Brings the table in line with `rows`, newest first, touching only rows that changed (so
  // the keyboard focus stays where it is while the list refreshes).
  function draw() {
    const ids = [...rows.keys()].sort().reverse();
    for (const [id, tr] of trs) {
      if (!rows.has(id)) {
        tr.remove();
        trs.delete(id);
      }
    }
    let at = t.tbody.firstChild;
    for (const id of ids) {
      const r = rows.get(id);
      let tr = trs.get(id);
      if (!tr) {
        tr = h('tr');
        rowCells(tr, r);
        trs.set(id, tr);
      } else if (tr.dataset.sig !== signature(r)) {
        rowCells(tr, r);
      }
      if (tr !== at) t.tbody.insertBefore(tr, at);
      else at = at.nextSibling;
    }
    const n = rows.size;
    count.textContent = n === 0 ? 'No executions match.' : `${fmt.plural(n, 'execution')} shown${nextCursor ? ' (older ones on the next pages)' : ''}`;
    older.hidden = !nextCursor;
  }

  async function load() {
    const gen = ++generation;
    clear(message);
    rows.clear();
    nextCursor = null;
    olderLoaded = false;
    draw();
    count.textContent = 'Loading…';
    try {
      const body = await api.get('/api/v1/executions', queryFor(null));
      if (gen !== generation) return;
      for (const r of body.executions || []) rows.set(r.id, r);
      nextCursor = body.next_cursor || null;
      draw();
    } catch (e) {
      if (gen !== generation) return;
      count.textContent = '';
      message.append(errorBox(e, 'The executions could not be read'));
    }
  }

  // The newest page again: new executions appear, changed ones are updated.
  async function refresh() {
    const gen = generation;
    const body = await api.get('/api/v1/executions', queryFor(null));
    if (gen !== generation) return;
    const fresh = body.executions || [];
    const seen = new Set(fresh.map((r) => r.id));
    // Rows the fresh page covers (all of them when it is the last page) that it no longer holds
    // have left the filter (a running one that ended, say).
    const lowest = body.next_cursor ? fresh[fresh.length - 1].id : '';
    for (const id of [...rows.keys()]) if (id >= lowest && !seen.has(id)) rows.delete(id);
    for (const r of fresh) rows.set(r.id, r);
    if (!olderLoaded) nextCursor = body.next_cursor || null;
    draw();
  }

  older.addEventListener('click', async () => {
    if (!nextCursor) return;
    const gen = generation;
    older.disabled = true;
    try {
      const body = await api.get('/api/v1/executions', queryFor(nextCursor));
      if (gen !== generation) return;
      for (const r of body.executions || []) rows.set(r.id, r);
      nextCursor = body.next_cursor || null;
      olderLoaded = true;
      draw();
    } catch (e) {
      clear(message).append(errorBox(e, 'Older executions could not be read'));
    } finally {
      older.disabled = false;
    }
  });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    readForm();
    load();
  });
  for (const control of [flowSelect, statusSelect, triggerSelect, since, until]) {
    control.addEventListener('change', () => {
      readForm();
      load();
    });
  }
  form.querySelector('#filter-clear').addEventListener('click', () => {
    flowSelect.value = '';
    statusSelect.value = '';
    triggerSelect.value = '';
    since.value = '';
    until.value = '';
    q.value = '';
    readForm();
    load();
  });

  load();
  return every(2000, refresh);
}
