// Settings › Webhooks: the endpoints record changes are posted to, with
// their delivery log and replay.
import { h, mount, api, busy, toast, confirm, dialog, field, fmtDate, showErrors } from './lib.js';

/** render shows the webhooks. */
export async function render(el) {
  const list = h('div.table-wrap');
  const deliveries = h('div');
  const load = async () => {
    let res;
    try { res = await api('GET', '/api/webhooks'); } catch (e) {
      mount(list, h('p.field-error.pad', e.status === 404 ? 'Webhooks are not available on this server.' : e.message));
      return;
    }
    mount(list, res.items.length ? h('table.records', h('thead', h('tr', h('th', 'URL'), h('th', 'Collections'), h('th', 'Actions'), h('th', 'Enabled'), h('th', h('span.sr-only', 'Manage')))),
      h('tbody', res.items.map((w) => h('tr', h('td.url', w.url), h('td', w.collections.join(', ') || 'all'), h('td', w.actions.join(', ') || 'all'),
        h('td', w.enabled ? 'yes' : 'no'),
        h('td.actions',
          h('button.small', { type: 'button', onclick: () => showDeliveries(w) }, 'Deliveries'),
          h('button.small', { type: 'button', onclick: () => edit(w) }, 'Edit'),
          h('button.small.danger', { type: 'button', onclick: async (e) => {
            if (!await confirm('Delete webhook', `Delete the webhook to ${w.url}? Its delivery log goes with it.`, { confirmLabel: 'Delete', danger: true })) return;
            await busy(e.currentTarget, async () => { try { await api('DELETE', '/api/webhooks/' + w.id); toast('Deleted.'); } catch (err) { toast(err.message, 'error'); } });
            load();
          } }, 'Delete')))))) : h('p.muted.pad', 'No webhooks yet.'));
  };
  const edit = async (w) => {
    const url = h('input', { type: 'url', name: 'url', value: w?.url || '', required: true, placeholder: 'https://example.com/hooks/basalt' });
    const cols = h('input', { name: 'collections', value: (w?.collections || []).join(', '), placeholder: 'all' });
    const actions = h('input', { name: 'actions', value: (w?.actions || []).join(', '), placeholder: 'create, update, delete' });
    const filter = h('input.code', { name: 'filter', value: w?.filter || '', placeholder: 'optional filter on the record' });
    const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: w ? w.enabled : true });
    const form = h('form', field('URL', url), field('Collections (comma-separated)', cols), field('Actions', actions), field('Filter', filter), h('label.check', enabled, ' Enabled'));
    const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
    const res = await dialog({
      title: w ? 'Edit webhook' : 'New webhook', body: form,
      actions: [{ label: 'Cancel', value: null }, {
        label: 'Save', kind: 'primary', value: true,
        run: async () => {
          try {
            const saved = await api(w ? 'PATCH' : 'POST', '/api/webhooks' + (w ? '/' + w.id : ''), { url: url.value, collections: split(cols.value), actions: split(actions.value), filter: filter.value, enabled: enabled.checked });
            if (!w && saved.secret) toast('Signing secret (shown once): ' + saved.secret);
          } catch (e) { showErrors(form, e); throw e; }
        },
      }],
    });
    if (res) { toast('Webhook saved.'); load(); }
  };
  const showDeliveries = async (w) => {
    let page = 1;
    const draw = async () => {
      const res = await api('GET', `/api/webhooks/${w.id}/deliveries?perPage=20&page=${page}`);
      mount(deliveries, h('section.card', h('div.section-head', h('h2', `Deliveries to ${w.url}`), h('button.ghost.small', { type: 'button', onclick: () => mount(deliveries) }, 'Close')),
        res.items.length ? h('table.records', h('thead', h('tr', h('th', 'Created'), h('th', 'Status'), h('th', 'Attempts'), h('th', 'Last response'), h('th', h('span.sr-only', 'Replay')))),
          h('tbody', res.items.map((d) => {
            const last = d.attempts[d.attempts.length - 1];
            return h('tr', h('td', fmtDate(d.created)), h('td', h('span.badge.' + d.status, d.status)), h('td', String(d.attemptCount)),
              h('td', last ? `${last.status || ''} ${last.error || ''} (${last.latencyMs} ms)` : '–'),
              h('td', h('button.small', { type: 'button', onclick: async (e) => {
                await busy(e.currentTarget, async () => { try { await api('POST', `/api/webhooks/${w.id}/deliveries/${d.id}/replay`); toast('Replay queued.'); } catch (err) { toast(err.message, 'error'); } });
                draw();
              } }, 'Replay')));
          }))) : h('p.muted.pad', 'No delivery yet.'),
        h('div.pager', h('span.count', `page ${page} of ${Math.max(1, res.totalPages)}`),
          h('button', { type: 'button', disabled: page <= 1, onclick: () => { page--; draw(); } }, '← Previous'),
          h('button', { type: 'button', disabled: page >= res.totalPages, onclick: () => { page++; draw(); } }, 'Next →'))));
    };
    try { await draw(); } catch (e) { toast(e.message, 'error'); }
  };
  mount(el, h('section.card', h('div.section-head', h('h2', 'Webhooks'), h('button.primary', { type: 'button', onclick: () => edit(null) }, '+ New webhook')),
    h('p.muted', 'Record changes are posted to these URLs with Standard Webhooks signatures and retried with backoff.'), list), deliveries);
  await load();
}
