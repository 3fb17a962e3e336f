// The columns of a records table: which fields it shows, chosen per
// collection and kept in localStorage, and the chooser that toggles them.
import { h, mount } from './lib.js';

const KEY = 'basalt_admin_columns:';
/** DEFAULT_COLUMNS is how many fields a table shows until a choice is made. */
export const DEFAULT_COLUMNS = 10;

/** tableFields returns the fields whose values a records list can carry. */
export function tableFields(col) {
  return col.fields.filter((f) => f.type !== 'password' && !(col.type === 'auth' && f.name === 'tokenKey'));
}

/**
 * columnChoice returns the visible-column state of col: fields keep their
 * collection order; a field without a stored choice is shown when it is one
 * of the first DEFAULT_COLUMNS, so fields added later follow the default.
 * The choice is stored by field id (by name for fields without one), so a
 * renamed field keeps it.
 */
export function columnChoice(col) {
  const all = tableFields(col);
  const key = KEY + (col.id || col.name);
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(key) || '{}') || {}; } catch { saved = {}; }
  const ref = (f) => f.id || f.name;
  const order = new Map(all.map((f, i) => [ref(f), i]));
  const shown = (f) => (typeof saved[ref(f)] === 'boolean' ? saved[ref(f)] : order.get(ref(f)) < DEFAULT_COLUMNS);
  const persist = () => {
    try {
      if (Object.keys(saved).length) localStorage.setItem(key, JSON.stringify(saved));
      else localStorage.removeItem(key);
    } catch { /* storage full or disabled: the choice lasts for this page only */ }
  };
  return {
    all,
    shown,
    visible: () => all.filter(shown),
    set(f, on) { saved[ref(f)] = !!on; persist(); },
    showAll() { for (const f of all) saved[ref(f)] = true; persist(); },
    reset() { saved = {}; persist(); },
  };
}

/**
 * columnChooser is a button that opens a panel of one checkbox per field;
 * onchange runs after each change. Esc (the focus returns to the button),
 * a click outside or moving the focus out closes the panel.
 */
export function columnChooser(choice, onchange) {
  const panelId = 'columns-panel';
  const btn = h('button.col-button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': panelId });
  const list = h('div.col-list');
  const panel = h('div.col-panel', { id: panelId, role: 'group', 'aria-label': 'Visible columns', hidden: true });
  const wrap = h('div.col-chooser', btn, panel);

  const label = () => { btn.textContent = `Columns ${choice.visible().length}/${choice.all.length}`; };
  const draw = () => {
    mount(list, choice.all.map((f) => h('label.check', { title: f.type },
      h('input', { type: 'checkbox', name: 'col', value: f.name, checked: choice.shown(f), onchange: (e) => { choice.set(f, e.target.checked); label(); onchange(); } }),
      ' ', f.name, f.system ? h('span.muted.small', ' system') : null)));
  };
  const outside = (e) => {
    if (!wrap.isConnected) { document.removeEventListener('pointerdown', outside); return; }
    if (!wrap.contains(e.target)) close(false);
  };
  const open = () => {
    draw();
    panel.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside);
    panel.querySelector('input')?.focus();
  };
  const close = (focus) => {
    panel.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside);
    if (focus) btn.focus();
  };
  btn.addEventListener('click', () => (panel.hidden ? open() : close(true)));
  wrap.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !panel.hidden) { e.preventDefault(); close(true); } });
  // Tabbing past the last checkbox closes the panel, as a click outside does.
  wrap.addEventListener('focusout', (e) => { if (!panel.hidden && e.relatedTarget && !wrap.contains(e.relatedTarget)) close(false); });
  mount(panel,
    h('div.col-tools',
      h('button.small', { type: 'button', onclick: () => { choice.showAll(); draw(); label(); onchange(); } }, 'Show all'),
      h('button.small.ghost', { type: 'button', onclick: () => { choice.reset(); draw(); label(); onchange(); } }, `First ${DEFAULT_COLUMNS}`),
      h('button.small.ghost', { type: 'button', onclick: () => close(true) }, 'Done')),
    list);
  label();
  return wrap;
}
