// #/flows and #/flows/<name>: the flows, one flow's source and inputs, its recent executions,
// and a form, built from its declared inputs, that starts it.
import { h, clear, link, uid } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { statusBadge, errorBox, facts, timeEl, loading, table, cell } from './parts.js';
import { highlight } from './yaml.js';

// A trigger as a short text: "schedule 0 3 * * * (Europe/Berlin)", "okta_event user.lifecycle.create".
function triggerText(t) {
  if (!t || typeof t !== 'object') return String(t);
  if (t.schedule !== undefined) {
    const s = t.schedule;
    if (typeof s === 'string') return `schedule ${s}`;
    if (s && typeof s === 'object') return `schedule ${s.cron || ''}${s.timezone ? ` (${s.timezone})` : ''}`;
  }
  if (t.okta_event !== undefined) {
    const e = Array.isArray(t.okta_event) ? t.okta_event.join(', ') : String(t.okta_event);
    return `okta_event ${e}${t.if ? ` if ${t.if}` : ''}`;
  }
  const copy = { ...t };
  delete copy.next_fires;
  return JSON.stringify(copy);
}

function triggersEl(triggers) {
  if (!triggers || !triggers.length) return h('span.muted', { text: 'by name only' });
  return h('ul.plain', {}, triggers.map((t) => h('li', {}, h('span', { text: triggerText(t) }),
    t.next_fires && t.next_fires.length ? h('span.next', {}, ' next: ', t.next_fires.map((f, i) => [i ? ', ' : '', timeEl(f)])) : null)));
}

export function renderFlows(main, ctx) {
  ctx.title('Flows');
  const body = h('div', {}, loading());
  main.append(h('div.page-head', {}, h('h1', { text: 'Flows' })), body);
  api.get('/api/v1/flows').then((data) => {
    clear(body);
    const t = table('Flows', [{ label: 'Flow' }, { label: 'Description', wide: true }, { label: 'Inputs', wide: true }, { label: 'Triggers and next fires' }]);
    t.table.id = 'flows-table';
    const frag = document.createDocumentFragment();
    for (const f of data.flows || []) {
      frag.append(h('tr', { 'data-flow': f.name },
        cell(link(f.name, 'flows', f.name)),
        cell(f.description || '', true),
        cell((f.inputs || []).join(', '), true, 'mono'),
        cell(triggersEl(f.triggers))));
    }
    t.tbody.append(frag);
    if (!(data.flows || []).length) body.append(h('p.empty', { text: 'No flow is loaded.' }));
    body.append(t.el);
    if ((data.not_loaded || []).length) {
      body.append(h('h2', { text: 'Files that do not load' }));
      for (const p of data.not_loaded) {
        body.append(h('div.error-box', {}, h('p.mono', { text: p.file }),
          h('ul', {}, (p.errors || []).map((e) => h('li', { text: `${e.line}:${e.col}: ${e.message}` })))));
      }
    }
  }).catch((e) => clear(body).append(errorBox(e, 'The flows could not be read')));
}

