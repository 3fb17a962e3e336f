// Create or edit one record, with an input fitting each field type: file
// upload with preview, relation picker with search, select, JSON editor,
// date picker.
import { h, mount, api, qs, busy, toast, confirm, field, showErrors, fileURL, debounce, ApiError } from './lib.js';
import { state, go } from './app.js';
import { cell } from './records.js';
import { jsonField } from './json-editor.js';

const IMAGE = /\.(png|jpe?g|gif|webp|svg|avif)$/i;

export async function render(el, r) {
  await state.loadCollections();
  const col = state.collection(r.name);
  if (!col) throw new Error(`There is no collection "${r.name}".`);
  const isNew = r.id === 'new';
  const base = `/api/collections/${encodeURIComponent(col.name)}/records`;
  const rec = isNew ? {} : await api('GET', `${base}/${encodeURIComponent(r.id)}`);
  const back = '#/c/' + encodeURIComponent(col.name);
  const editors = [];
  const form = h('form.card.record-form', { novalidate: true });
  const error = h('div.form-error', { role: 'alert' });
  const save = h('button.primary', { type: 'submit' }, isNew ? 'Create' : 'Save changes');

  for (const f of col.fields) {
    if (f.name === 'id' && !isNew) continue;
    if (col.type === 'auth' && f.name === 'tokenKey') continue;
    const ed = editorFor(col, f, rec, isNew);
    if (ed) { editors.push(ed); form.append(ed.el); }
  }
  if (col.type === 'auth') {
    const confirmPw = h('input', { type: 'password', name: 'passwordConfirm', autocomplete: 'new-password' });
    editors.push({ el: null, collect(fd, data) { if (confirmPw.value) data.passwordConfirm = confirmPw.value; } });
    form.append(field('Password confirm', confirmPw));
  }
  form.append(error, h('div.form-actions', h('a.button.ghost', { href: back }, 'Cancel'), save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const fd = new FormData();
    const data = {};
    for (const ed of editors) {
      const problem = ed.collect(fd, data);
      if (problem) { error.textContent = problem; return; }
    }
    fd.append('@jsonPayload', JSON.stringify(data));
    await busy(save, async () => {
      try {
        const saved = await api(isNew ? 'POST' : 'PATCH', isNew ? base : `${base}/${encodeURIComponent(rec.id)}`, fd);
        toast(isNew ? `Created record ${saved.id}.` : 'Saved.');
        go(back);
      } catch (err) {
        const shown = showErrors(form, err);
        error.textContent = err.message + (shown ? ' See the fields above.' : '');
      }
    });
  });

  mount(el,
    h('div.page-head',
      h('div', h('p.crumbs', h('a', { href: back }, col.name), ' / ', isNew ? 'new' : rec.id),
        h('h1', isNew ? `New ${col.name} record` : `Edit record`)),
      isNew ? null : h('div.actions', h('button.danger', {
        type: 'button', onclick: async (e) => {
          if (!await confirm('Delete record', `Delete record ${rec.id}? This cannot be undone.`, { confirmLabel: 'Delete', danger: true })) return;
          await busy(e.currentTarget, async () => {
            try { await api('DELETE', `${base}/${encodeURIComponent(rec.id)}`); toast('Deleted.'); go(back); } catch (err) { toast(err.message, 'error'); }
          });
        },
      }, 'Delete'))),
    form);
  form.querySelector('input:not([type=hidden]), textarea, select')?.focus();
}

