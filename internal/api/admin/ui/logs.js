// The request and application log: filter (the log filter language), paging
// and a detail view of one entry.
import { h, mount, api, qs, fmtDate, ApiError, toast } from './lib.js';
import { logTable, levelName } from './monitoring.js';

export async function render(el, r) {
  if (r.id) return detail(el, r.id);
  let page = 1;
  let filter = r.query.get('filter') || '';
  const input = h('input.filter-input', { type: 'search', name: 'filter', value: filter, spellcheck: 'false', 'aria-label': 'Filter logs', placeholder: 'e.g. data.status >= 400 && data.method = "POST"' });
  const err = h('div.field-error', { id: 'logs-filter-err', role: 'alert' });
  input.setAttribute('aria-describedby', 'logs-filter-err');
  const quick = (label, f) => h('button.ghost.small', { type: 'button', onclick: () => { input.value = f; filter = f; page = 1; load(); } }, label);
  const box = h('div.table-wrap');
  const pager = h('div.pager');
  async function load() {
    box.setAttribute('aria-busy', 'true');
    try {
      const res = await api('GET', '/api/logs' + qs({ page, perPage: 50, sort: '-created', filter }));
      err.textContent = '';
      input.removeAttribute('aria-invalid');
      mount(box, res.items.length ? logTable(res.items) : h('p.muted.pad', 'No log entry matches.'));
      const pages = Math.max(1, res.totalPages);
      mount(pager, h('span.count', `${res.totalItems} entries · page ${page} of ${pages}`),
        h('button', { type: 'button', disabled: page <= 1, onclick: () => { page--; load(); } }, '← Previous'),
        h('button', { type: 'button', disabled: page >= pages, onclick: () => { page++; load(); } }, 'Next →'));
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) { err.textContent = e.message; input.setAttribute('aria-invalid', 'true'); } else toast(e.message, 'error');
    } finally { box.removeAttribute('aria-busy'); }
  }
  mount(el,
    h('div.page-head', h('div', h('h1', 'Logs'), h('p.muted', 'Requests and server messages, newest first.'))),
    h('form.filter', { role: 'search', onsubmit: (e) => { e.preventDefault(); filter = input.value.trim(); page = 1; load(); } }, input, h('button', { type: 'submit' }, 'Apply')),
    err,
    h('div.quick', quick('All', ''), quick('Errors (5xx)', 'data.status >= 500'), quick('Client errors (4xx)', 'data.status >= 400 && data.status < 500'), quick('Slow (> 500 ms)', 'data.execTime > 500'), quick('Messages', 'data.type != "request"')),
    box, pager);
  await load();
}

async function detail(el, id) {
  const l = await api('GET', '/api/logs/' + encodeURIComponent(id));
  mount(el,
    h('div.page-head', h('div', h('p.crumbs', h('a', { href: '#/logs' }, 'Logs'), ' / ', l.id), h('h1', l.message || 'Log entry'))),
    h('section.card', h('dl.props',
      h('dt', 'Time'), h('dd', fmtDate(l.created), ' ', h('span.muted', l.created)),
      h('dt', 'Level'), h('dd', levelName(l.level), ` (${l.level})`),
      Object.entries(l.data || {}).map(([k, v]) => [h('dt', k), h('dd', typeof v === 'object' ? h('pre.code', JSON.stringify(v, null, 2)) : String(v))]))));
}