// One form control for a declared input; returns {el, read} where read() gives the value
// (undefined: leave it out) or throws an Error naming the problem.
function inputControl(input) {
  const id = uid('in');
  const type = input.type || 'string';
  const helpId = id + '-help';
  const describe = [input.description, input.format ? `format ${input.format}` : '', input.default !== undefined ? `default ${JSON.stringify(input.default)}` : '']
    .filter(Boolean).join(' · ');
  const labelText = `${input.name} (${type})`;
  const label = h('label', { for: id }, labelText, input.required ? h('span.required', { title: 'required', text: ' *' }) : null,
    input.required ? h('span.visually-hidden', { text: ' required' }) : null);
  let control;
  let read;
  const common = { id, name: input.name, 'aria-describedby': describe ? helpId : null, required: input.required || null };
  if (Array.isArray(input.enum) && input.enum.length) {
    control = h('select', common, input.required ? null : h('option', { value: '', text: '(not given)' }),
      input.enum.map((v, i) => h('option', { value: String(i), text: typeof v === 'string' ? v : JSON.stringify(v) })));
    const def = input.enum.findIndex((v) => JSON.stringify(v) === JSON.stringify(input.default));
    control.value = def >= 0 ? String(def) : input.required ? '0' : '';
    read = () => (control.value === '' ? undefined : input.enum[Number(control.value)]);
  } else if (type === 'boolean') {
    control = h('input', { ...common, type: 'checkbox', required: null, checked: input.default === true });
    read = () => control.checked;
  } else if (type === 'integer' || type === 'number') {
    control = h('input', { ...common, type: 'number', step: type === 'integer' ? '1' : 'any', inputmode: type === 'integer' ? 'numeric' : 'decimal',
      placeholder: input.default !== undefined ? String(input.default) : '' });
    read = () => {
      const v = control.value.trim();
      if (v === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) throw new Error(`${input.name} must be ${type === 'integer' ? 'an integer' : 'a number'}`);
      return n;
    };
  } else if (type === 'array' || type === 'object') {
    control = h('textarea.json-in', { ...common, rows: 3, spellcheck: 'false',
      placeholder: input.default !== undefined ? JSON.stringify(input.default) : type === 'array' ? '["a", "b"]' : '{"key": "value"}' });
    read = () => {
      const v = control.value.trim();
      if (v === '') return undefined;
      let parsed;
      try {
        parsed = JSON.parse(v);
      } catch (e) {
        throw new Error(`${input.name} is not JSON: ${e.message}`);
      }
      if (type === 'array' ? !Array.isArray(parsed) : (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) {
        throw new Error(`${input.name} must be a JSON ${type}`);
      }
      return parsed;
    };
  } else {
    control = h('input', { ...common, type: input.sensitive ? 'password' : input.format === 'email' ? 'email' : 'text',
      autocomplete: input.sensitive ? 'new-password' : 'off', spellcheck: 'false',
      placeholder: input.default !== undefined && !input.sensitive ? String(input.default) : '' });
    read = () => (control.value === '' ? undefined : control.value);
  }
  const wrap = h('div.field', { class: type === 'boolean' ? 'check' : null, 'data-input': input.name },
    type === 'boolean' ? [control, label] : [label, control],
    describe ? h('p.help', { id: helpId, text: describe }) : null,
    input.sensitive ? h('p.help', { text: 'Sensitive: kept sealed and shown as [REDACTED].' }) : null);
  return {
    el: wrap,
    read: () => {
      const v = read();
      if (v === undefined && input.required) throw new Error(`${input.name} is required`);
      return v;
    },
  };
}

function runForm(flow) {
  const inputs = flow.inputs || [];
  const controls = inputs.map((i) => ({ input: i, ...inputControl(i) }));
  const error = h('div.message', { 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit', id: 'run-flow', text: `Run ${flow.name}` });
  const form = h('form.run-form', { 'aria-labelledby': 'run-h', novalidate: true },
    h('h2', { id: 'run-h', text: 'Run it' }),
    controls.length ? null : h('p.muted', { text: 'This flow takes no inputs.' }),
    controls.map((c) => c.el),
    h('p.help', { text: '* required' }),
    submit, error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(error);
    const values = {};
    try {
      for (const c of controls) {
        const v = c.read();
        if (v !== undefined) values[c.input.name] = v;
      }
    } catch (e) {
      error.append(errorBox(e));
      return;
    }
    submit.disabled = true;
    try {
      const started = await api.post(`/api/v1/flows/${api.enc(flow.name)}/executions`, { inputs: values });
      window.location.hash = '#/executions/' + encodeURIComponent(started.execution_id);
    } catch (e) {
      error.append(errorBox(e, 'The flow was not started'));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function renderFlow(main, name, ctx) {
  ctx.title('Flow ' + name);
  const body = h('div', {}, loading());
  main.append(h('p.back', {}, h('a', { href: '#/flows', text: '← Flows' })), h('div.page-head', {}, h('h1', {}, 'Flow ', h('span.mono', { text: name }))), body);
  let stopped = false;
  api.get('/api/v1/flows/' + api.enc(name)).then((f) => {
    if (stopped) return;
    clear(body);
    body.append(
      f.description ? h('p.description', { text: f.description }) : null,
      facts([['File', f.file], ['Version (sha256)', f.sha256 ? h('span.mono', { text: String(f.sha256).slice(0, 16) }) : ''], ['Triggers', triggersEl(f.triggers)]]),
    );
    const cols = h('div.columns');
    const left = h('div');
    // Inputs
    left.append(h('h2', { text: 'Inputs' }));
    if ((f.inputs || []).length) {
      const t = table('Inputs', [{ label: 'Name' }, { label: 'Type' }, { label: 'Required' }, { label: 'Default', wide: true }, { label: 'Description', wide: true }]);
      for (const i of f.inputs) {
        t.tbody.append(h('tr', {},
          cell(h('span.mono.nowrap', { text: i.name })),
          cell(`${i.type}${i.enum ? ` (one of ${i.enum.map((v) => JSON.stringify(v)).join(', ')})` : ''}${i.sensitive ? ', sensitive' : ''}`),
          cell(i.required ? 'yes' : 'no'),
          cell(i.default !== undefined ? JSON.stringify(i.default) : '', true, 'mono'),
          cell(i.description || '', true)));
      }
      left.append(t.el);
    } else {
      left.append(h('p.muted', { text: 'None.' }));
    }
    if (ctx.can('operator')) left.append(runForm(f));
    // Recent executions
    const recent = h('div', {}, loading());
    left.append(h('h2', { text: 'Recent executions' }), recent,
      h('p', {}, h('a', { href: '#/executions?flow=' + encodeURIComponent(f.name), text: 'All executions of this flow' })));
    api.get('/api/v1/executions', { flow: f.name, limit: 10 }).then((list) => {
      clear(recent);
      const rows = list.executions || [];
      if (!rows.length) {
        recent.append(h('p.muted', { text: 'None yet.' }));
        return;
      }
      const t = table('Recent executions', [{ label: 'Execution' }, { label: 'Status' }, { label: 'Created', wide: true }, { label: 'Duration' }]);
      for (const r of rows) {
        t.tbody.append(h('tr', {},
          cell(h('a.mono', { href: '#/executions/' + encodeURIComponent(r.id), text: r.id })),
          cell(statusBadge(r.status)), cell(timeEl(r.created_at), true),
          cell(r.duration_ms !== undefined ? fmt.duration(r.duration_ms) : '', false, 'num')));
      }
      recent.append(t.el);
    }).catch((e) => clear(recent).append(errorBox(e)));
    const right = h('div', {}, h('h2', { text: 'Source' }), highlight(f.source || ''));
    cols.append(left, right);
    body.append(cols);
  }).catch((e) => clear(body).append(errorBox(e, 'The flow could not be read')));
  return () => {
    stopped = true;
  };
}
