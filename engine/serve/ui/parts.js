// Small pieces shared by the pages.
import { h } from './dom.js';
import * as fmt from './format.js';

export function statusBadge(status) {
  const s = String(status || 'unknown');
  return h('span.status', { class: 'status-' + s.replace(/[^a-z_]/g, ''), text: s });
}

// An error from the API, as the page shows it: its message (and its details, when any).
export function errorBox(e, what = '') {
  const box = h('div.error-box', { role: 'alert' });
  box.append(h('p', { text: (what ? what + ': ' : '') + (e && e.message ? e.message : String(e)) }));
  if (e && e.details && !(typeof e.details === 'object' && Object.keys(e.details).length === 0)) {
    box.append(jsonBlock(e.details));
  }
  return box;
}

export function jsonBlock(value) {
  return h('pre.json', { text: fmt.json(value) });
}

// A definition list from [label, value] pairs; values may be nodes. Empty values are left out.
export function facts(pairs) {
  const dl = h('dl.facts');
  for (const [label, value] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    dl.append(h('div', {}, h('dt', { text: label }), h('dd', {}, value)));
  }
  return dl;
}

export function timeEl(iso) {
  if (!iso) return '';
  return h('time', { datetime: iso, title: iso, text: fmt.time(iso) });
}

export function loading(text = 'Loading…') {
  return h('p.loading', { role: 'status', text });
}

// A table with headers; `cols` is [{label, wide}] (wide: hidden on a phone).
export function table(caption, cols) {
  const tbody = h('tbody');
  const t = h(
    'table',
    {},
    caption ? h('caption.visually-hidden', { text: caption }) : null,
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.wide ? 'wide' : null, text: c.label })))),
    tbody,
  );
  return { el: h('div.table-wrap', {}, t), table: t, tbody };
}

export function cell(content, wide = false, cls = '') {
  return h('td', { class: [wide ? 'wide' : '', cls].join(' ').trim() || null }, content);
}

// Runs `fn` every `ms` while the page is visible; returns the stop function.
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (document.visibilityState === 'visible') {
      try {
        await fn();
      } catch {
        /* the next tick tries again */
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
