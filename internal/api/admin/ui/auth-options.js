// The options of an auth collection as forms: password sign-in, OAuth2
// providers, multi-factor authentication, one-time passwords, the new
// sign-in alert, token lifetimes and the mail templates. The options are
// edited in place on the collection's working copy; the server's problems
// (keys such as "mfa.rule" or "oauth2.providers.1.name") are shown next to
// their inputs.
import { h, mount, api } from './lib.js';

/** AUTH_KEYS are the option keys of an auth collection sent on save. */
export const AUTH_KEYS = ['passwordAuth', 'oauth2', 'mfa', 'otp', 'authAlert', 'authToken', 'passwordResetToken',
  'emailChangeToken', 'verificationToken', 'fileToken', 'verificationTemplate', 'resetPasswordTemplate', 'confirmEmailChangeTemplate'];

const TOKENS = [
  ['authToken', 'Auth token', 'How long a sign-in lasts before it must be refreshed.'],
  ['passwordResetToken', 'Password reset', 'Lifetime of the link in the password reset mail.'],
  ['emailChangeToken', 'Email change', 'Lifetime of the link confirming a new address.'],
  ['verificationToken', 'Verification', 'Lifetime of the link in the verification mail.'],
  ['fileToken', 'Protected files', 'Lifetime of a token to download protected files.'],
];
const TEMPLATES = [
  [['verificationTemplate'], 'Verification mail', '{APP_NAME}, {APP_URL}, {TOKEN}, {RECORD:field}'],
  [['resetPasswordTemplate'], 'Password reset mail', '{APP_NAME}, {APP_URL}, {TOKEN}, {RECORD:field}'],
  [['confirmEmailChangeTemplate'], 'Email change mail', '{APP_NAME}, {APP_URL}, {TOKEN}, {RECORD:field}'],
  [['otp', 'emailTemplate'], 'One-time password mail', '{APP_NAME}, {APP_URL}, {OTP}, {OTP_ID}, {RECORD:field}'],
  [['authAlert', 'emailTemplate'], 'New sign-in alert mail', '{APP_NAME}, {APP_URL}, {RECORD:field}'],
];
const MAPPED = [['id', 'Provider user id'], ['name', 'Name'], ['username', 'Username'], ['avatarURL', 'Avatar']];
// Used when the server's list of providers cannot be read.
const FALLBACK_PROVIDERS = ['apple', 'github', 'gitlab', 'google', 'microsoft', 'oidc', 'oidc2', 'oidc3'].map((name) => ({ name }));

/**
 * authOptions builds the forms over the working copy c. orig is the stored
 * collection (null when new): its providers have secrets on the server that
 * are never sent back. changed is called after every edit.
 * Returns {el, showProblems(data)}.
 */
export function authOptions(c, orig, changed) {
  const host = h('div');
  let forms = buildForms(c, orig, changed);
  let last = null;
  // The escape hatch: every option as JSON, for what the forms leave out
  // (e.g. a provider's extra options beyond issuer, JWKS URL and scopes).
  const raw = h('textarea.code', { rows: 12, spellcheck: 'false' });
  const rawErr = h('div.field-error', { id: 'ao-raw-err', role: 'alert' });
  raw.setAttribute('aria-describedby', rawErr.id);
  const apply = h('button', {
    type: 'button', onclick: () => {
      let v;
      try {
        v = JSON.parse(raw.value);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected an object of options');
      } catch (e) {
        rawErr.textContent = 'Invalid JSON: ' + e.message;
        raw.setAttribute('aria-invalid', 'true');
        return;
      }
      rawErr.textContent = '';
      raw.removeAttribute('aria-invalid');
      for (const k of AUTH_KEYS) if (k in v) c[k] = v[k];
      forms = buildForms(c, orig, changed);
      mount(host, forms.el, advanced);
      forms.showProblems(last);
      changed();
    },
  }, 'Apply JSON');
  const advanced = h('details.advanced', {
    ontoggle: (e) => {
      if (!e.target.open) return;
      const v = {};
      for (const k of AUTH_KEYS) v[k] = c[k];
      raw.value = JSON.stringify(v, null, 2);
    },
  }, h('summary', 'Advanced: all options as JSON'),
  h('div.field', h('label.sr-only', { for: 'ao-raw' }, 'Options as JSON'), Object.assign(raw, { id: 'ao-raw' }), rawErr,
    h('div.help', 'Client secrets are never shown; leave them out to keep them.')), apply);
  mount(host, forms.el, advanced);
  return { el: host, showProblems: (data) => { last = data; forms.showProblems(data); } };
}

