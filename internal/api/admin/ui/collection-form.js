// Create or edit a collection: name and type, every field type with its
// options, API rules checked by the server as they are typed (a dry run of
// the save: the errors are the filter compiler's own), indexes, and a clear
// warning before a change that drops data.
import { h, mount, api, busy, toast, confirm, dialog, field, debounce, ApiError } from './lib.js';
import { state, go } from './app.js';
import { authOptions, AUTH_KEYS } from './auth-options.js';

const TYPES = ['text', 'number', 'bool', 'email', 'url', 'editor', 'date', 'autodate', 'select', 'json', 'relation', 'file', 'password'];
const RULES = ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule'];
const AUTH_RULES = ['authRule', 'manageRule'];
const RULE_HELP = {
  listRule: 'Who may list records (also filters the list).',
  viewRule: 'Who may view one record.',
  createRule: 'Who may create records.',
  updateRule: 'Who may update records.',
  deleteRule: 'Who may delete records.',
  authRule: 'Extra condition to sign in (e.g. verified = true).',
  manageRule: 'Who may manage other users’ email and password.',
};

export async function render(el, r) {
  await state.loadCollections();
  const isNew = !r.name;
  const orig = isNew ? null : state.collection(r.name);
  if (!isNew && !orig) throw new Error(`There is no collection "${r.name}".`);
  // The working copy: fields keep their ids so that renames are renames.
  const c = isNew
    ? { name: '', type: r.query.get('type') || 'base', fields: [], indexes: [], listRule: null, viewRule: null, createRule: null, updateRule: null, deleteRule: null }
    : structuredClone(orig);
  if (isNew) {
    const scaffolds = await api('GET', '/api/collections/meta/scaffolds').catch(() => null);
    const base = scaffolds?.[c.type];
    if (base) { c.fields = structuredClone(base.fields || []); c.indexes = [...(base.indexes || [])]; }
    for (const k of [...RULES, ...AUTH_RULES]) if (base && k in base) c[k] = base[k];
    if (base && c.type === 'auth') for (const k of AUTH_KEYS) if (k in base) c[k] = structuredClone(base[k]);
  }
  const form = h('form.collection-form', { novalidate: true });
  const error = h('div.form-error', { role: 'alert' });
  const save = h('button.primary', { type: 'submit' }, isNew ? 'Create collection' : 'Save changes');
  const fieldsBox = h('div.fields-list');
  const rulesBox = h('div.rules');
  const indexBox = h('div.indexes');
  const ruleInputs = {};
  let checkSeq = 0;

  const name = h('input', { name: 'name', value: c.name, required: true, autocomplete: 'off', spellcheck: 'false', disabled: orig?.system });
  name.addEventListener('input', () => { c.name = name.value.trim(); check(); });
  const type = h('select', { name: 'type', disabled: !isNew, onchange: () => go('#/new-collection?type=' + type.value) },
    h('option', { value: 'base', selected: c.type === 'base' }, 'Base'), h('option', { value: 'auth', selected: c.type === 'auth' }, 'Auth'));

  /** body is the definition sent to the API. */
  const body = () => {
    const b = { name: c.name, fields: c.fields, indexes: c.indexes.filter((x) => x.trim()).map((x) => isNew ? scaffoldIndex(x, c.name) : x) };
    if (isNew) b.type = c.type;
    for (const k of [...RULES, ...(c.type === 'auth' ? AUTH_RULES : [])]) b[k] = c[k];
    if (c.type === 'auth') for (const k of AUTH_KEYS) if (c[k] !== undefined) b[k] = c[k];
    return b;
  };

  /** check asks the server to validate the definition without saving it. */
  const check = debounce(async () => {
    if (!form.isConnected) return; // the form was left (saved, cancelled) while a check waited
    const my = ++checkSeq;
    try {
      await api(isNew ? 'POST' : 'PATCH', (isNew ? '/api/collections' : `/api/collections/${encodeURIComponent(orig.id)}`) + '?dryRun=true', body());
      if (my === checkSeq) showProblems(null);
    } catch (e) {
      if (my === checkSeq && e instanceof ApiError && e.status === 400) showProblems(e);
    }
  }, 350);

  function showProblems(e) {
    const data = e?.data || {};
    for (const k of Object.keys(ruleInputs)) {
      const slot = document.getElementById('rule-' + k + '-err');
      const msg = data[k]?.message || '';
      if (slot) slot.textContent = msg;
      invalid(ruleInputs[k], msg);
    }
    const nameErr = document.getElementById(name.id + '-err');
    if (nameErr) nameErr.textContent = c.name ? data.name?.message || '' : '';
    fieldsBox.querySelectorAll('.field-card').forEach((card, i) => {
      const rule = data[`fields.${i}.visibleRule`]?.message || '';
      const vr = card.querySelector('.vrule');
      const slot = vr && document.getElementById(vr.id + '-err');
      if (slot) slot.textContent = rule;
      if (vr) invalid(vr, rule);
      const m = data.fields?.[String(i)]?.message || (slot ? '' : rule);
      card.querySelector('.card-error').textContent = m;
      card.classList.toggle('invalid', !!(m || rule));
    });
    authForm?.showProblems(data);
    const general = typeof data.fields?.message === 'string' ? data.fields.message : '';
    fieldsBox.parentElement?.querySelector('.fields-error')?.replaceChildren(general);
    return e;
  }

  function drawFields() {
    mount(fieldsBox, c.fields.map((f, i) => fieldCard(f, i)));
  }

  function fieldCard(f, i) {
    const sys = !!f.system;
    const opts = h('div.field-opts');
    const set = (k, v) => { f[k] = v; check(); };
    const nameIn = h('input', { value: f.name, 'aria-label': 'Field name', disabled: sys, spellcheck: 'false', class: 'fname', oninput: (e) => set('name', e.target.value.trim()) });
    const flags = h('div.flags',
      f.type !== 'autodate' ? checkbox('Required', f.required, (v) => set('required', v), sys && f.name === 'id') : null,
      checkbox('Hidden', f.hidden, (v) => set('hidden', v)),
      checkbox('Presentable', f.presentable, (v) => set('presentable', v)));
    mount(opts, typeOptions(f, set));
    const card = h('fieldset.field-card' + (sys ? '.system' : ''),
      h('legend.sr-only', `Field ${f.name || i + 1}`),
      h('div.field-row',
        h('span.type-badge', f.type), nameIn,
        sys ? h('span.muted.small', 'system') : null,
        h('span.spacer'),
        h('button.icon-btn', { type: 'button', title: 'Move up', 'aria-label': `Move ${f.name} up`, disabled: i === 0, onclick: () => { c.fields.splice(i - 1, 0, c.fields.splice(i, 1)[0]); drawFields(); check(); } }, '↑'),
        h('button.icon-btn', { type: 'button', title: 'Move down', 'aria-label': `Move ${f.name} down`, disabled: i === c.fields.length - 1, onclick: () => { c.fields.splice(i + 1, 0, c.fields.splice(i, 1)[0]); drawFields(); check(); } }, '↓'),
        sys ? null : h('button.icon-btn.danger', { type: 'button', title: 'Remove field', 'aria-label': `Remove field ${f.name}`, onclick: () => { c.fields.splice(i, 1); drawFields(); check(); } }, '×')),
      flags, opts, visibleRuleInput(f, i, set), h('div.card-error', { role: 'alert' }));
    return card;
  }

  function drawRules() {
    const keys = [...RULES, ...(c.type === 'auth' ? AUTH_RULES : [])];
    mount(rulesBox, h('p.muted', 'A locked rule (null) allows superusers only; an empty rule allows everyone. Rules use the filter language, e.g. ',
      h('code', '@request.auth.id != ""'), '. They are checked by the server as you type.'),
    keys.map((k) => {
      const locked = c[k] === null || c[k] === undefined;
      const input = h('textarea.code.rule', { id: 'rule-' + k, name: k, rows: 1, spellcheck: 'false', value: c[k] ?? '', disabled: locked, placeholder: locked ? 'Superusers only' : 'Everyone (empty rule)' });
      ruleInputs[k] = input;
      input.addEventListener('input', () => { c[k] = input.value; check(); });
      const lock = h('button.lock', {
        type: 'button', 'aria-pressed': String(locked), title: locked ? 'Unlock: set a rule' : 'Lock: superusers only',
        onclick: () => { c[k] = locked ? '' : null; drawRules(); check(); if (locked) document.getElementById('rule-' + k)?.focus(); },
      }, locked ? 'Locked' : 'Lock');
      return h('div.field.rule-field',
        h('div.rule-head', h('label', { for: 'rule-' + k }, k), lock),
        input, h('div.help', RULE_HELP[k]), h('div.field-error', { id: 'rule-' + k + '-err', role: 'alert' }));
    }));
  }

  // The options of auth collections: forms of their own (auth-options.js).
  const authForm = c.type === 'auth' ? authOptions(c, orig, () => check()) : null;

  function drawIndexes() {
    mount(indexBox, c.indexes.map((idx, i) => h('div.index-row',
      h('input.code', { value: idx, 'aria-label': `Index ${i + 1}`, spellcheck: 'false', oninput: (e) => { c.indexes[i] = e.target.value; check(); } }),
      h('button.icon-btn.danger', { type: 'button', 'aria-label': 'Remove index', onclick: () => { c.indexes.splice(i, 1); drawIndexes(); check(); } }, '×'))),
    h('button.ghost', { type: 'button', onclick: () => { c.indexes.push(`CREATE INDEX idx_${c.name || 'name'}_ ON ${c.name || 'name'} ()`); drawIndexes(); indexBox.querySelector('.index-row:last-of-type input')?.focus(); } }, '+ Add index'));
  }

  const addType = h('select', { 'aria-label': 'New field type' }, TYPES.map((t) => h('option', { value: t }, t)));
  const addField = h('button', {
    type: 'button', onclick: () => {
      const t = addType.value;
      let n = 'field', k = 1;
      while (c.fields.some((f) => f.name === n)) n = 'field' + ++k;
      c.fields.push(newField(t, n));
      drawFields();
      const inputs = fieldsBox.querySelectorAll('input.fname');
      inputs[inputs.length - 1]?.select();
      check();
    },
  }, '+ Add field');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!isNew) {
      const losses = dataLosses(orig, c);
      if (losses.length && !await confirm('This change drops data', h('div', h('p', 'Saving will permanently delete:'), h('ul', losses.map((l) => h('li', l))), h('p', 'This cannot be undone. Make a backup first if you need the data.')), { confirmLabel: 'Drop data and save', danger: true })) return;
    }
    await busy(save, async () => {
      try {
        const saved = await api(isNew ? 'POST' : 'PATCH', isNew ? '/api/collections' : `/api/collections/${encodeURIComponent(orig.id)}`, body());
        toast(isNew ? `Created ${saved.name}.` : 'Collection saved.');
        await state.loadCollections();
        go('#/c/' + encodeURIComponent(saved.name));
      } catch (err) {
        if (err instanceof ApiError && err.status === 400) showProblems(err);
        error.textContent = err.message;
        form.querySelector('[aria-invalid]')?.focus();
      }
    });
  });

  const section = (title, ...kids) => h('section.card', h('h2', title), ...kids);
  mount(form,
    section('Collection', h('div.grid2', field('Name', name), field('Type', type))),
    section('Fields', h('p.fields-error.field-error', { role: 'alert' }), fieldsBox, h('div.add-field', addType, addField),
      h('p#vrule-help.help', h('strong', 'Visible to'), ' (visibleRule, a Basalt extension): only clients whose request matches get the field (superusers always do). It may read only ',
        h('code', '@request.*'), ', e.g. ', h('code', '@request.auth.role = "editor"'), '; empty: everyone who may see the record. Checked by the server as you type.')),
    section('API rules', rulesBox),
    section('Indexes', h('p.muted', 'SQL CREATE INDEX statements; unique indexes enforce uniqueness.'), indexBox),
    authForm ? section('Authentication', h('p.muted', 'Sign-in methods, tokens and mails of this auth collection; checked by the server as you type.'), authForm.el) : null,
    error,
    h('div.form-actions.sticky', h('a.button.ghost', { href: isNew ? '#/' : '#/c/' + encodeURIComponent(orig.name) }, 'Cancel'), save));
  drawFields();
  drawRules();
  drawIndexes();

  mount(el,
    h('div.page-head',
      h('div', isNew ? null : h('p.crumbs', h('a', { href: '#/c/' + encodeURIComponent(orig.name) }, orig.name), ' / settings'),
        h('h1', isNew ? 'New collection' : `Edit ${orig.name}`)),
      isNew || orig.system ? null : h('div.actions',
        h('button.ghost', { type: 'button', onclick: (e) => truncate(orig, e.currentTarget) }, 'Truncate'),
        h('button.danger', { type: 'button', onclick: (e) => remove(orig, e.currentTarget) }, 'Delete collection'))),
    form);
  (isNew ? name : form.querySelector('input.fname:not([disabled])') || name).focus();
  if (!isNew) check();
}

