// The overview: every collection with its type and fields, and a way to
// create one.
import { h, mount } from './lib.js';
import { state } from './app.js';

export async function render(el) {
  const cols = await state.loadCollections();
  const row = (c) => h('tr',
    h('th', { scope: 'row' }, h('a', { href: '#/c/' + encodeURIComponent(c.name) }, c.name)),
    h('td', h('span.badge', c.type), c.system ? h('span.badge.muted', 'system') : null),
    h('td', String(c.fields.length)),
    h('td.rules-cell', ['listRule', 'viewRule', 'createRule', 'updateRule', 'deleteRule'].map((k) =>
      h('span.rule-pill' + (c[k] === null ? '.locked' : c[k] === '' ? '.open' : ''), { title: `${k}: ${c[k] === null ? 'superusers only' : c[k] || 'everyone'}` }, k.replace('Rule', '')))),
    h('td', h('a.button.small', { href: `#/c/${encodeURIComponent(c.name)}/edit` }, 'Edit')));
  const user = cols.filter((c) => !c.system);
  const system = cols.filter((c) => c.system);
  mount(el,
    h('div.page-head', h('div', h('h1', 'Collections'), h('p.muted', `${user.length} collections, ${system.length} system`)),
      h('div.actions', h('a.button.primary', { href: '#/new-collection' }, '+ New collection'))),
    user.length ? null : h('div.empty', h('p', 'No collections yet. A collection is a table with typed fields and access rules.'), h('a.button.primary', { href: '#/new-collection' }, 'Create your first collection')),
    h('div.table-wrap', h('table.records',
      h('thead', h('tr', h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Fields'), h('th', { scope: 'col' }, 'Rules (green: everyone, red: superusers only)'), h('th', h('span.sr-only', 'Actions')))),
      h('tbody', [...user, ...system].map(row)))));
}
