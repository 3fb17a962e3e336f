// A JSON editor without dependencies: a textarea with a line-number gutter
// kept in step with its scrolling, Tab and Shift+Tab to indent (Esc, then
// Tab, leaves the field, so the keyboard is never trapped), validation as
// you type with the error's line and column shown inline and its line
// highlighted, and a Format button.
import { h, debounce } from './lib.js';

const INDENT = '  ';
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock']);
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/** KEY_HELP tells keyboard users how to indent and how to leave the editor. */
export const KEY_HELP = 'Tab indents, Shift+Tab outdents, Enter keeps the indentation; press Esc, then Tab, to move on.';

/**
 * jsonField builds a labelled JSON editor. value is the initial text; the
 * textarea gets name and id, so showErrors finds it and its "-err" slot.
 * Returns {el, textarea, check(), format(), parsed()}: check() validates
 * and shows the outcome, returning '' or the problem; parsed() returns the
 * value (null when empty) and throws when the text is not JSON.
 */
export function jsonField({ label, name, value = '', help = '', id, onInput } = {}) {
  const fid = id || 'json-' + Math.random().toString(36).slice(2, 9);
  const textarea = h('textarea.je-text', {
    id: fid, name, rows: Math.min(Math.max(countLines(value) + 1, 5), 20), spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off', wrap: 'off',
    'aria-describedby': `${fid}-err ${fid}-help`, 'data-json-editor': '',
  });
  textarea.value = value;
  const numbers = h('pre.je-numbers');
  const gutter = h('div.je-gutter', { 'aria-hidden': 'true' }, numbers);
  const band = h('div.je-band', { 'aria-hidden': 'true', hidden: true });
  const err = h('div.field-error.je-error', { id: fid + '-err', role: 'alert' });
  const status = h('span.je-status', { 'aria-hidden': 'true' });
  const formatBtn = h('button.small.je-format', { type: 'button', title: 'Indent the JSON two spaces a level' }, 'Format');
  const el = h('div.field.json-field',
    h('div.je-head', h('label', { for: fid }, label), h('span.spacer'), status, formatBtn),
    h('div.json-editor', band, gutter, h('div.je-area', textarea)),
    h('div.help', { id: fid + '-help' }, [help, KEY_HELP].filter(Boolean).join(' · ')),
    err);

  let lineCount = 0;
  let errorLine = 0;
  let escaped = false; // Esc was pressed: the next Tab leaves the field

  const syncNumbers = () => {
    const n = countLines(textarea.value);
    if (n !== lineCount) {
      lineCount = n;
      let s = '';
      for (let i = 1; i <= n; i++) s += i + '\n';
      numbers.textContent = s;
    }
    syncScroll();
  };
  const syncScroll = () => {
    numbers.style.transform = `translateY(${-textarea.scrollTop}px)`;
    if (errorLine) {
      band.style.transform = `translateY(${(errorLine - 1) * lineHeight() - textarea.scrollTop}px)`;
    }
  };
  const lineHeight = () => parseFloat(getComputedStyle(textarea).lineHeight) || 20;

  const show = (problem) => {
    err.textContent = problem ? problem.text : '';
    errorLine = problem ? problem.line : 0;
    band.hidden = !problem;
    if (problem) textarea.setAttribute('aria-invalid', 'true');
    else textarea.removeAttribute('aria-invalid');
    status.textContent = problem ? '' : textarea.value.trim() ? 'Valid JSON' : '';
    syncScroll();
  };

  const check = () => {
    const p = locateError(textarea.value);
    show(p);
    return p ? `${name}: ${p.text}` : '';
  };
  const later = debounce(check, 200);

  const format = () => {
    const p = locateError(textarea.value);
    if (p) { show(p); moveTo(textarea, p.offset); return false; }
    if (!textarea.value.trim()) return true;
    replaceAll(textarea, JSON.stringify(JSON.parse(textarea.value), null, 2));
    check();
    return true;
  };

  textarea.addEventListener('input', () => { syncNumbers(); later(); onInput?.(); });
  textarea.addEventListener('scroll', syncScroll, { passive: true });
  textarea.addEventListener('blur', () => { escaped = false; });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { escaped = true; return; }
    if (MODIFIERS.has(e.key)) return; // Esc, Shift, Tab goes backwards
    if (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey && !e.isComposing) {
      escaped = false;
      e.preventDefault();
      newline(textarea);
      return;
    }
    if (e.key !== 'Tab' || e.ctrlKey || e.metaKey || e.altKey) { escaped = false; return; }
    if (escaped) { escaped = false; return; } // the browser moves the focus
    e.preventDefault();
    indent(textarea, e.shiftKey);
  });
  formatBtn.addEventListener('click', () => { if (!format()) textarea.focus(); });

  syncNumbers();
  if (textarea.value.trim()) check();
  return {
    el, textarea, check, format,
    parsed() { return textarea.value.trim() ? JSON.parse(textarea.value) : null; },
  };
}

