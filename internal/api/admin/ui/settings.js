// Settings: application, mail (with a test mail), batch, rate limits,
// backups and webhooks (with their delivery log and replay).
import { h, mount, api, busy, toast, confirm, dialog, field, fmtDate, fmtBytes, showErrors, ApiError } from './lib.js';

const TABS = [
  ['application', 'Application'], ['mail', 'Mail'], ['batch', 'Batch'], ['ratelimits', 'Rate limits'],
  ['logs', 'Logs'], ['backups', 'Backups'], ['webhooks', 'Webhooks'],
];

export async function render(el, r) {
  const body = h('div.tab-body');
  mount(el,
    h('div.page-head', h('div', h('h1', 'Settings'))),
    h('nav.tabs', { 'aria-label': 'Settings sections' }, TABS.map(([k, label]) =>
      h('a' + (k === r.tab ? '.active' : ''), { href: '#/settings/' + k, 'aria-current': k === r.tab ? 'page' : null }, label))),
    body);
  const fn = { application, mail, batch, ratelimits, logs, backups, webhooks }[r.tab] || application;
  await fn(body, r);
}

/** settingsForm edits the listed keys of one settings section. */
async function settingsForm(el, section, keys, extra) {
  const all = await api('GET', '/api/settings');
  const cur = all[section] || {};
  const inputs = {};
  const form = h('form.card.settings-form', { novalidate: true });
  for (const [k, label, kind = typeof cur[k], help] of keys) {
    let input;
    if (kind === 'boolean') {
      input = h('input', { type: 'checkbox', name: `${section}.${k}`, checked: !!cur[k] });
      form.append(h('div.field.inline', h('label', input, ' ', label), help ? h('div.help', help) : null, h('div.field-error', { id: `${section}-${k}-err` })));
      input.id = `${section}-${k}`;
    } else if (kind === 'number') {
      input = h('input', { type: 'number', name: `${section}.${k}`, value: cur[k] ?? 0 });
      form.append(field(label, input, { help, id: `${section}-${k}` }));
    } else if (kind === 'json') {
      input = h('textarea.code', { name: `${section}.${k}`, rows: 10, spellcheck: 'false' }, JSON.stringify(cur[k] ?? null, null, 2));
      form.append(field(label, input, { help, id: `${section}-${k}` }));
    } else {
      input = h('input', { type: kind === 'password' ? 'password' : 'text', name: `${section}.${k}`, value: kind === 'password' ? '' : cur[k] ?? '', autocomplete: 'off', placeholder: kind === 'password' ? 'Unchanged' : '' });
      form.append(field(label, input, { help, id: `${section}-${k}` }));
    }
    inputs[k] = [input, kind];
  }
  const save = h('button.primary', { type: 'submit' }, 'Save');
  const error = h('div.form-error', { role: 'alert' });
  form.append(error, h('div.form-actions', extra ? extra(inputs) : null, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const patch = {};
    try {
      for (const [k, [input, kind]] of Object.entries(inputs)) {
        if (kind === 'boolean') patch[k] = input.checked;
        else if (kind === 'number') patch[k] = Number(input.value);
        else if (kind === 'json') patch[k] = JSON.parse(input.value);
        else if (kind === 'password') { if (input.value) patch[k] = input.value; }
        else patch[k] = input.value;
      }
    } catch (err) {
      error.textContent = 'Invalid JSON: ' + err.message;
      return;
    }
    await busy(save, async () => {
      try {
        await api('PATCH', '/api/settings', { [section]: patch });
        toast('Settings saved.');
      } catch (err) {
        showErrors(form, flatten(err, section));
        error.textContent = err.message + detail(err);
      }
    });
  });
  mount(el, form);
}

function flatten(err, section) {
  if (!(err instanceof ApiError)) return err;
  const data = {};
  for (const [k, v] of Object.entries(err.data?.[section] || {})) data[`${section}.${k}`] = v;
  return new ApiError(err.status, err.message, data);
}

function detail(err) {
  const parts = [];
  const walk = (o, path) => {
    for (const [k, v] of Object.entries(o || {})) {
      if (v && typeof v === 'object' && 'message' in v) parts.push(`${path}${k}: ${v.message}`);
      else if (v && typeof v === 'object') walk(v, `${path}${k}.`);
    }
  };
  walk(err.data, '');
  return parts.length ? ' ' + parts.join('; ') : '';
}

function application(el) {
  return settingsForm(el, 'meta', [
    ['appName', 'Application name'], ['appURL', 'Application URL', 'string', 'Used in mails and OAuth2 redirects.'],
    ['senderName', 'Sender name'], ['senderAddress', 'Sender address'],
    ['hideControls', 'Hide collection controls', 'boolean'],
  ]);
}