/** scaffoldIndex names the new collection in an index of its scaffold (made with an empty name). */
function scaffoldIndex(idx, name) {
  if (!name || !idx.includes('``')) return idx;
  return idx.replace(/`(idx_\w+?_)`/, (_, p) => '`' + p + name + '`').replaceAll('``', '`' + name + '`');
}

/** invalid marks input as invalid ("true": an empty aria-invalid means false) while msg is set. */
function invalid(input, msg) {
  if (msg) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/**
 * visibleRuleInput edits a field's visibleRule (a Basalt extension): who
 * gets the field in responses, a filter over @request.* only. It is checked
 * by the same dry run as the collection rules; showProblems fills its
 * error slot.
 */
function visibleRuleInput(f, i, set) {
  const id = `vrule-${i}`;
  const input = h('input.code.vrule', {
    id, name: `fields.${i}.visibleRule`, spellcheck: 'false', autocomplete: 'off',
    placeholder: 'Everyone who may see the record', 'aria-describedby': `${id}-err vrule-help`,
  });
  input.value = f.visibleRule || '';
  // An empty rule is left out of the definition (undefined is not sent).
  input.addEventListener('input', () => set('visibleRule', input.value.trim() || undefined));
  return h('div.vrule-field',
    h('label', { for: id }, 'Visible to'), input,
    h('div.field-error', { id: id + '-err', role: 'alert' }));
}

function checkbox(label, checked, onchange, disabled) {
  const input = h('input', { type: 'checkbox', checked: !!checked, disabled, onchange: (e) => onchange(e.target.checked) });
  return h('label.check', input, ' ', label);
}

function newField(type, name) {
  const f = { name, type, required: false, hidden: false, presentable: false };
  if (type === 'select') Object.assign(f, { values: ['a', 'b'], maxSelect: 1 });
  if (type === 'relation') Object.assign(f, { collectionId: state.collections.find((x) => !x.system)?.id || state.collections[0]?.id, maxSelect: 1, minSelect: 0, cascadeDelete: false });
  if (type === 'file') Object.assign(f, { maxSelect: 1, maxSize: 5242880, mimeTypes: [], thumbs: [], protected: false });
  if (type === 'autodate') Object.assign(f, { onCreate: true, onUpdate: false });
  return f;
}

/** typeOptions returns the inputs of f's type-specific options. */
function typeOptions(f, set) {
  const num = (k, label, { int = true } = {}) => {
    const input = h('input', { type: 'number', value: f[k] ?? '', step: int ? '1' : 'any', 'aria-label': label });
    input.addEventListener('input', () => set(k, input.value === '' ? (k === 'min' || k === 'max') && f.type === 'number' ? null : 0 : Number(input.value)));
    return h('label.opt', label, input);
  };
  const text = (k, label, placeholder = '') => {
    const input = h('input', { value: f[k] ?? '', placeholder, 'aria-label': label, spellcheck: 'false' });
    input.addEventListener('input', () => set(k, input.value));
    return h('label.opt', label, input);
  };
  const list = (k, label, placeholder = '') => {
    const input = h('input', { value: (f[k] || []).join(', '), placeholder, 'aria-label': label, spellcheck: 'false' });
    input.addEventListener('input', () => set(k, input.value.split(',').map((s) => s.trim()).filter(Boolean)));
    return h('label.opt', label, input);
  };
  const bool = (k, label) => checkbox(label, f[k], (v) => set(k, v));
  switch (f.type) {
    case 'text': return [num('min', 'Min length'), num('max', 'Max length'), text('pattern', 'Pattern', '^[a-z]+$'), text('autogeneratePattern', 'Autogenerate', '[a-z0-9]{15}')];
    case 'password': return [num('min', 'Min length'), num('max', 'Max length'), text('pattern', 'Pattern'), num('cost', 'Bcrypt cost')];
    case 'number': return [num('min', 'Min', { int: false }), num('max', 'Max', { int: false }), bool('onlyInt', 'Integers only')];
    case 'email': case 'url': return [list('exceptDomains', 'Except domains', 'example.com'), list('onlyDomains', 'Only domains')];
    case 'editor': return [num('maxSize', 'Max size (bytes)'), bool('convertURLs', 'Convert URLs')];
    case 'date': return [text('min', 'Min date', '2024-01-01 00:00:00.000Z'), text('max', 'Max date')];
    case 'autodate': return [bool('onCreate', 'Set on create'), bool('onUpdate', 'Set on update')];
    case 'select': return [list('values', 'Values', 'draft, published'), num('maxSelect', 'Max select')];
    case 'json': return [num('maxSize', 'Max size (bytes)')];
    case 'relation': {
      const sel = h('select', { 'aria-label': 'Related collection', onchange: (e) => set('collectionId', e.target.value) },
        state.collections.map((x) => h('option', { value: x.id, selected: x.id === f.collectionId }, x.name)));
      return [h('label.opt', 'Collection', sel), num('minSelect', 'Min select'), num('maxSelect', 'Max select'), bool('cascadeDelete', 'Cascade delete')];
    }
    case 'file': return [num('maxSelect', 'Max files'), num('maxSize', 'Max size (bytes)'), list('mimeTypes', 'MIME types', 'image/png, image/jpeg'), list('thumbs', 'Thumb sizes', '100x100'), bool('protected', 'Protected')];
  }
  return [];
}

/** dataLosses lists what saving next over prev deletes. */
function dataLosses(prev, next) {
  const out = [];
  const byId = new Map(next.fields.map((f) => [f.id, f]));
  for (const f of prev.fields) {
    const n = byId.get(f.id);
    if (!n) out.push(`the field "${f.name}" (${f.type}) and all its values`);
    else if (n.type !== f.type) out.push(`the values of "${f.name}" (its type changes from ${f.type} to ${n.type})`);
    else if ((f.type === 'select' || f.type === 'relation' || f.type === 'file') && (f.maxSelect || 1) > 1 && (n.maxSelect || 1) <= 1) out.push(`all but the first value of "${f.name}" (it becomes single)`);
  }
  return out;
}

async function truncate(c, btn) {
  if (!await confirm('Truncate collection', `Delete every record of ${c.name}? The collection and its fields stay. This cannot be undone.`, { confirmLabel: 'Delete all records', danger: true })) return;
  await busy(btn, async () => {
    try { await api('DELETE', `/api/collections/${encodeURIComponent(c.id)}/truncate`); toast(`${c.name} truncated.`); } catch (e) { toast(e.message, 'error'); }
  });
}

async function remove(c, btn) {
  const input = h('input', { 'aria-label': 'Collection name', autocomplete: 'off' });
  const ok = await dialog({
    title: 'Delete collection',
    body: h('div', h('p', `This deletes ${c.name}, its table and all its records and files. This cannot be undone.`), field(`Type "${c.name}" to confirm`, input)),
    actions: [{ label: 'Cancel', value: false }, {
      label: 'Delete collection', kind: 'danger', value: true,
      run: async () => {
        if (input.value !== c.name) throw new Error('The name does not match.');
        await api('DELETE', `/api/collections/${encodeURIComponent(c.id)}`);
      },
    }],
  });
  if (!ok) return;
  toast(`Deleted ${c.name}.`);
  await state.loadCollections();
  go('#/');
}
