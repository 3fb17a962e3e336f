// The settings forms: one form per settings section built from a list of
// keys, list editors, and the server's errors (nested as in the settings'
// JSON shape) shown under the input they concern.
import { h, mount, api, busy, toast, field, ApiError } from './lib.js';

/**
 * settingsForm edits keys of one settings section. A key is
 * [name, label, kind, help, options] where kind is 'string' (options:
 * {placeholder, suggestions}), 'boolean', 'number', 'password' (write-only:
 * empty keeps the stored secret), 'select' (options: [[value, label]]),
 * 'list' (options: see listEditor) or an editor object {build(value, name,
 * label, help) → {el, read(problems)}}. opts.intro(form) is shown above
 * the inputs, opts.extra(inputs) next to Save, opts.saved(settings) runs
 * after a save.
 */
export async function settingsForm(el, section, keys, opts = {}) {
  const all = await api('GET', '/api/settings');
  const cur = all[section] || {};
  const inputs = {};
  const form = h('form.card.settings-form', { novalidate: true });
  if (opts.intro) form.append(opts.intro(form));
  for (const [k, label, kind = typeof cur[k], help, extra] of keys) {
    const name = `${section}.${k}`;
    const id = `${section}-${k}`;
    if (typeof kind === 'object') {
      const editor = kind.build(cur[k], name, label, help);
      form.append(editor.el);
      inputs[k] = { read: editor.read };
    } else if (kind === 'list') {
      const editor = listEditor({ name, label, help, values: cur[k] || [], ...extra });
      form.append(editor.el);
      inputs[k] = { read: editor.read };
    } else if (kind === 'boolean') {
      const input = h('input#' + id, { type: 'checkbox', name, checked: !!cur[k], 'aria-describedby': id + '-err' });
      form.append(h('div.field.inline', h('label', input, ' ', label), help ? h('div.help', help) : null,
        h('div.field-error', { id: id + '-err', role: 'alert' })));
      inputs[k] = { read: () => input.checked };
    } else if (kind === 'number') {
      const input = h('input', { type: 'number', name, value: cur[k] ?? 0, step: 1, inputmode: 'numeric' });
      form.append(field(label, input, { help, id }));
      inputs[k] = { read: (problems) => wholeNumber(input, problems) };
    } else if (kind === 'select') {
      const options = [...extra];
      if (!options.some(([v]) => v === cur[k])) options.push([cur[k], String(cur[k])]);
      const input = h('select', { name }, options.map(([v, text]) => h('option', { value: String(v), selected: v === cur[k] }, text)));
      form.append(field(label, input, { help, id }));
      const numeric = typeof cur[k] === 'number';
      inputs[k] = { read: () => (numeric ? Number(input.value) : input.value) };
    } else {
      const secret = kind === 'password';
      const dl = extra?.suggestions ? h('datalist#' + id + '-list', extra.suggestions.map((s) => h('option', { value: s }))) : null;
      const input = h('input', {
        type: secret ? 'password' : 'text', name, value: secret ? '' : cur[k] ?? '', autocomplete: secret ? 'new-password' : 'off',
        placeholder: secret ? 'Unchanged (write-only)' : extra?.placeholder || '', list: dl ? id + '-list' : null, spellcheck: 'false',
      });
      form.append(field(label, input, { help, id }), dl);
      inputs[k] = { read: () => (secret ? input.value || undefined : input.value) };
    }
  }
  const save = h('button.primary', { type: 'submit' }, 'Save');
  const error = h('div.form-error', { role: 'alert' });
  form.append(error, h('div.form-actions', opts.extra ? opts.extra(inputs) : null, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const problems = {};
    const patch = {};
    for (const [k, { read }] of Object.entries(inputs)) {
      const v = read(problems);
      if (v !== undefined) patch[k] = v;
    }
    if (Object.keys(problems).length) {
      applyErrors(form, problems);
      error.textContent = 'Check the highlighted fields.';
      return;
    }
    await busy(save, async () => {
      try {
        const saved = await api('PATCH', '/api/settings', { [section]: patch });
        applyErrors(form, {});
        toast('Settings saved.');
        opts.saved?.(saved);
      } catch (err) {
        const messages = err instanceof ApiError ? fieldErrors(err.data) : {};
        const rest = applyErrors(form, messages);
        const inline = Object.keys(messages).length > rest.length;
        error.textContent = err.message + (rest.length ? ' ' + rest.join('; ') : '') + (inline ? ' Check the highlighted fields.' : '');
      }
    });
  });
  mount(el, form);
  return form;
}

