// How values read on the page: times, durations, counts, JSON.

const pad = (n, w = 2) => String(n).padStart(w, '0');

// "2026-12-07 20:10:31" in the browser's time zone; '' for no time.
export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function duration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function count(n) {
  return Number(n).toLocaleString('en-US');
}

export function plural(n, one, many = one + 's') {
  return `${count(n)} ${n === 1 ? one : many}`;
}

// JSON laid out for reading: what fits in a line stays on one, long lists of plain values wrap,
// the rest is indented by two spaces.
const WIDTH = 76;
function flatJson(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map(flatJson).join(', ') + ']';
  return '{' + Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${flatJson(x)}`).join(', ') + '}';
}
export function json(value, indent = '') {
  if (value === undefined) return '';
  const flat = flatJson(value);
  if (value === null || typeof value !== 'object' || flat.length + indent.length <= WIDTH) return flat;
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const lines = [];
      let line = '';
      for (const v of value) {
        const item = JSON.stringify(v) + ',';
        if (line && inner.length + line.length + item.length > WIDTH) {
          lines.push(inner + line.trimEnd());
          line = '';
        }
        line += item + ' ';
      }
      if (line) lines.push(inner + line.trimEnd());
      lines[lines.length - 1] = lines[lines.length - 1].replace(/,$/, '');
      return '[\n' + lines.join('\n') + '\n' + indent + ']';
    }
    return '[\n' + value.map((v) => inner + json(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const entries = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${json(v, inner)}`);
  return '{\n' + entries.join(',\n') + '\n' + indent + '}';
}

// A Date (or ISO text) as the value of an <input type="datetime-local">, and back as RFC 3339.
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
export const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];
export const TRIGGERS = ['cli', 'api', 'schedule', 'okta_event', 'rerun'];
