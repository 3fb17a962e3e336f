// The records of one collection: a paged table with column sort, a column
// chooser, a filter box (the server's filter language; its errors shown
// inline), bulk delete and live updates through realtime. Wide tables
// scroll sideways inside their box with the select and id columns pinned.
import { h, mount, api, qs, busy, toast, confirm, debounce, fmtDate, fileURL, realtime, ApiError } from './lib.js';
import { state, go } from './app.js';
import { columnChoice, columnChooser } from './columns.js';

const PER_PAGE_KEY = 'basalt_admin_per_page';
const PER_PAGE_OPTIONS = [30, 50, 100, 200, 500, 1000];
const IMAGE = /\.(png|jpe?g|gif|webp|svg|avif)$/i;

export async function render(el, r) {
  await state.loadCollections();
  const col = state.collection(r.name);
  if (!col) {
    mount(el, h('div.empty', h('h1', 'Collection not found'), h('p', `There is no collection "${r.name}".`), h('a.button', { href: '#/' }, 'All collections')));
    return;
  }
  const q = r.query;
  const view = {
    page: Math.max(1, +q.get('page') || 1),
    perPage: perPageOf(q.get('perPage') || localStorage.getItem(PER_PAGE_KEY)),
    sort: q.get('sort') ?? (col.fields.some((f) => f.name === 'created') ? '-created' : ''),
    filter: q.get('filter') || '',
    selected: new Set(),
    items: [],
    flash: new Set(),
  };

  const choice = columnChoice(col);
  const chooser = columnChooser(choice, () => drawTable());
  const perPage = h('select.per-page', {
    'aria-label': 'Records per page',
    onchange: () => {
      view.perPage = perPageOf(perPage.value);
      try { localStorage.setItem(PER_PAGE_KEY, String(view.perPage)); } catch { /* kept for this page only */ }
      view.page = 1;
      load();
    },
  }, PER_PAGE_OPTIONS.map((n) => h('option', { value: n, selected: n === view.perPage }, `${n} a page`)));
  const filterInput = h('input.filter-input', {
    type: 'search', name: 'filter', value: view.filter, spellcheck: 'false', autocomplete: 'off',
    placeholder: `Filter, e.g. ${sampleFilter(col)}`, 'aria-label': 'Filter records',
  });
  const filterErr = h('div.field-error', { id: 'filter-err', role: 'alert' });
  filterInput.setAttribute('aria-describedby', 'filter-err');
  const table = h('div.table-wrap.records-wrap', { tabindex: '0', role: 'region', 'aria-label': `Records of ${col.name}` });
  const pager = h('div.pager');
  const bulk = h('div.bulk');
  const live = h('span.live', { title: 'Realtime updates' }, 'connecting…');
  let ctrl = null;

  const syncURL = () => {
    // The screen may have been left while a page loaded (the hash can
    // change before its hashchange event runs).
    if (!table.isConnected || location.hash.split('?')[0] !== '#/c/' + encodeURIComponent(col.name)) return;
    const hash = '#/c/' + encodeURIComponent(col.name) + qs({ page: view.page > 1 ? view.page : '', perPage: view.perPage === PER_PAGE_OPTIONS[0] ? '' : view.perPage, sort: view.sort, filter: view.filter });
    history.replaceState(null, '', hash);
  };

  async function load() {
    ctrl?.abort();
    ctrl = new AbortController();
    table.setAttribute('aria-busy', 'true');
    table.classList.add('busy');
    try {
      const res = await api('GET', `/api/collections/${encodeURIComponent(col.name)}/records` +
        qs({ page: view.page, perPage: view.perPage, sort: view.sort, filter: view.filter }), undefined, { signal: ctrl.signal });
      filterErr.textContent = '';
      filterInput.removeAttribute('aria-invalid');
      view.items = res.items;
      view.total = res.totalItems;
      view.pages = Math.max(1, res.totalPages);
      drawTable();
      drawPager();
      syncURL();
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e instanceof ApiError && e.status === 400) {
        filterErr.textContent = e.message + detail(e);
        filterInput.setAttribute('aria-invalid', 'true');
      } else toast(e.message, 'error');
    } finally {
      table.removeAttribute('aria-busy');
      table.classList.remove('busy');
    }
  }

  function sortState(name) {
    if (view.sort === name) return 'ascending';
    if (view.sort === '-' + name) return 'descending';
    return 'none';
  }

  function drawTable() {
    const columns = choice.visible();
    const pin = columns[0]?.name === 'id';
    const allChecked = view.items.length > 0 && view.items.every((i) => view.selected.has(i.id));
    const head = h('tr',
      h('th.check.pin', h('input.select-all', { type: 'checkbox', 'aria-label': 'Select all on this page', checked: allChecked })),
      columns.map((f, i) => {
        const s = sortState(f.name);
        return h('th' + (pin && i === 0 ? '.pin.pin-id' : ''), { 'aria-sort': s, scope: 'col', 'data-field': f.name }, h('button.sort', {
          type: 'button', title: `Sort by ${f.name}`, 'data-sort': f.name,
        }, f.name, h('span.type', f.type), h('span.arrow', { 'aria-hidden': 'true' }, s === 'ascending' ? '▲' : s === 'descending' ? '▼' : '')));
      }));
    const rows = view.items.map((rec) => rowFor(rec, columns, pin));
    // A fixed layout sized by column type: the browser lays out a page of
    // 1000 rows without measuring every cell, and columns keep their width
    // from page to page.
    const widths = [CHECK_WIDTH, ...columns.map(columnWidth)];
    // (Set through the CSSOM: the page's CSP refuses style attributes.)
    const cols = widths.map((w) => { const c = document.createElement('col'); c.style.width = w + 'rem'; return c; });
    const tableEl = h('table.records.fixed', h('colgroup', cols), h('thead', head), h('tbody', rows));
    tableEl.style.width = widths.reduce((a, w) => a + w, 0) + 'rem';
    mount(table, view.items.length
      ? tableEl
      : h('div.empty', view.filter ? 'No record matches this filter.' : 'No records yet.',
        h('a.button.primary', { href: `#/c/${encodeURIComponent(col.name)}/r/new` }, 'New record')));
    view.flash.clear();
  }

  /**
   * rowFor builds the row of rec with the plain DOM and no listener of its
   * own (one delegated listener per table serves every row), so a page of
   * 1000 stays quick.
   */
  function rowFor(rec, columns, pin) {
    const base = `#/c/${encodeURIComponent(col.name)}/r/`;
    const tr = document.createElement('tr');
    if (view.flash.has(rec.id)) tr.className = 'flash';
    tr.dataset.id = rec.id;
    const check = document.createElement('td');
    check.className = 'check pin';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = view.selected.has(rec.id);
    box.setAttribute('aria-label', 'Select ' + rec.id);
    check.append(box);
    tr.append(check);
    for (let i = 0; i < columns.length; i++) {
      const f = columns[i];
      const td = document.createElement('td');
      td.className = 't-' + f.type + (pin && i === 0 ? ' pin pin-id' : '');
      if (f.name === 'id') {
        const a = document.createElement('a');
        a.className = 'rec-link';
        a.href = base + rec.id;
        a.textContent = rec.id;
        td.append(a);
      } else {
        const c = cell(col, f, rec);
        if (typeof c === 'string') td.textContent = c;
        else if (Array.isArray(c)) td.append(...c);
        else td.append(c);
      }
      tr.append(td);
    }
    return tr;
  }

  /**
   * patch shows an updated record in its row at once. It returns false when
   * the page must be reloaded instead: the record is not on it, or the
   * change may move it (a filter is set, or the sort field changed).
   */
  function patch(rec) {
    const i = view.items.findIndex((x) => x.id === rec.id);
    const tr = i < 0 ? null : [...table.querySelectorAll('tbody tr')].find((x) => x.dataset.id === rec.id);
    if (!tr) return false;
    const sortField = view.sort.replace(/^-/, '');
    const moved = view.filter !== '' || (sortField && JSON.stringify(view.items[i][sortField]) !== JSON.stringify(rec[sortField]));
    view.items[i] = rec;
    const columns = choice.visible();
    view.flash.add(rec.id);
    tr.replaceWith(rowFor(rec, columns, columns[0]?.name === 'id'));
    view.flash.delete(rec.id);
    return !moved;
  }

  table.addEventListener('click', (e) => {
    const sortBtn = e.target.closest('button[data-sort]');
    if (sortBtn) {
      const name = sortBtn.dataset.sort;
      const s = sortState(name);
      view.sort = s === 'ascending' ? '-' + name : s === 'descending' ? '' : name;
      view.page = 1;
      load();
      return;
    }
    const tr = e.target.closest('tbody tr');
    if (!tr || e.target.closest('input, a, button, label')) return;
    if (e.target.closest('td.check')) { // a click beside the checkbox toggles it
      const box = tr.querySelector('td.check input');
      box.click();
      return;
    }
    go(`#/c/${encodeURIComponent(col.name)}/r/${tr.dataset.id}`);
  });
  table.addEventListener('change', (e) => {
    const box = e.target;
    if (box.matches('input.select-all')) {
      for (const i of view.items) box.checked ? view.selected.add(i.id) : view.selected.delete(i.id);
      for (const b of table.querySelectorAll('tbody td.check input')) b.checked = box.checked;
      drawBulk();
      return;
    }
    const tr = box.closest('tbody tr');
    if (!tr || !box.matches('td.check input')) return;
    box.checked ? view.selected.add(tr.dataset.id) : view.selected.delete(tr.dataset.id);
    const all = table.querySelector('input.select-all');
    if (all) all.checked = view.items.length > 0 && view.items.every((i) => view.selected.has(i.id));
    drawBulk();
  });

  function drawPager() {
    mount(pager,
      h('span.count', `${view.total < 0 ? '' : view.total + (view.total === 1 ? ' record · ' : ' records · ')}page ${view.page} of ${view.pages}`),
      perPage,
      h('button', { type: 'button', disabled: view.page <= 1, onclick: () => { view.page--; load(); } }, '← Previous'),
      h('button', { type: 'button', disabled: view.page >= view.pages, onclick: () => { view.page++; load(); } }, 'Next →'));
  }

  function drawBulk() {
    const n = view.selected.size;
    mount(bulk, n ? [
      h('span', `${n} selected`),
      h('button.ghost', { type: 'button', onclick: () => { view.selected.clear(); for (const b of table.querySelectorAll('td.check input, input.select-all')) b.checked = false; drawBulk(); } }, 'Clear'),
      h('button.danger', { type: 'button', onclick: (e) => bulkDelete(e.currentTarget) }, `Delete selected (${n})`),
    ] : []);
  }

  async function bulkDelete(btn) {
    const ids = [...view.selected];
    if (!await confirm('Delete records', `Delete ${ids.length} record(s) of ${col.name}? This cannot be undone.`, { confirmLabel: 'Delete', danger: true })) return;
    await busy(btn, async () => {
      let failed = 0;
      for (let i = 0; i < ids.length; i += 5) {
        const res = await Promise.allSettled(ids.slice(i, i + 5).map((id) =>
          api('DELETE', `/api/collections/${encodeURIComponent(col.name)}/records/${id}`)));
        res.forEach((x, j) => { if (x.status === 'fulfilled') view.selected.delete(ids[i + j]); else failed++; });
      }
      if (failed) toast(`${failed} record(s) could not be deleted.`, 'error');
      else toast(`Deleted ${ids.length} record(s).`);
    });
    drawBulk();
    load();
  }

  mount(el,
    h('div.page-head',
      h('div', h('h1', col.name, ' ', h('span.badge', col.type)), h('p.muted', `${col.fields.length} fields`)),
      h('div.actions', live,
        h('a.button', { href: `#/c/${encodeURIComponent(col.name)}/edit` }, 'Edit collection'),
        h('a.button.primary', { href: `#/c/${encodeURIComponent(col.name)}/r/new` }, '+ New record'))),
    h('form.filter', { role: 'search', onsubmit: (e) => { e.preventDefault(); view.filter = filterInput.value.trim(); view.page = 1; load(); } },
      filterInput, h('button', { type: 'submit' }, 'Apply'),
      view.filter ? h('button.ghost', { type: 'button', onclick: () => { filterInput.value = ''; view.filter = ''; load(); } }, 'Clear') : null,
      chooser),
    filterErr, bulk, table, pager);

  await load();

  const reload = debounce(load, 250);
  realtime.onstate = (s) => { live.textContent = s === 'live' ? '● Live' : s; live.classList.toggle('on', s === 'live'); };
  if (realtime.clientId) realtime.onstate('live');
  const unsubscribe = realtime.subscribe(col.name + '/*', (action, rec) => {
    if (action === 'update' && rec?.id && patch(rec)) return;
    if (rec?.id && action !== 'delete') view.flash.add(rec.id);
    if (action === 'delete') view.selected.delete(rec?.id);
    reload();
  });
  return () => { unsubscribe(); ctrl?.abort(); };
}