/** wholeNumber reads an integer input, recording a problem when it is not one. */
export function wholeNumber(input, problems) {
  const s = input.value.trim();
  if (s === '') return 0;
  const n = Number(s);
  if (!Number.isInteger(n)) problems[input.name] = 'Must be a whole number.';
  return n;
}

/**
 * fieldErrors flattens an error's data, nested as in the JSON shape
 * ({rateLimits: {rules: {0: {label: {code, message}}}}}), into messages by
 * dotted name ("rateLimits.rules.0.label").
 */
export function fieldErrors(data, prefix = '') {
  const out = {};
  for (const [k, v] of Object.entries(data || {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!v || typeof v !== 'object') continue;
    if (typeof v.message === 'string' || typeof v.code === 'string') out[path] = v.message || v.code;
    else Object.assign(out, fieldErrors(v, path));
  }
  return out;
}

/**
 * applyErrors clears the errors of form, then shows each message under
 * the element named for it (slot id: the element's id + "-err") and moves
 * the focus to the first invalid input. It returns "name: message" for
 * the messages with no place in the form.
 */
export function applyErrors(form, messages) {
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const rest = [];
  for (const [name, msg] of Object.entries(messages)) {
    const target = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const slot = target && document.getElementById(target.id + '-err');
    if (slot) {
      slot.textContent = msg;
      target.setAttribute('aria-invalid', 'true');
    } else {
      rest.push(`${name}: ${msg}`);
    }
  }
  form.querySelector('input[aria-invalid=true], select[aria-invalid=true]')?.focus();
  return rest;
}

/**
 * listEditor edits a list of strings, one input per item, named
 * "name.0", "name.1"… so that errors keyed by index land under their item.
 * Empty items are dropped when read.
 */
export function listEditor({ name, label, help, values = [], placeholder = '', suggestions = [], itemLabel = 'Item', addLabel = 'Add' }) {
  const base = name.replace(/\./g, '-');
  const items = h('ul.list-items');
  const empty = h('p.muted.small.list-empty', 'None.');
  const dl = suggestions.length ? h('datalist#' + base + '-list', suggestions.map((s) => h('option', { value: s }))) : null;
  const renumber = () => {
    [...items.children].forEach((li, i) => {
      const [input, remove] = li.querySelectorAll('input, button');
      input.name = `${name}.${i}`;
      input.id = `${base}-${i}`;
      input.setAttribute('aria-label', `${itemLabel} ${i + 1}`);
      input.setAttribute('aria-describedby', input.id + '-err');
      li.querySelector('.field-error').id = input.id + '-err';
      remove.setAttribute('aria-label', `Remove ${itemLabel.toLowerCase()} ${i + 1}`);
    });
    empty.hidden = items.children.length > 0;
  };
  const add = (value, focus) => {
    const input = h('input', { value, placeholder, list: dl ? base + '-list' : null, spellcheck: 'false', autocomplete: 'off' });
    const li = h('li', h('div.list-item', input, h('button.small.ghost.danger', {
      type: 'button', title: 'Remove',
      onclick: () => {
        const next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        renumber();
        (next?.querySelector('input') || addBtn).focus();
      },
    }, '×')), h('div.field-error', { role: 'alert' }));
    items.append(li);
    renumber();
    if (focus) input.focus();
  };
  const addBtn = h('button.small', { type: 'button', onclick: () => add('', true) }, '+ ' + addLabel);
  const el = h('fieldset#' + base + '.list-editor', { name },
    h('legend', label), help ? h('div.help', help) : null, items, empty, dl,
    h('div.field-error', { id: base + '-err', role: 'alert' }), addBtn);
  values.forEach((v) => add(v));
  renumber();
  const read = () => {
    for (const li of [...items.children]) if (!li.querySelector('input').value.trim()) li.remove();
    renumber();
    return [...items.querySelectorAll('input')].map((i) => i.value.trim());
  };
  return { el, read };
}
