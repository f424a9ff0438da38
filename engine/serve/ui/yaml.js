// A small YAML highlighter for reading flows: keys, strings, comments, `${{ }}` expressions,
// and plain scalars such as numbers and booleans. It only colours text: it builds spans with
// textContent, never markup from the source.
import { h } from './dom.js';

const KEY = /^(\s*(?:-\s+)*)((?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[\]},:][^#:]*?))(\s*:)(?=\s|$)/;
const LITERAL = /^(true|false|null|~|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/;

function pushText(out, cls, text) {
  if (!text) return;
  out.push(cls ? h('span', { class: cls, text }) : document.createTextNode(text));
}

// Text that may hold expressions, in class `cls`.
function withExpressions(out, cls, text) {
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${{', i);
    if (open < 0) break;
    const close = text.indexOf('}}', open + 3);
    const end = close < 0 ? text.length : close + 2;
    pushText(out, cls, text.slice(i, open));
    pushText(out, 'y-expr', text.slice(open, end));
    i = end;
  }
  pushText(out, cls, text.slice(i));
}

// The value part of a line (after `key:` or `- `).
function value(out, text) {
  let i = 0;
  let plain = '';
  const flushPlain = () => {
    if (!plain) return;
    const trimmed = plain.trim();
    withExpressions(out, LITERAL.test(trimmed) ? 'y-literal' : 'y-plain', plain);
    plain = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      flushPlain();
      pushText(out, 'y-comment', text.slice(i));
      return;
    }
    if ((c === '"' || c === "'") && (plain.trim() === '' || /[[{,:]\s*$/.test(plain))) {
      flushPlain();
      let j = i + 1;
      while (j < text.length) {
        if (c === '"' && text[j] === '\\') j += 2;
        else if (text[j] === c) {
          if (c === "'" && text[j + 1] === "'") j += 2;
          else break;
        } else j += 1;
      }
      withExpressions(out, 'y-string', text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if ('{}[],'.includes(c)) {
      flushPlain();
      pushText(out, 'y-punct', c);
      i += 1;
      continue;
    }
    // `key:` inside a flow mapping
    if (c === ':' && (text[i + 1] === ' ' || i + 1 === text.length) && plain.trim() && !plain.includes('${{')) {
      const lead = plain.match(/^\s*/)[0];
      pushText(out, null, lead);
      pushText(out, 'y-key', plain.slice(lead.length));
      plain = '';
      pushText(out, 'y-punct', ':');
      i += 1;
      continue;
    }
    if (c === '$' && text.startsWith('${{', i)) {
      flushPlain();
      const close = text.indexOf('}}', i + 3);
      const end = close < 0 ? text.length : close + 2;
      pushText(out, 'y-expr', text.slice(i, end));
      i = end;
      continue;
    }
    plain += c;
    i += 1;
  }
  flushPlain();
}

export function highlightLine(line) {
  const out = [];
  const trimmed = line.trimStart();
  if (trimmed.startsWith('#')) {
    pushText(out, null, line.slice(0, line.length - trimmed.length));
    pushText(out, 'y-comment', trimmed);
    return out;
  }
  const m = line.match(KEY);
  if (m) {
    pushText(out, 'y-punct', m[1]);
    pushText(out, 'y-key', m[2]);
    pushText(out, 'y-punct', m[3]);
    value(out, line.slice(m[0].length));
    return out;
  }
  const dash = line.match(/^(\s*-\s+|\s*-$)/);
  if (dash) {
    pushText(out, 'y-punct', dash[0]);
    value(out, line.slice(dash[0].length));
    return out;
  }
  value(out, line);
  return out;
}

// The source as a <pre> of numbered lines.
export function highlight(source) {
  const code = h('code.yaml');
  const frag = document.createDocumentFragment();
  const lines = String(source).replace(/\n$/, '').split('\n');
  for (const line of lines) {
    const span = h('span.line');
    span.append(...highlightLine(line));
    frag.append(span, '\n');
  }
  code.append(frag);
  return h('pre.source', { tabindex: '0', 'aria-label': 'Flow source' }, code);
}
