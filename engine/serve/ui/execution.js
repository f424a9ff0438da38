// #/executions/<id>: one execution, its step tree and timeline, followed live while it runs.
import { h, clear, link } from './dom.js';
import * as api from './api.js';
import * as fmt from './format.js';
import { statusBadge, errorBox, jsonBlock, facts, timeEl, loading } from './parts.js';
import { buildTree, TreeView } from './steptree.js';

const STEPS_PAGE = 1000; // the API's largest page
const TIMELINE_OPEN = 300; // timelines of more step runs start closed
const TIMELINE_FIRST = 500; // and then show the longest runs first

// The execution with every page of its step runs; `onFirst` sees the first page when more follow.
export async function readExecution(id, signal, onFirst = null) {
  const path = '/api/v1/executions/' + api.enc(id);
  const first = await api.get(path, { steps_limit: STEPS_PAGE }, { signal });
  const steps = first.steps || [];
  if (first.steps_next_offset !== undefined && first.steps_next_offset !== null) {
    if (onFirst) onFirst({ ...first, steps: [...steps] });
    const offsets = [];
    for (let at = first.steps_next_offset; at < first.steps_total; at += STEPS_PAGE) offsets.push(at);
    const pages = await Promise.all(offsets.map((o) => api.get(path, { steps_offset: o, steps_limit: STEPS_PAGE }, { signal })));
    for (const p of pages) for (const s of p.steps || []) steps.push(s);
  }
  first.steps = steps;
  return first;
}

// The trigger's type, who started it (triggered_by) and, for schedules and events, what fired.
function triggerText(e) {
  const parts = [e.trigger || 'unknown'];
  if (e.triggered_by) parts.push(`by ${e.triggered_by}`);
  const detail = e.trigger_detail;
  if (detail && typeof detail === 'object') {
    if (detail.cron) parts.push(`(${detail.cron}${detail.timezone ? ' ' + detail.timezone : ''})`);
    if (detail.event_type) parts.push(`(${detail.event_type})`);
  }
  return parts.join(' ');
}

