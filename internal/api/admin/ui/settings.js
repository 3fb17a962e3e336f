// Settings: application, mail (with a test mail), batch, rate limits,
// trusted proxy, logs, backups and webhooks (with their delivery log and
// replay). The larger sections live in settings-*.js, loaded on first use.
import { h, mount, api, toast, dialog, field } from './lib.js';
import { settingsForm } from './settings-form.js';

const TABS = [
  ['application', 'Application'], ['mail', 'Mail'], ['batch', 'Batch'], ['ratelimits', 'Rate limits'],
  ['proxy', 'Trusted proxy'], ['logs', 'Logs'], ['backups', 'Backups'], ['webhooks', 'Webhooks'],
];

const SECTIONS = {
  application, mail, batch, proxy, logs,
  ratelimits: async (el) => (await import('./settings-ratelimits.js')).render(el),
  backups: async (el) => (await import('./settings-backups.js')).render(el),
  webhooks: async (el) => (await import('./settings-webhooks.js')).render(el),
};

export async function render(el, r) {
  const tab = SECTIONS[r.tab] ? r.tab : 'application';
  const body = h('div.tab-body');
  mount(el,
    h('div.page-head', h('div', h('h1', 'Settings'))),
    h('nav.tabs', { 'aria-label': 'Settings sections' }, TABS.map(([k, label]) =>
      h('a' + (k === tab ? '.active' : ''), { href: '#/settings/' + k, 'aria-current': k === tab ? 'page' : null }, label))),
    body);
  await SECTIONS[tab](body, r);
}

function application(el) {
  return settingsForm(el, 'meta', [
    ['appName', 'Application name', 'string', 'Used in mails and in the names of backups.'],
    ['appURL', 'Application URL', 'string', 'The public address of the application, used in mails and OAuth2 redirects.'],
    ['senderName', 'Sender name'], ['senderAddress', 'Sender address', 'string', 'The From address of the mails Basalt sends.'],
    ['hideControls', 'Hide collection controls', 'boolean'],
  ]);
}

function mail(el) {
  return settingsForm(el, 'smtp', [
    ['enabled', 'Send mail through SMTP', 'boolean', 'Off: mails are written to the server log instead.'], ['host', 'Host'], ['port', 'Port', 'number'],
    ['username', 'Username'], ['password', 'Password', 'password', 'Write-only: leave empty to keep the stored password.'],
    ['authMethod', 'Auth method', 'select', '', [['', 'Default (PLAIN)'], ['PLAIN', 'PLAIN'], ['LOGIN', 'LOGIN']]],
    ['tls', 'Implicit TLS', 'boolean', 'Connect over TLS (usually port 465); otherwise STARTTLS is used when the server offers it.'],
    ['localName', 'Local name (HELO)', 'string', 'Empty: localhost.'],
  ], { extra: () => h('button', { type: 'button', onclick: testMail }, 'Send test mail') });
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

function logs(el) {
  return settingsForm(el, 'logs', [
    ['maxDays', 'Keep logs for (days, 0 = do not store)', 'number'],
    ['minLevel', 'Minimum level stored', 'select', '', [[-4, 'Debug'], [0, 'Info'], [4, 'Warning'], [8, 'Error']]],
    ['logIP', 'Store the client IP of requests', 'boolean'], ['logAuthId', 'Store the id of the authenticated record', 'boolean'],
  ]);
}

/** proxy edits which request headers carry the client IP, next to what the server sees now. */
async function proxy(el) {
  const seen = h('div.proxy-seen', { role: 'status', 'aria-live': 'polite' });
  const refresh = async () => {
    try {
      const { data } = await api('GET', '/api/health');
      mount(seen,
        h('p', 'Your IP as Basalt sees it now: ', h('strong.code', data.realIP || 'unknown'), '.'),
        data.possibleProxyHeader
          ? h('p.warn', `Your request carries the ${data.possibleProxyHeader} header, which is not trusted. If Basalt runs behind a proxy, add it below, or every client shares the proxy's IP (in rate limits, logs and rules).`)
          : null);
    } catch (e) { mount(seen, h('p.field-error', 'Cannot read the client IP: ' + e.message)); }
  };
  await settingsForm(el, 'trustedProxy', [
    ['headers', 'Headers that carry the client IP', 'list',
      'Only list headers your proxy sets (e.g. X-Forwarded-For, X-Real-IP, CF-Connecting-IP): a client talking to Basalt directly could forge them. When Basalt was started with --trusted-proxy, headers are honoured only from those proxies.',
      { placeholder: 'X-Forwarded-For', itemLabel: 'Header', addLabel: 'Add header', suggestions: ['X-Forwarded-For', 'X-Real-IP', 'CF-Connecting-IP', 'Fly-Client-IP', 'True-Client-IP'] }],
    ['useLeftmostIP', 'Use the leftmost IP of a list', 'boolean',
      'Off (safer): the rightmost address, the one your proxy added. On: the leftmost, the original client as claimed by the first proxy; only when every proxy in the chain is yours.'],
  ], { intro: () => seen, saved: refresh });
  await refresh();
}