function mail(el) {
  return settingsForm(el, 'smtp', [
    ['enabled', 'Send mail through SMTP', 'boolean'], ['host', 'Host'], ['port', 'Port', 'number'],
    ['username', 'Username'], ['password', 'Password', 'password'], ['authMethod', 'Auth method', 'string', 'PLAIN or LOGIN'],
    ['tls', 'TLS', 'boolean'], ['localName', 'Local name (HELO)'],
  ], () => h('button', { type: 'button', onclick: testMail }, 'Send test mail'));
}

async function testMail() {
  const email = h('input', { type: 'email', name: 'email', required: true });
  const template = h('select', { name: 'template' }, ['verification', 'password-reset', 'email-change'].map((t) => h('option', { value: t }, t)));
  await dialog({
    title: 'Send a test mail',
    body: h('div', field('To', email), field('Template', template)),
    actions: [{ label: 'Cancel', value: false }, {
      label: 'Send', kind: 'primary', value: true,
      run: async () => {
        await api('POST', '/api/settings/test/email', { email: email.value, template: template.value, collection: '_superusers' });
        toast(`Test mail sent to ${email.value}.`);
      },
    }],
  });
}

function batch(el) {
  return settingsForm(el, 'batch', [
    ['enabled', 'Enable the batch API (/api/batch)', 'boolean'], ['maxRequests', 'Max requests per batch', 'number'],
    ['timeout', 'Timeout (seconds)', 'number'], ['maxBodySize', 'Max body size (bytes, 0 = default)', 'number'],
  ]);
}

function ratelimits(el) {
  return settingsForm(el, 'rateLimits', [
    ['enabled', 'Enable rate limits', 'boolean'],
    ['rules', 'Rules', 'json', 'A list of {label, audience ("", "@guest" or "@auth"), duration (seconds), maxRequests}; label is a path prefix or "METHOD /path", e.g. "POST /api/collections/users/auth-with-password".'],
    ['excludedIPs', 'Excluded IPs', 'json', 'A list of IPs or CIDRs never limited.'],
  ]);
}

function logs(el) {
  return settingsForm(el, 'logs', [
    ['maxDays', 'Keep logs for (days, 0 = do not store)', 'number'],
    ['minLevel', 'Minimum level stored', 'number', '-4 debug, 0 info, 4 warning, 8 error'],
    ['logIP', 'Store the client IP of requests', 'boolean'], ['logAuthId', 'Store the id of the authenticated record', 'boolean'],
  ]);
}

async function backups(el) {
  const list = h('div.table-wrap');
  const load = async () => {
    let items;
    try { items = await api('GET', '/api/backups'); } catch (e) {
      mount(list, h('p.field-error.pad', e.status === 404 ? 'Backups are not available on this server.' : e.message));
      return;
    }
    mount(list, items.length ? h('table.records', h('thead', h('tr', h('th', 'Name'), h('th', 'Size'), h('th', 'Modified'), h('th', h('span.sr-only', 'Actions')))),
      h('tbody', items.map((b) => h('tr', h('td', b.key), h('td', fmtBytes(b.size)), h('td', fmtDate(b.modified)),
        h('td.actions', h('button.small', { type: 'button', onclick: (e) => download(b.key, e.currentTarget) }, 'Download'),
          h('button.small.danger', { type: 'button', onclick: async (e) => {
            if (!await confirm('Delete backup', `Delete ${b.key}?`, { confirmLabel: 'Delete', danger: true })) return;
            await busy(e.currentTarget, async () => { try { await api('DELETE', '/api/backups/' + encodeURIComponent(b.key)); toast('Deleted.'); } catch (err) { toast(err.message, 'error'); } });
            load();
          } }, 'Delete')))))) : h('p.muted.pad', 'No backups yet.'));
  };
  const create = h('button.primary', { type: 'button', onclick: async () => {
    await busy(create, async () => { try { await api('POST', '/api/backups', {}); toast('Backup created.'); } catch (e) { toast(e.message, 'error'); } });
    load();
  } }, 'Create backup');
  mount(el, h('section.card', h('div.section-head', h('h2', 'Backups'), create),
    h('p.muted', 'A backup is a zip of the database and the stored files. Restoring one is done from the command line (basalt backup restore) or the API.'), list));
  await load();
}

async function download(key, btn) {
  await busy(btn, async () => {
    try {
      const { token } = await api('POST', '/api/files/token');
      const a = h('a', { href: `/api/backups/${encodeURIComponent(key)}?token=${encodeURIComponent(token)}`, download: key });
      document.body.append(a); a.click(); a.remove();
    } catch (e) { toast(e.message, 'error'); }
  });
}

async function webhooks(el, r) {
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