/** editorFor returns {el, collect(formData, jsonData)} for field f; collect returns a problem or ''. */
function editorFor(col, f, rec, isNew) {
  const v = rec[f.name];
  const label = f.name + (f.required && f.name !== 'id' ? ' *' : '');
  const help = [f.type, f.help].filter(Boolean).join(' · ');
  const simple = (input, get) => ({
    el: field(label, input, { help }),
    collect(fd, data) { const x = get(); if (x !== undefined) data[f.name] = x; return ''; },
  });
  switch (f.type) {
    case 'autodate':
      return isNew ? null : { el: h('div.field', h('span.label', f.name), h('div.readonly', cell(col, f, rec))), collect: () => '' };
    case 'bool': {
      const input = h('input', { type: 'checkbox', name: f.name, checked: !!v });
      return { el: h('div.field.inline', h('label', input, ' ', f.name)), collect(fd, data) { data[f.name] = input.checked; return ''; } };
    }
    case 'number': {
      const input = h('input', { type: 'number', name: f.name, step: f.onlyInt ? '1' : 'any', value: v ?? '', min: f.min ?? null, max: f.max ?? null });
      return simple(input, () => (input.value === '' ? (isNew ? undefined : null) : Number(input.value)));
    }
    case 'email': case 'url': {
      const input = h('input', { type: f.type, name: f.name, value: v ?? '' });
      return simple(input, () => input.value);
    }
    case 'password': {
      const input = h('input', { type: 'password', name: f.name, autocomplete: 'new-password', placeholder: isNew ? '' : 'Leave empty to keep' });
      return simple(input, () => (input.value ? input.value : undefined));
    }
    case 'editor': {
      const input = h('textarea.editor', { name: f.name, rows: 8 }, v ?? '');
      return simple(input, () => input.value);
    }
    case 'date': {
      const input = h('input', { type: 'datetime-local', name: f.name, step: '1', value: toLocalInput(v) });
      return simple(input, () => (input.value ? new Date(input.value).toISOString().replace('T', ' ') : ''));
    }
    case 'select': {
      const multi = f.maxSelect > 1;
      const cur = new Set([].concat(v ?? []));
      const input = h('select', { name: f.name, multiple: multi, size: multi ? Math.min(6, f.values.length) : null },
        multi ? null : h('option', { value: '' }, '—'),
        f.values.map((x) => h('option', { value: x, selected: cur.has(x) }, x)));
      return simple(input, () => (multi ? [...input.selectedOptions].map((o) => o.value) : input.value));
    }
    case 'json': return jsonEditor(f, v, label, help);
    case 'relation': return relationPicker(f, v, label, help);
    case 'file': return fileInput(col, f, rec, label, help);
    default: {
      const input = h('input', { type: 'text', name: f.name, value: v ?? '', placeholder: f.name === 'id' ? 'Leave empty to generate' : '' });
      return simple(input, () => (f.name === 'id' && !input.value ? undefined : input.value));
    }
  }
}