export function renderExecution(main, id, ctx) {
  ctx.title('Execution ' + id);
  const abort = new AbortController();
  let stream = null;
  let pollStop = null;
  let stopped = false;
  let exec = null;
  let view = null;
  let refreshing = false;
  let refreshAgain = false;
  let refreshTimer = null;
  let lastReadMs = 0;

  const statusSlot = h('span', { id: 'exec-status', 'aria-live': 'polite' });
  const liveNote = h('span.live', { id: 'exec-live' });
  const head = h('div.page-head', {}, h('h1', {}, 'Execution ', h('span.mono', { text: id })), h('p.status-line', {}, statusSlot, ' ', liveNote));
  const summary = h('section.summary', { 'aria-label': 'Summary' });
  const buttons = h('div.buttons', { id: 'exec-actions' });
  const message = h('div.message', { 'aria-live': 'polite' });
  const values = h('section.values', { 'aria-label': 'Inputs and outputs' });
  const stepsCount = h('p.count', { id: 'steps-count' });
  const tree = h('div.tree-box', { id: 'step-tree' });
  const timeline = h('div.timeline-box', { id: 'timeline' });
  main.append(
    h('p.back', {}, h('a', { href: '#/executions', text: '← Executions' })),
    head, summary, buttons, message, values,
    h('section', { 'aria-labelledby': 'steps-h' }, h('h2', { id: 'steps-h', text: 'Steps' }), stepsCount, tree),
    h('section', { 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h', text: 'Timeline' }), timeline),
  );
  tree.append(loading('Loading the execution…'));

  function drawSummary(e) {
    clear(statusSlot).append(statusBadge(e.status));
    statusSlot.dataset.status = e.status;
    const hash = e.flow_hash ? String(e.flow_hash) : '';
    const started = e.started_at ? Date.parse(e.started_at) : null;
    const dur = e.duration_ms !== undefined ? fmt.duration(e.duration_ms)
      : started && !fmt.FINISHED.has(e.status) ? `${fmt.duration(Date.now() - started)} so far` : '';
    clear(summary).append(facts([
      ['Flow', h('span', {}, link(e.flow, 'flows', e.flow), hash ? h('span.mono.hash', { title: hash, text: ' version ' + hash.slice(0, 12) }) : '')],
      ['Trigger', triggerText(e)],
      ['Created', timeEl(e.created_at)],
      ['Started', timeEl(e.started_at)],
      ['Finished', timeEl(e.finished_at)],
      ['Duration', dur],
      ['Wakes', e.status === 'waiting' ? timeEl(e.wakes_at) : ''],
      ['Parent', e.parent_id ? h('a.mono', { href: '#/executions/' + encodeURIComponent(e.parent_id), text: e.parent_id }) : ''],
      ['Flow file', e.flow_file || ''],
    ]));
    if (e.error && typeof e.error === 'object') {
      summary.append(h('div.error-box', { id: 'exec-error', role: 'note' },
        h('p', {}, h('strong', { text: (e.error.kind || 'error') + ': ' }), String(e.error.message || '')),
        e.error.step ? h('p', {}, 'at step ', h('span.mono', { text: String(e.error.step) })) : null));
    }
  }

  function drawValues(e) {
    clear(values);
    const block = (label, v, open) => {
      if (v === undefined || v === null || (typeof v === 'object' && Object.keys(v).length === 0)) return;
      const d = h('details.value-box', { open }, h('summary', { text: label }), jsonBlock(v));
      values.append(d);
    };
    block('Inputs', e.inputs, true);
    block('Outputs', e.outputs, true);
  }

  function act(label, path, confirmText, after) {
    const b = h('button', { type: 'button', 'data-action': label.toLowerCase(), text: label });
    b.addEventListener('click', async () => {
      if (confirmText && !window.confirm(confirmText)) return;
      b.disabled = true;
      clear(message);
      try {
        const body = await api.post(`/api/v1/executions/${api.enc(id)}/${path}`);
        after(body);
      } catch (e) {
        message.append(errorBox(e, `${label} was refused`));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  function drawButtons(e) {
    clear(buttons);
    if (!ctx.can('operator')) return;
    const done = fmt.FINISHED.has(e.status);
    const top = !e.parent_id;
    if (!done) {
      buttons.append(act('Cancel', 'cancel', 'Cancel this execution? Its finally steps still run.', () => {
        message.append(h('p.ok', { text: 'Cancel requested.' }));
        follow();
      }));
    }
    if (top && (e.status === 'failed' || e.status === 'cancelled')) {
      buttons.append(act('Retry', 'retry', null, () => {
        message.append(h('p.ok', { text: 'Retrying: finished steps are kept, failed ones run again.' }));
        refreshSoon(0);
        follow();
      }));
    }
    if (top && done) {
      buttons.append(act('Rerun', 'rerun', null, (body) => {
        window.location.hash = '#/executions/' + encodeURIComponent(body.execution_id);
      }));
    }
  }

  function drawTree(e, partial = false) {
    const steps = e.steps || [];
    const focusedKey = document.activeElement && document.activeElement.closest ? document.activeElement.closest('[data-key]')?.dataset.key : null;
    const root = buildTree(steps);
    if (!view) view = new TreeView({ total: steps.length });
    const ul = view.render(root);
    clear(tree);
    if (!steps.length) tree.append(h('p.empty', { text: fmt.FINISHED.has(e.status) ? 'No step ran.' : 'No step has run yet.' }));
    else tree.append(ul);
    const failed = steps.filter((s) => s.status === 'failed').length;
    stepsCount.textContent = partial
      ? `Loading step runs: ${fmt.count(steps.length)} of ${fmt.count(e.steps_total)} so far…`
      : `${fmt.plural(steps.length, 'step run')}${failed ? `, ${fmt.count(failed)} failed` : ''}`;
    tree.dataset.ready = partial ? 'partial' : 'true';
    tree.dataset.steps = String(steps.length);
    if (focusedKey) {
      const again = tree.querySelector(`[data-key="${CSS.escape(focusedKey)}"] > summary`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  let timelineOpen = null;
  let timelineAll = false;
  function drawTimeline(e) {
    const runs = (e.steps || []).filter((s) => s.started_at);
    clear(timeline);
    if (!runs.length) {
      timeline.append(h('p.empty', { text: 'Nothing has started yet.' }));
      return;
    }
    const now = Date.now();
    let t0 = Infinity;
    let t1 = -Infinity;
    const spans = runs.map((s, i) => {
      const a = Date.parse(s.started_at);
      const b = s.finished_at ? Date.parse(s.finished_at) : now;
      t0 = Math.min(t0, a);
      t1 = Math.max(t1, b);
      return { s, a, b, i };
    });
    const total = Math.max(1, t1 - t0);
    const open = timelineOpen ?? runs.length <= TIMELINE_OPEN;
    const box = h('details.timeline', { open }, h('summary', { text: `${fmt.plural(runs.length, 'step run')} over ${fmt.duration(t1 - t0)}` }));
    box.addEventListener('toggle', () => {
      timelineOpen = box.open;
      if (box.open && !box.dataset.drawn) fill();
    });
    const fill = () => {
      box.dataset.drawn = '1';
      let shown = spans;
      let note = null;
      if (!timelineAll && spans.length > TIMELINE_FIRST) {
        shown = [...spans].sort((x, y) => (y.b - y.a) - (x.b - x.a)).slice(0, TIMELINE_FIRST);
        const all = h('button.secondary.small', { type: 'button', text: `Show all ${fmt.count(spans.length)}` });
        all.addEventListener('click', () => {
          timelineAll = true;
          drawTimeline(exec);
        });
        note = h('p.note', {}, `The ${fmt.count(TIMELINE_FIRST)} longest step runs, in order of start. `, all);
      }
      shown = [...shown].sort((x, y) => x.a - y.a || x.i - y.i);
      const axis = h('div.axis', { 'aria-hidden': 'true' }, h('span', { text: fmt.time(new Date(t0).toISOString()) }), h('span', { text: '+' + fmt.duration(total) }));
      const rows = h('ol.bars');
      const frag = document.createDocumentFragment();
      for (const { s, a, b } of shown) {
        const bar = h('span.bar', { class: 'status-' + String(s.status).replace(/[^a-z_]/g, '') });
        bar.style.left = `${((a - t0) / total) * 100}%`;
        bar.style.width = `${Math.max(0.3, ((b - a) / total) * 100)}%`;
        const label = `${s.path}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}`;
        frag.append(h('li.bar-row', { title: `${label}: ${s.status}, ${fmt.duration(b - a)}` },
          h('span.bar-label.mono', { text: label }),
          h('span.track', {}, bar),
          h('span.bar-dur', { text: fmt.duration(b - a) })));
      }
      rows.append(frag);
      if (note) box.append(note);
      box.append(axis, rows);
    };
    if (open) fill();
    timeline.append(box);
  }

  function draw(e, partial = false) {
    exec = e;
    ctx.title(`${e.flow} ${e.status} · ${id}`);
    drawSummary(e);
    drawButtons(e);
    drawValues(e);
    drawTree(e, partial);
    if (partial) clear(timeline).append(loading('The timeline follows when every step run is read.'));
    else drawTimeline(e);
  }

  async function refresh() {
    if (stopped) return;
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshing = true;
    const t = performance.now();
    try {
      // The first page is drawn at once when the execution is new to the page (a big one's
      // tree is then usable while the rest is read).
      const first = exec ? null : (partial) => {
        if (!stopped) draw(partial, true);
      };
      const e = await readExecution(id, abort.signal, first);
      lastReadMs = performance.now() - t;
      if (stopped) return;
      draw(e);
      if (fmt.FINISHED.has(e.status) && !stream) stopPolling();
    } catch (err) {
      if (err.name === 'AbortError' || stopped) return;
      clear(message).append(errorBox(err, 'The execution could not be read'));
      if (!exec) {
        clear(tree);
        tree.dataset.ready = 'error';
      }
    } finally {
      refreshing = false;
      if (refreshAgain && !stopped) {
        refreshAgain = false;
        refreshSoon();
      }
    }
  }

  // Reads the execution again soon, not more often than its reading allows.
  function refreshSoon(delay = Math.max(250, 2 * lastReadMs)) {
    if (refreshTimer || stopped) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh();
    }, delay);
  }

  function stopPolling() {
    if (pollStop) clearInterval(pollStop);
    pollStop = null;
  }

  // Follows the execution while it runs: each journaled step run, then its end.
  function follow() {
    if (stream || stopped) return;
    liveNote.textContent = 'live';
    stream = new EventSource(`/api/v1/executions/${api.enc(id)}/events`);
    stream.addEventListener('step', () => refreshSoon());
    stream.addEventListener('end', () => {
      closeStream();
      refreshSoon(0);
    });
    stream.addEventListener('error', () => {
      // Closed for good (refused, or the service went away): poll instead until it ends.
      if (stream && stream.readyState === EventSource.CLOSED) {
        closeStream();
        if (!pollStop && exec && !fmt.FINISHED.has(exec.status)) {
          liveNote.textContent = 'refreshing every 2 s';
          pollStop = setInterval(() => refreshSoon(0), 2000);
        }
      }
    });
  }

  function closeStream() {
    if (stream) stream.close();
    stream = null;
    liveNote.textContent = '';
  }

  (async () => {
    await refresh();
    if (exec && !fmt.FINISHED.has(exec.status)) follow();
  })();

  return () => {
    stopped = true;
    abort.abort();
    closeStream();
    stopPolling();
    if (refreshTimer) clearTimeout(refreshTimer);
  };
}