function countLines(s) {
  let n = 1;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** replace puts text over [start, end) as typing would, so undo works. */
function replace(ta, start, end, text) {
  ta.focus();
  ta.setSelectionRange(start, end);
  if (!document.execCommand?.('insertText', false, text)) {
    ta.setRangeText(text, start, end, 'end');
    ta.dispatchEvent(new Event('input', { bubbles: true }));
  }
}

function replaceAll(ta, text) {
  replace(ta, 0, ta.value.length, text);
  ta.setSelectionRange(0, 0);
  ta.scrollTop = 0;
}

function moveTo(ta, offset) {
  ta.focus();
  ta.setSelectionRange(offset, offset);
}

/**
 * newline breaks the line keeping its indentation, one level deeper after
 * an opening bracket; between a pair of brackets the closing one moves to
 * a line of its own.
 */
function newline(ta) {
  const { value: v, selectionStart: s, selectionEnd: e } = ta;
  const from = v.lastIndexOf('\n', s - 1) + 1;
  const lead = /^[ \t]*/.exec(v.slice(from, s))[0];
  const before = v.slice(from, s).trimEnd().slice(-1);
  const after = v.slice(e).trimStart()[0];
  if (before === '{' || before === '[') {
    const inner = '\n' + lead + INDENT;
    const pair = (before === '{' && after === '}') || (before === '[' && after === ']');
    const rest = v.slice(e);
    const gap = rest.length - rest.trimStart().length;
    replace(ta, s, pair ? e + gap : e, pair ? inner + '\n' + lead : inner);
    ta.setSelectionRange(s + inner.length, s + inner.length);
    return;
  }
  replace(ta, s, e, '\n' + lead);
}

/** indent indents (or outdents) the caret's line or every selected line. */
function indent(ta, out) {
  const { value: v, selectionStart: s, selectionEnd: e } = ta;
  if (!out && s === e) { replace(ta, s, e, INDENT); return; }
  const from = v.lastIndexOf('\n', s - 1) + 1;
  const lastEnd = e > s && v[e - 1] === '\n' ? e - 1 : e;
  let to = v.indexOf('\n', lastEnd);
  if (to === -1) to = v.length;
  const lines = v.slice(from, to).split('\n');
  let firstDelta = 0;
  const changed = lines.map((l, i) => {
    if (!out) { if (i === 0) firstDelta = INDENT.length; return INDENT + l; }
    const cut = l.startsWith(INDENT) ? INDENT.length : l.startsWith(' ') || l.startsWith('\t') ? 1 : 0;
    if (i === 0) firstDelta = -cut;
    return l.slice(cut);
  }).join('\n');
  if (changed === v.slice(from, to)) return;
  replace(ta, from, to, changed);
  const delta = changed.length - (to - from);
  ta.setSelectionRange(Math.max(from, s + firstDelta), Math.max(from, e + delta));
}

/**
 * locateError returns null when text is JSON (or empty), otherwise
 * {line, column, offset, message, text} of the first error, found by a
 * small scanner that follows RFC 8259 (JSON.parse gives no position in
 * every browser).
 */
export function locateError(text) {
  if (!text.trim()) return null;
  const p = scan(text);
  if (!p) {
    // The scanner and JSON.parse must agree; if they ever do not, the
    // browser's message still blocks the save.
    try { JSON.parse(text); return null; } catch (e) { return at(text, 0, e.message); }
  }
  return at(text, p.offset, p.message);
}

function at(text, offset, message) {
  let line = 1, col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return { line, column: col, offset, message, text: `Line ${line}, column ${col}: ${message}` };
}

/** scan returns null when s is one JSON value, else {offset, message}. */
function scan(s) {
  let i = 0;
  const fail = (message, off = i) => { throw { offset: off, message }; };
  const ws = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++; };
  const describe = () => (i >= s.length ? 'the end of the text' : `“${s[i]}”`);
  const literal = (word) => { if (s.startsWith(word, i)) i += word.length; else fail(`unexpected ${describe()}; expected a value`); };
  const string = () => {
    const start = i++;
    for (;;) {
      if (i >= s.length) fail('unterminated string', start);
      const c = s.charCodeAt(i);
      if (c === 34) { i++; return; }
      if (c < 0x20) fail('a control character (such as a line break) inside a string must be escaped');
      if (c === 92) {
        const n = s[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) fail('\\u must be followed by four hex digits');
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else fail(`invalid escape \\${n ?? ''}`);
      } else i++;
    }
  };
  const number = () => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(s);
    if (!m) fail('invalid number');
    i += m[0].length;
    if (i < s.length && /[0-9.eE+-]/.test(s[i])) fail('invalid number');
  };
  const value = (depth) => {
    if (depth > 500) fail('nested too deeply');
    ws();
    const c = s[i];
    if (c === '{') {
      i++; ws();
      if (s[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (s[i] !== '"') fail(s[i] === '}' ? 'a comma may not come before “}”' : `expected a property name in double quotes, found ${describe()}`);
        string(); ws();
        if (s[i] !== ':') fail(`expected “:” after the property name, found ${describe()}`);
        i++;
        value(depth + 1); ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return; }
        fail(`expected “,” or “}” after a property value, found ${describe()}`);
      }
    }
    if (c === '[') {
      i++; ws();
      if (s[i] === ']') { i++; return; }
      for (;;) {
        ws();
        if (s[i] === ']') fail('a comma may not come before “]”');
        value(depth + 1); ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return; }
        fail(`expected “,” or “]” after an array element, found ${describe()}`);
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c >= '0' && c <= '9')) return number();
    if (c === "'") fail('strings need double quotes, not single quotes');
    fail(`unexpected ${describe()}; expected a value`);
  };
  try {
    value(0); ws();
    if (i < s.length) fail(`unexpected ${describe()} after the value`);
    return null;
  } catch (e) {
    if (e && typeof e.offset === 'number') return e;
    throw e;
  }
}