const CHECK_WIDTH = 2.5;

/** columnWidth returns the width (rem) of a column of field f. */
function columnWidth(f) {
  if (f.name === 'id') return 10;
  switch (f.type) {
    case 'bool': return 6;
    case 'number': return 7.5;
    case 'date': case 'autodate': return 13;
    case 'file': return 12;
    default: return 13;
  }
}

/** perPageOf returns one of the page sizes offered, the first by default. */
function perPageOf(v) {
  const n = Number(v);
  return PER_PAGE_OPTIONS.includes(n) ? n : PER_PAGE_OPTIONS[0];
}

function detail(e) {
  const d = Object.values(e.data || {})[0];
  return d?.message && d.message !== e.message ? ' ' + d.message : '';
}

function sampleFilter(col) {
  const f = col.fields.find((x) => x.type === 'text' && x.name !== 'id') || col.fields.find((x) => x.name === 'id');
  return f ? `${f.name} ~ "abc"` : 'id != ""';
}

/** cell renders a value of field f in the table. */
export function cell(col, f, rec) {
  const v = rec[f.name];
  if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) return h('span.muted', '–');
  switch (f.type) {
    case 'bool': return h('span.bool' + (v ? '.yes' : ''), v ? 'true' : 'false');
    case 'date': case 'autodate': {
      const t = document.createElement('time'); // two in every row: the plain DOM is quicker
      t.dateTime = v;
      t.title = v;
      t.textContent = fmtDate(v);
      return t;
    }
    case 'select': return [].concat(v).map((x) => h('span.chip', x));
    case 'relation': return [].concat(v).map((x) => h('span.chip.rel', x));
    case 'json': return h('code.json', truncate(JSON.stringify(v), 60));
    case 'editor': return truncate(new DOMParser().parseFromString(v, 'text/html').body.textContent || '', 60);
    case 'file': return [].concat(v).map((name) => IMAGE.test(name)
      ? h('img.thumb', { src: fileURL(col.id, rec.id, name, '100x100'), alt: name, loading: 'lazy' })
      : h('span.chip', name));
    default: return truncate(String(v), 60);
  }
}

function truncate(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