function toLocalInput(v) {
  if (!v) return '';
  const d = new Date(v.replace(' ', 'T'));
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function jsonEditor(f, v, label, help) {
  const ed = jsonField({ label, name: f.name, help, value: v === undefined || v === null ? '' : JSON.stringify(v, null, 2) });
  return { el: ed.el, collect(fd, data) {
    const p = ed.check();
    if (p) { ed.textarea.focus(); return p; }
    data[f.name] = ed.parsed();
    return '';
  } };
}

function relationPicker(f, v, label, help) {
  const target = state.collection(f.collectionId);
  const multi = f.maxSelect > 1;
  let ids = [].concat(v ?? []);
  const chips = h('div.chips');
  const search = h('input', { type: 'search', name: f.name, placeholder: `Search ${target?.name || 'records'}…`, autocomplete: 'off', role: 'combobox', 'aria-expanded': 'false' });
  const results = h('ul.picker-results', { role: 'listbox' });
  const labels = new Map();
  const drawChips = () => mount(chips, ids.map((id) => h('span.chip.rel', labels.get(id) || id, h('button.x', { type: 'button', 'aria-label': 'Remove ' + id, onclick: () => { ids = ids.filter((x) => x !== id); drawChips(); } }, '×'))));
  const title = (rec) => {
    const shown = (target?.fields || []).filter((x) => !x.hidden && x.name !== 'id' && rec[x.name] && (x.presentable || ['text', 'email', 'url'].includes(x.type)));
    shown.sort((a, b) => b.presentable - a.presentable);
    const label = shown.slice(0, 2).map((x) => rec[x.name]).join(' · ');
    return label ? `${label} (${rec.id})` : rec.id;
  };
  const find = debounce(async () => {
    if (!target) return;
    const term = search.value.trim().replace(/["\\]/g, '');
    const textFields = target.fields.filter((x) => ['text', 'email', 'url'].includes(x.type) && !x.hidden).map((x) => `${x.name} ~ "${term}"`);
    try {
      const res = await api('GET', `/api/collections/${encodeURIComponent(target.name)}/records` + qs({ perPage: 8, filter: term ? textFields.join(' || ') : '' }));
      mount(results, res.items.map((rec) => h('li', h('button', {
        type: 'button', role: 'option',
        onclick: () => { labels.set(rec.id, title(rec)); ids = multi ? [...new Set([...ids, rec.id])].slice(-f.maxSelect) : [rec.id]; drawChips(); mount(results); search.value = ''; search.setAttribute('aria-expanded', 'false'); },
      }, title(rec)))), res.items.length ? null : h('li.muted', 'No match.'));
      search.setAttribute('aria-expanded', 'true');
    } catch (e) { mount(results, h('li.field-error', e.message)); }
  }, 250);
  search.addEventListener('input', find);
  search.addEventListener('focus', find);
  search.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); results.querySelector('button')?.focus(); }
    if (e.key === 'Escape') { mount(results); search.setAttribute('aria-expanded', 'false'); }
  });
  results.addEventListener('keydown', (e) => {
    const items = [...results.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); items[Math.min(i + 1, items.length - 1)]?.focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i <= 0 ? search : items[i - 1]).focus(); }
  });
  drawChips();
  if (target && ids.length) {
    // Name the stored relations as the picker names its results.
    const filter = ids.slice(0, 50).map((id) => `id = "${id.replace(/["\\]/g, '')}"`).join(' || ');
    api('GET', `/api/collections/${encodeURIComponent(target.name)}/records` + qs({ perPage: 50, filter }))
      .then((res) => { for (const rec of res.items) labels.set(rec.id, title(rec)); drawChips(); })
      .catch(() => { /* the ids stay as they are */ });
  }
  const el = field(label, search, { help: `${help} → ${target?.name || f.collectionId}${multi ? `, up to ${f.maxSelect}` : ''}` });
  el.insertBefore(chips, search);
  el.append(results);
  return { el, collect(fd, data) { data[f.name] = multi ? ids : (ids[0] || ''); return ''; } };
}

function fileInput(col, f, rec, label, help) {
  const multi = f.maxSelect > 1;
  let kept = [].concat(rec[f.name] ?? []);
  const removed = new Set();
  const current = h('div.files');
  const previews = h('div.files');
  const input = h('input', { type: 'file', name: f.name, multiple: multi, accept: (f.mimeTypes || []).join(',') || null });
  const drawCurrent = () => mount(current, kept.map((name) => h('figure.file' + (removed.has(name) ? '.removed' : ''),
    IMAGE.test(name) ? h('img', { src: fileURL(col.id, rec.id, name, '100x100'), alt: '' }) : h('span.file-icon', 'file'),
    h('figcaption', h('a', { href: fileURL(col.id, rec.id, name), target: '_blank', rel: 'noopener' }, name)),
    h('button.x', { type: 'button', 'aria-label': (removed.has(name) ? 'Keep ' : 'Remove ') + name, onclick: () => { removed.has(name) ? removed.delete(name) : removed.add(name); drawCurrent(); } }, removed.has(name) ? '↺' : '×'))));
  input.addEventListener('change', () => {
    previews.querySelectorAll('img').forEach((i) => URL.revokeObjectURL(i.src));
    mount(previews, [...input.files].map((file) => h('figure.file.new',
      file.type.startsWith('image/') ? h('img', { src: URL.createObjectURL(file), alt: '' }) : h('span.file-icon', 'new'),
      h('figcaption', `${file.name} (${Math.ceil(file.size / 1024)} KiB)`))));
  });
  drawCurrent();
  const el = field(label, input, { help: `${help}${multi ? ` · up to ${f.maxSelect} files` : ''}` });
  el.insertBefore(current, input);
  el.append(previews);
  return {
    el,
    collect(fd) {
      for (const file of input.files) fd.append(multi ? f.name + '+' : f.name, file);
      if (removed.size) {
        if (multi || !input.files.length) for (const name of removed) fd.append(f.name + '-', name);
      }
      return '';
    },
  };
}
