// The step runs of an execution as a tree, for reading: step paths such as `each[3].call`,
// `both.left.x`, `both[1].right`, `retry@2.inner` are split into segments; a segment that no
// step run stands for (an iteration `[3]`, a branch, `catch`, `@2`) becomes a group.
import { h, add } from './dom.js';
import * as fmt from './format.js';
import { statusBadge, jsonBlock } from './parts.js';

const SEGMENT = /^[^.[@/]+|\.[^.[@/]*|\[[^\]]*\]|@[^.[@/]*|\/[^.[@/]*/g;
const LOOP_KINDS = new Set(['for_each', 'until']);
const BIG_LOOP = 20; // loops with more iterations start collapsed
const CHUNK = 200; // children drawn at a time
const RANK = { failed: 6, interrupted: 6, running: 5, waiting: 4, queued: 3, cancelled: 2, succeeded: 1, skipped: 0 };

export function segments(path) {
  const out = String(path).match(SEGMENT);
  return out && out.join('') === String(path) ? out : [String(path)];
}

const ms = (iso) => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

function node(key, seg, parent) {
  const index = seg[0] === '[' ? Number(seg.slice(1, -1)) : null;
  return { key, seg, index, parent, seq: Infinity, runs: [], children: new Map(), list: null, agg: null };
}

// The tree of `steps` (the API's step runs, any order).
export function buildTree(steps) {
  const root = node('', '', null);
  for (let i = 0; i < steps.length; i++) {
    const run = steps[i];
    let at = root;
    let key = '';
    for (const seg of segments(run.path)) {
      key += seg;
      let next = at.children.get(seg);
      if (!next) {
        next = node(key, seg, at);
        next.seq = i; // the journal's order breaks ties of start times
        at.children.set(seg, next);
      }
      at = next;
    }
    at.runs.push(run);
  }
  finish(root);
  return root;
}

// Sorts children and attempts, and sums up each subtree: its status, span, counts.
function finish(n) {
  if (n.runs.length > 1) n.runs.sort((a, b) => a.attempt - b.attempt);
  const kids = [...n.children.values()];
  for (const k of kids) finish(k);
  kids.sort((a, b) => {
    if (a.index !== null && b.index !== null) return a.index - b.index;
    const sa = a.agg.start ?? Infinity;
    const sb = b.agg.start ?? Infinity;
    return sa - sb || a.seq - b.seq;
  });
  n.list = kids;
  const agg = { runs: n.runs.length, start: null, end: null, status: null, failedRuns: 0, iterations: 0, failedIterations: 0, runningIterations: 0 };
  for (const r of n.runs) {
    const s = ms(r.started_at);
    const e = ms(r.finished_at);
    if (s !== null && (agg.start === null || s < agg.start)) agg.start = s;
    if (e !== null && (agg.end === null || e > agg.end)) agg.end = e;
    if (r.status === 'failed') agg.failedRuns += 1;
  }
  let worst = null;
  for (const k of kids) {
    agg.runs += k.agg.runs;
    agg.failedRuns += k.agg.failedRuns;
    if (k.agg.start !== null && (agg.start === null || k.agg.start < agg.start)) agg.start = k.agg.start;
    if (k.agg.end !== null && (agg.end === null || k.agg.end > agg.end)) agg.end = k.agg.end;
    if (k.index !== null) {
      agg.iterations += 1;
      if (k.agg.status === 'failed') agg.failedIterations += 1;
      else if (k.agg.status === 'running') agg.runningIterations += 1;
    }
    if (worst === null || (RANK[k.agg.status] ?? 0) > (RANK[worst] ?? 0)) worst = k.agg.status;
  }
  // A step's own status is its last attempt's; a group's is the worst of what it holds.
  agg.status = n.runs.length ? n.runs[n.runs.length - 1].status : worst || 'succeeded';
  n.agg = agg;
}

function kindOf(n) {
  return n.runs.length ? n.runs[n.runs.length - 1].kind : '';
}

function groupLabel(n) {
  const parentKind = n.parent ? kindOf(n.parent) : '';
  const s = n.seg;
  if (s[0] === '[') return (parentKind === 'parallel' ? 'branch ' : 'iteration ') + s.slice(1, -1);
  if (s[0] === '@') return 'attempt ' + s.slice(1);
  if (s[0] === '.' && parentKind === 'parallel') return 'branch ' + s.slice(1);
  return s.replace(/^[./]/, '');
}

function isLoop(n) {
  const kind = kindOf(n);
  if (kind) return LOOP_KINDS.has(kind);
  return n.agg.iterations > 0 && n.agg.iterations === n.list.length; // a retried loop's `@2`
}

// Renders trees of step runs lazily: a node's inside is built the first time it is opened.
export class TreeView {
  constructor({ total }) {
    this.open = new Map(); // key -> open, as the reader left it
    this.shown = new Map(); // key -> children drawn
    this.small = total <= 500; // small executions open their failed steps
  }

  // The tree's top level as a fragment.
  render(root) {
    const ul = h('ul.tree', { role: 'list' });
    this.drawChildren(ul, root);
    return ul;
  }

  defaultOpen(n) {
    if (n.list.length === 0) return this.small && n.agg.status === 'failed';
    if (isLoop(n)) return n.agg.iterations <= BIG_LOOP;
    if (!n.runs.length) return n.parent && isLoop(n.parent) ? n.agg.status === 'failed' && this.small : true;
    return true;
  }

  drawChildren(ul, n) {
    const kids = n.list;
    const limit = Math.max(this.shown.get(n.key) || CHUNK, CHUNK);
    const frag = document.createDocumentFragment();
    const upto = Math.min(kids.length, limit);
    for (let i = 0; i < upto; i++) frag.append(this.item(kids[i]));
    ul.append(frag);
    if (upto < kids.length) this.moreButton(ul, n, upto);
  }

  moreButton(ul, n, from) {
    const left = n.list.length - from;
    const more = h('li.more', {}, h('button.secondary.small', { type: 'button', 'data-more': n.key, text: `Show ${fmt.count(Math.min(left, CHUNK))} more of ${fmt.count(left)}` }));
    more.firstChild.addEventListener('click', () => {
      const upto = Math.min(n.list.length, from + CHUNK);
      this.shown.set(n.key, upto);
      const frag = document.createDocumentFragment();
      for (let i = from; i < upto; i++) frag.append(this.item(n.list[i]));
      more.replaceWith(frag);
      if (upto < n.list.length) this.moreButton(ul, n, upto);
      const next = ul.querySelector(`[data-key="${CSS.escape(n.list[from].key)}"] > summary`);
      if (next) next.focus();
    });
    ul.append(more);
  }

  item(n) {
    const li = h('li.node', { 'data-status': n.agg.status });
    const hasInside = n.runs.length > 0 || n.list.length > 0;
    const details = h('details', { 'data-key': n.key, 'data-path': n.runs.length ? n.key : null });
    const summary = h('summary', {}, this.line(n));
    details.append(summary);
    const wantOpen = this.open.has(n.key) ? this.open.get(n.key) : this.defaultOpen(n);
    let built = false;
    const build = () => {
      if (built) return;
      built = true;
      details.append(this.inside(n));
    };
    details.addEventListener('toggle', () => {
      this.open.set(n.key, details.open);
      if (details.open) build();
    });
    if (wantOpen && hasInside) {
      build();
      details.open = true;
    }
    li.append(details);
    return li;
  }

  line(n) {
    const frag = document.createDocumentFragment();
    const agg = n.agg;
    const span = agg.start !== null && agg.end !== null ? agg.end - agg.start : null;
    if (n.runs.length) {
      const last = n.runs[n.runs.length - 1];
      add(frag, [statusBadge(last.status), ' ', h('span.step-name', { text: n.seg.replace(/^[./]/, '') }), ' ', h('span.kind', { text: last.kind })]);
      if (last.attempt > 1 || n.runs.length > 1) add(frag, [' ', h('span.attempt', { text: `attempt ${last.attempt}` })]);
      const d = last.duration_ms ?? (n.list.length ? span : null);
      if (d !== null && d !== undefined) add(frag, [' ', h('span.dur', { text: fmt.duration(d) })]);
    } else {
      add(frag, [statusBadge(agg.status), ' ', h('span.group-name', { text: groupLabel(n) })]);
      if (span !== null) add(frag, [' ', h('span.dur', { text: fmt.duration(span) })]);
    }
    if (agg.iterations > 0 && isLoop(n)) {
      let text = fmt.plural(agg.iterations, 'iteration');
      if (agg.failedIterations) text += `, ${fmt.count(agg.failedIterations)} failed`;
      if (agg.runningIterations) text += `, ${fmt.count(agg.runningIterations)} running`;
      add(frag, [' ', h('span.counts', { text })]);
    } else if (n.list.length && !n.runs.length && agg.runs > 1) {
      add(frag, [' ', h('span.counts', { text: fmt.plural(agg.runs, 'step run') })]);
    }
    if (n.runs.length) {
      const last = n.runs[n.runs.length - 1];
      if (last.error && last.error.message) add(frag, [' ', h('span.step-error', { text: String(last.error.message) })]);
    }
    return frag;
  }

  inside(n) {
    const box = h('div.inside');
    if (n.runs.length) {
      const io = h('div.attempts');
      for (const r of n.runs) io.append(this.attempt(r, n.runs.length));
      if (n.list.length) {
        const d = h('details.io', {}, h('summary', { text: `${n.seg.replace(/^[./]/, '')}: inputs and outputs` }));
        let built = false;
        d.addEventListener('toggle', () => {
          if (d.open && !built) {
            built = true;
            d.append(io);
          }
        });
        box.append(d);
      } else {
        box.append(io);
      }
    }
    if (n.list.length) {
      const ul = h('ul.tree', { role: 'list' });
      this.drawChildren(ul, n);
      box.append(ul);
    }
    return box;
  }

  attempt(r, attempts) {
    const head = [];
    if (attempts > 1) head.push(h('strong', { text: `attempt ${r.attempt}` }), ' ', statusBadge(r.status), ' ');
    head.push(h('span.mono.path', { text: r.path }));
    if (r.started_at) head.push(' · started ', fmt.time(r.started_at));
    if (r.duration_ms !== undefined) head.push(' · ', fmt.duration(r.duration_ms));
    const box = h('div.attempt', { 'data-attempt': r.attempt }, h('p.attempt-head', {}, head));
    const block = (label, v) => {
      if (v === undefined || v === null) return;
      box.append(h('div.value', {}, h('h4', { text: label }), jsonBlock(v)));
    };
    block('Inputs', r.inputs);
    block('Outputs', r.outputs);
    if (r.error) box.append(h('div.value.value-error', {}, h('h4', { text: 'Error' }), jsonBlock(r.error)));
    block('HTTP client', r.client);
    return box;
  }
}