function buildForms(c, orig, changed) {
  for (const k of AUTH_KEYS) c[k] = c[k] ?? {};
  c.oauth2.providers ??= [];
  c.oauth2.mappedFields ??= {};
  c.passwordAuth.identityFields ??= [];
  for (const [path] of TEMPLATES) get(c, path) ?? set(c, path, { subject: '', body: '' });
  const stored = new Set((orig?.oauth2?.providers || []).map((p) => p.name));
  const slots = new Map(); // problem key → [input, error slot]
  const general = new Map(); // option key → error slot for problems without an input
  let presets = FALLBACK_PROVIDERS;
  const uid = 'ao';

  /** input registers a control under key and returns it labelled, with its error slot. */
  const labelled = (key, label, input, help) => {
    input.id ||= `${uid}-${key.replace(/\W/g, '-')}`;
    const err = h('div.field-error', { id: input.id + '-err', role: 'alert' });
    slots.set(key, [input, err]);
    const helpEl = help && help.length ? h('div.help', { id: input.id + '-help' }, help) : null;
    input.setAttribute('aria-describedby', helpEl ? `${err.id} ${helpEl.id}` : err.id);
    return h('div.field', h('label', { for: input.id }, label), input, helpEl, err);
  };
  const numberAt = (path, key, label, help, min) => {
    const input = h('input', { type: 'number', min, step: '1', inputmode: 'numeric', value: get(c, path) ?? '' });
    // Durations in seconds also say how long that is in words.
    const words = label.includes('seconds') ? h('span.words') : null;
    const say = () => { if (words) words.textContent = humanSeconds(Number(input.value)); };
    input.addEventListener('input', () => { set(c, path, input.value === '' ? 0 : Number(input.value)); say(); changed(); });
    say();
    return labelled(key, label, input, words ? [help, help ? ' ' : '', words] : help);
  };
  const toggle = (path, label) => h('label.check', h('input', {
    type: 'checkbox', checked: !!get(c, path), onchange: (e) => { set(c, path, e.target.checked); warnMFA(); changed(); },
  }), ' ', label);
  const section = (key, title, ...kids) => {
    const err = h('div.field-error', { role: 'alert' });
    general.set(key, err);
    return h('fieldset.auth-group', { 'data-option': key }, h('legend', title), ...kids, err);
  };

  // Password sign-in: the identity fields are checkboxes over the fields
  // that can identify a record, redrawn whenever the field list changes.
  const identityBox = h('div.choices', { role: 'group', 'aria-labelledby': `${uid}-identity-label`, id: `${uid}-passwordAuth-identityFields` });
  const identityErr = h('div.field-error', { id: identityBox.id + '-err', role: 'alert' });
  identityBox.setAttribute('aria-describedby', identityErr.id);
  slots.set('passwordAuth.identityFields', [identityBox, identityErr]);
  let identityNames = '';
  const drawIdentity = () => {
    const names = c.fields.filter(identityCandidate).map((f) => f.name).filter(Boolean);
    for (const n of c.passwordAuth.identityFields) if (!names.includes(n)) names.push(n);
    const key = names.join('\0');
    if (key === identityNames) return;
    identityNames = key;
    mount(identityBox, names.map((n) => h('label.check', h('input', {
      type: 'checkbox', value: n, checked: c.passwordAuth.identityFields.includes(n),
      onchange: (e) => {
        const list = c.passwordAuth.identityFields.filter((x) => x !== n);
        if (e.target.checked) list.push(n);
        c.passwordAuth.identityFields = list;
        changed();
      },
    }), ' ', n)));
  };

  // OAuth2 providers, one card each.
  const providersBox = h('div.providers');
  const mappedBox = h('div.grid2.mapped');
  const fieldOptions = (selected) => [h('option', { value: '' }, '— none —'),
    c.fields.filter((f) => f.name && !f.system).map((f) => h('option', { value: f.name, selected: f.name === selected }, f.name))];
  const drawMapped = () => mount(mappedBox, MAPPED.map(([k, label]) => {
    const sel = h('select', { name: `oauth2.mappedFields.${k}`, onchange: (e) => { c.oauth2.mappedFields[k] = e.target.value; changed(); } },
      fieldOptions(c.oauth2.mappedFields[k]));
    return labelled(`oauth2.mappedFields.${k}`, `${label} →`, sel);
  }));
  const drawProviders = () => {
    for (const k of [...slots.keys()]) if (k.startsWith('oauth2.providers.')) slots.delete(k);
    mount(providersBox, c.oauth2.providers.length ? c.oauth2.providers.map((p, i) => providerCard(p, i))
      : h('p.muted', 'No providers yet.'));
  };
  const providerCard = (p, i) => {
    const key = (k) => `oauth2.providers.${i}.${k}`;
    const preset = presets.find((x) => x.name === p.name) || {};
    const edit = (k, v) => { if (v === '' || v === undefined) delete p[k]; else p[k] = v; changed(); };
    const text = (k, label, attrs = {}, help) => {
      const input = h('input', { value: p[k] ?? '', spellcheck: 'false', autocomplete: 'off', ...attrs });
      input.addEventListener('input', () => edit(k, input.value.trim()));
      return labelled(key(k), label, input, help);
    };
    const extra = (k, label, help) => {
      const input = h('input', { value: Array.isArray(p.extra?.[k]) ? p.extra[k].join(' ') : p.extra?.[k] ?? '', spellcheck: 'false', autocomplete: 'off' });
      input.addEventListener('input', () => {
        p.extra = { ...(p.extra || {}) };
        if (input.value.trim()) p.extra[k] = input.value.trim(); else delete p.extra[k];
        changed();
      });
      return labelled(key('extra.' + k), label, input, help);
    };
    const name = h('select', {
      onchange: (e) => { p.name = e.target.value; changed(); drawProviders(); providersBox.querySelectorAll('.provider-card')[i]?.querySelector('select')?.focus(); },
    }, (presets.some((x) => x.name === p.name) ? presets : [{ name: p.name }, ...presets])
      .map((x) => h('option', { value: x.name, selected: x.name === p.name }, x.displayName ? `${x.displayName} (${x.name})` : x.name)));
    const pkce = h('select', {
      onchange: (e) => { if (e.target.value === '') p.pkce = null; else p.pkce = e.target.value === 'on'; changed(); },
    }, h('option', { value: '', selected: p.pkce == null }, `Provider default (${preset.pkce === false ? 'off' : 'on'})`),
    h('option', { value: 'on', selected: p.pkce === true }, 'On'), h('option', { value: 'off', selected: p.pkce === false }, 'Off'));
    const kept = stored.has(p.name);
    const oidc = p.name.startsWith('oidc');
    return h('fieldset.provider-card',
      h('legend', p.displayName || preset.displayName || p.name),
      h('div.grid2', labelled(key('name'), 'Provider', name), text('displayName', 'Display name', { placeholder: preset.displayName || '' })),
      h('div.grid2', text('clientId', 'Client id'),
        text('clientSecret', 'Client secret', { type: 'password', autocomplete: 'new-password', placeholder: kept ? 'Stored; leave empty to keep it' : '' },
          kept ? 'The secret is never shown again. Type a new one to replace it.' : 'Stored on the server and never shown again.')),
      oidc ? h('div.grid2', extra('issuer', 'Issuer URL', 'OpenID Connect discovery: the endpoints below are then optional.'), extra('jwksURL', 'JWKS URL')) : null,
      h('details.endpoints', { open: oidc && !p.extra?.issuer ? true : null },
        h('summary', 'Endpoints, scopes and PKCE'),
        text('authURL', 'Authorization URL', { type: 'url', placeholder: preset.authURL || '' }),
        text('tokenURL', 'Token URL', { type: 'url', placeholder: preset.tokenURL || '' }),
        text('userInfoURL', 'User info URL', { type: 'url', placeholder: preset.userInfoURL || '' }),
        h('div.grid2', extra('scopes', 'Scopes', 'Space separated; empty for the provider default.'), labelled(key('pkce'), 'PKCE', pkce))),
      h('div.form-actions', h('button.danger.small', {
        type: 'button', 'aria-label': `Remove the ${p.name} provider`,
        onclick: () => { c.oauth2.providers.splice(i, 1); drawProviders(); changed(); addProvider.focus(); },
      }, 'Remove provider')));
  };
  const addProvider = h('button', {
    type: 'button', onclick: () => {
      const used = new Set(c.oauth2.providers.map((p) => p.name));
      const next = presets.find((x) => !used.has(x.name)) || presets[0];
      c.oauth2.providers.push({ name: next.name, clientId: '' });
      drawProviders();
      changed();
      const cards = providersBox.querySelectorAll('.provider-card');
      cards[cards.length - 1]?.querySelector('select')?.focus();
    },
  }, '+ Add provider');
  api('GET', '/api/collections/meta/oauth2-providers').then((list) => {
    if (Array.isArray(list) && list.length) { presets = list; drawProviders(); }
  }).catch(() => { /* the fallback list of names serves */ });

  // MFA with a single sign-in method locks everyone out (superusers too).
  const mfaWarn = h('p.warn', { id: 'ao-mfa-warning', role: 'status' });
  const warnMFA = () => {
    const methods = [c.passwordAuth.enabled, c.otp.enabled, c.oauth2.enabled && c.oauth2.providers.length > 0].filter(Boolean).length;
    mfaWarn.textContent = c.mfa.enabled && methods < 2
      ? 'MFA needs two sign-in methods: with only one on, nobody can finish signing in. Turn on one-time passwords or OAuth2 as well.' : '';
  };
  const mfaRule = h('textarea.code.rule', { rows: 1, spellcheck: 'false', placeholder: 'Every sign-in (empty rule)' }, c.mfa.rule || '');
  mfaRule.addEventListener('input', () => { c.mfa.rule = mfaRule.value; changed(); });

  const template = ([path, title, vars]) => {
    const id = path.join('-');
    const subject = h('input', { value: get(c, path).subject || '', spellcheck: 'false' });
    subject.addEventListener('input', () => { get(c, path).subject = subject.value; changed(); });
    const body = h('textarea.code', { rows: 6, spellcheck: 'false' }, get(c, path).body || '');
    body.addEventListener('input', () => { get(c, path).body = body.value; changed(); });
    return h('details.template', h('summary', title),
      labelled(`${id}.subject`, 'Subject', subject), labelled(`${id}.body`, 'Body (HTML)', body, 'Placeholders: ' + vars));
  };

  const el = h('div.auth-options',
    section('passwordAuth', 'Password sign-in',
      toggle(['passwordAuth', 'enabled'], 'Enabled'),
      h('div.field', h('span.label', { id: `${uid}-identity-label` }, 'Identity fields'), identityBox,
        h('div.help', 'Fields a user may sign in with, besides the password. Each needs a unique index.'), identityErr)),
    section('oauth2', 'OAuth2 sign-in',
      toggle(['oauth2', 'enabled'], 'Enabled'),
      h('p.muted.small', 'Redirect URL to register with each provider: ', h('code', location.origin + '/api/oauth2-redirect')),
      providersBox, addProvider,
      h('h3', 'Mapped fields'), h('p.muted.small', 'Fields filled from the provider’s profile when a user signs up through it.'), mappedBox),
    section('mfa', 'Multi-factor authentication',
      toggle(['mfa', 'enabled'], 'Enabled'), mfaWarn,
      h('p.muted.small', 'A second sign-in method (e.g. a one-time password after the password) completes the sign-in. Needs two methods enabled.'),
      numberAt(['mfa', 'duration'], 'mfa.duration', 'Session duration (seconds)', 'Time to finish the second step.', 10),
      labelled('mfa.rule', 'Rule', mfaRule, 'Who needs a second factor, in the filter language (e.g. @request.auth.verified = false). Checked by the server as you type.')),
    section('otp', 'One-time passwords by mail',
      toggle(['otp', 'enabled'], 'Enabled'),
      h('div.grid2', numberAt(['otp', 'duration'], 'otp.duration', 'Valid for (seconds)', '', 10), numberAt(['otp', 'length'], 'otp.length', 'Digits', '', 4))),
    section('authAlert', 'New sign-in alert',
      toggle(['authAlert', 'enabled'], 'Mail users when they sign in from a new device')),
    section('tokens', 'Token lifetimes',
      h('div.grid2', TOKENS.map(([k, label, help]) => numberAt([k, 'duration'], `${k}.duration`, `${label} (seconds)`, help, 10)))),
    section('templates', 'Mail templates', TEMPLATES.map(template)));
  for (const [k] of TOKENS) general.set(k, general.get('tokens'));

  drawIdentity();
  drawProviders();
  drawMapped();
  warnMFA();

  /** showProblems shows the server's problems (data of a 400, or null) next to their inputs. */
  function showProblems(data) {
    data ||= {};
    warnMFA();
    drawIdentity(); // the field list may have changed since the last check
    if (mappedBox.dataset.fields !== c.fields.map((f) => f.name).join('\0')) {
      mappedBox.dataset.fields = c.fields.map((f) => f.name).join('\0');
      drawMapped();
    }
    for (const [key, [input, err]] of slots) {
      const msg = data[key]?.message || '';
      err.textContent = msg;
      if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
    }
    for (const err of new Set(general.values())) err.textContent = '';
    for (const [key, err] of general) {
      const msg = data[key]?.message;
      const placed = Object.keys(data).some((k) => k.startsWith(key + '.') && slots.has(k));
      if (msg && !placed && !err.textContent) err.textContent = msg;
    }
    // A problem inside a closed disclosure opens it.
    for (const [, [input, err]] of slots) if (err.textContent) input.closest('details')?.setAttribute('open', '');
  }
  return { el, showProblems };
}

/** identityCandidate reports whether a field may serve as a sign-in identity. */
function identityCandidate(f) {
  return ['text', 'email', 'number', 'url'].includes(f.type) && f.name !== 'tokenKey';
}

function get(obj, path) {
  return path.reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function set(obj, path, v) {
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k] ??= {};
  o[path[path.length - 1]] = v;
}

/** humanSeconds says a duration in words ("7 days"). */
function humanSeconds(s) {
  if (!Number.isFinite(s) || s <= 0) return '';
  for (const [n, unit] of [[86400 * 365, 'year'], [86400, 'day'], [3600, 'hour'], [60, 'minute']]) {
    if (s >= n) {
      const v = Math.round((s / n) * 10) / 10;
      return `(≈ ${v} ${unit}${v === 1 ? '' : 's'})`;
    }
  }
  return `(${s} second${s === 1 ? '' : 's'})`;
}
