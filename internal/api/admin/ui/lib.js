// Shared pieces of the Basalt admin dashboard: a DOM builder, the API
// client (public API only, token in localStorage), realtime, toasts,
// dialogs and formatting. No dependencies, no build step.

const TOKEN_KEY = 'basalt_admin_auth';

/** h builds an element: h('button.primary', {onclick}, 'Save'). */
export function h(spec, attrs, ...children) {
  const [tagAndId, ...classes] = spec.split('.');
  const [tag, id] = tagAndId.split('#');
  const el = tag === 'svg' || SVG_TAGS.has(tag)
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag || 'div');
  if (id) el.id = id;
  for (const c of classes) if (c) el.classList.add(c);
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.classList.add(...String(v).split(' ').filter(Boolean));
    else if (k === 'value' && 'value' in el && !(el instanceof SVGElement)) el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'multiple') el[k] = !!v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

const SVG_TAGS = new Set(['path', 'line', 'polyline', 'rect', 'text', 'g', 'circle', 'title']);

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** clear empties el and appends children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** ApiError is a failed API call with PocketBase's {status, message, data}. */
export class ApiError extends Error {
  constructor(status, message, data, body) {
    super(message || `Request failed (${status}).`);
    this.status = status;
    this.data = data || {};
    this.body = body || {};
  }
  /** field returns the message of a field error (data.name.message). */
  field(name) {
    const f = this.data?.[name];
    return f && typeof f === 'object' ? f.message || f.code : '';
  }
}

/** auth holds the superuser session (token + record) in localStorage. */
export const auth = {
  get() {
    try { return JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null'); } catch { return null; }
  },
  set(v) {
    if (v) localStorage.setItem(TOKEN_KEY, JSON.stringify(v));
    else localStorage.removeItem(TOKEN_KEY);
    for (const f of auth.listeners) f(v);
  },
  token() { return auth.get()?.token || ''; },
  listeners: new Set(),
  /** expiry returns the token's exp (ms) or 0. */
  expiry() {
    const t = auth.token();
    try { return JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000; } catch { return 0; }
  },
};

/** api calls Basalt's public API. body may be an object (JSON) or FormData. */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const token = auth.token();
  if (token) headers.Authorization = token;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Basalt cannot be reached. Check that the server is running.');
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
  }
  if (!res.ok) {
    if (res.status === 401 && token && !opts.noSignOut) auth.set(null);
    throw new ApiError(res.status, data?.message, data?.data, data);
  }
  return data;
}

/** qs builds a query string from the non-empty values of obj. */
export function qs(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== '' && v !== undefined && v !== null) p.set(k, v);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** refreshSoon renews the superuser token when it has less than a day left. */
export async function refreshToken(force = false) {
  const exp = auth.expiry();
  if (!auth.token() || (!force && exp - Date.now() > 24 * 3600 * 1000)) return;
  const res = await api('POST', '/api/collections/_superusers/auth-refresh');
  auth.set({ token: res.token, record: res.record });
}

/**
 * Realtime is the PocketBase SSE protocol: connect, then subscribe. One
 * connection serves every screen; each subscription change sends the
 * whole topic list.
 */
export class Realtime {
  constructor() {
    this.handlers = new Map();
    this.clientId = '';
    this.source = null;
    this.onstate = () => {};
  }
  /** subscribe calls fn(action, record) for topic ("posts/*"); returns unsubscribe. */
  subscribe(topic, fn) {
    if (!this.handlers.has(topic)) this.handlers.set(topic, new Set());
    this.handlers.get(topic).add(fn);
    this.connect();
    this.sendSubscriptions();
    return () => {
      const set = this.handlers.get(topic);
      set?.delete(fn);
      if (set && !set.size) this.handlers.delete(topic);
      // The connection stays open for the session (closed on sign-out):
      // closing it under a subscription request in flight would make the
      // server answer that request 404.
      this.sendSubscriptions();
    };
  }
  connect() {
    if (this.source) return;
    const es = new EventSource('/api/realtime');
    this.source = es;
    this.listening = new Set(); // topics with a listener on this source
    es.addEventListener('PB_CONNECT', (e) => {
      this.clientId = JSON.parse(e.data).clientId;
      this.sendSubscriptions();
      this.onstate('live');
    });
    es.onerror = () => { this.clientId = ''; this.onstate('reconnecting'); };
  }
  listen(topic) {
    if (!this.source || this.listening.has(topic)) return;
    this.listening.add(topic);
    this.source.addEventListener(topic, (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      for (const fn of this.handlers.get(topic) || []) fn(msg.action, msg.record);
    });
  }
  /** sendSubscriptions sends the topic list, one request at a time, so the last list sent is the current one. */
  async sendSubscriptions() {
    if (!this.clientId) return;
    if (this.sending) { this.dirty = true; return; }
    this.sending = true;
    try {
      do {
        this.dirty = false;
        const topics = [...this.handlers.keys()];
        topics.forEach((t) => this.listen(t));
        try {
          await api('POST', '/api/realtime', { clientId: this.clientId, subscriptions: topics });
        } catch (e) {
          this.onstate('error: ' + e.message);
        }
      } while (this.dirty && this.clientId);
    } finally {
      this.sending = false;
    }
  }
  close() {
    this.source?.close();
    this.source = null;
    this.clientId = '';
  }
}

export const realtime = new Realtime();

/** toast shows a short message; kind is 'ok' or 'error'. */
export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  const el = h('div.toast.' + kind, { role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(el);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3500);
}

/** busy disables btn and shows progress while promise runs; errors toast. */
export async function busy(btn, fn) {
  const label = btn?.textContent;
  if (btn) { btn.disabled = true; btn.classList.add('loading'); btn.setAttribute('aria-busy', 'true'); }
  try {
    return await fn();
  } finally {
    if (btn && btn.isConnected) {
      btn.disabled = false; btn.classList.remove('loading'); btn.removeAttribute('aria-busy');
      btn.textContent = label;
    }
  }
}

/** dialog opens a modal with body and buttons; resolves with the chosen value. */
export function dialog({ title, body, actions = [{ label: 'Close', value: null }], wide = false }) {
  return new Promise((resolve) => {
    const prev = document.activeElement;
    const d = h('dialog.modal' + (wide ? '.wide' : ''), { 'aria-labelledby': 'dlg-title' });
    const close = (v) => { d.close(); d.remove(); prev?.focus?.(); resolve(v); };
    d.addEventListener('cancel', (e) => { e.preventDefault(); close(null); });
    mount(d,
      h('h2#dlg-title', title),
      h('div.modal-body', body),
      h('div.modal-actions', actions.map((a) => h('button' + (a.kind ? '.' + a.kind : ''), {
        type: 'button', onclick: async (e) => {
          if (a.run) {
            try { await busy(e.currentTarget, a.run); } catch (err) { toast(err.message, 'error'); return; }
          }
          close(a.value);
        },
      }, a.label))));
    document.body.append(d);
    d.showModal();
    const first = d.querySelector('input, select, textarea, button.primary, button.danger');
    first?.focus();
  });
}

/** confirm asks a yes/no question; danger styles the confirm button red. */
export function confirm(title, message, { confirmLabel = 'Confirm', danger = false } = {}) {
  return dialog({
    title, body: h('p', message),
    actions: [{ label: 'Cancel', value: false }, { label: confirmLabel, value: true, kind: danger ? 'danger' : 'primary' }],
  });
}

/** debounce delays fn until ms have passed without a call. */
export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** fmtDate shows a PocketBase date in the local time zone. */
export function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s.replace(' ', 'T'));
  return isNaN(d) ? s : d.toLocaleString();
}

/** fmtBytes shows a byte count. */
export function fmtBytes(n) {
  if (!isFinite(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${u[i]}`;
}

/** field wraps a labelled input with an inline error slot. */
export function field(label, input, { help = '', error = '', id } = {}) {
  const fid = id || input.id || 'f-' + Math.random().toString(36).slice(2, 9);
  input.id = fid;
  const err = h('div.field-error', { id: fid + '-err', role: 'alert' }, error);
  input.setAttribute('aria-describedby', fid + '-err');
  return h('div.field', h('label', { for: fid }, label), input, help ? h('div.help', help) : null, err);
}

/** showErrors puts an ApiError's field errors under matching inputs of form (by name). */
export function showErrors(form, err) {
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  if (!(err instanceof ApiError)) return false;
  let shown = false;
  for (const [name, v] of Object.entries(err.data || {})) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const slot = input && document.getElementById(input.id + '-err');
    if (slot) {
      slot.textContent = v?.message || v?.code || String(v);
      input.setAttribute('aria-invalid', 'true');
      shown = true;
    }
  }
  return shown;
}

/** fileURL returns the URL of a stored file (thumb optional). */
export function fileURL(col, id, name, thumb) {
  return `/api/files/${encodeURIComponent(col)}/${encodeURIComponent(id)}/${encodeURIComponent(name)}${thumb ? '?thumb=' + thumb : ''}`;
}

/** icon returns a small inline SVG icon. */
export function icon(name) {
  const paths = {
    db: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zm0 0v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
    chart: 'M4 20V4m0 16h16M8 16l4-6 3 3 5-7',
    list: 'M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01',
    gear: 'M12 15a3 3 0 100-6 3 3 0 000 6zm7.4-3a7.4 7.4 0 00-.1-1.2l2-1.6-2-3.4-2.4 1a7 7 0 00-2-1.2L14.5 3h-4l-.4 2.6a7 7 0 00-2 1.2l-2.4-1-2 3.4 2 1.6a7.4 7.4 0 000 2.4l-2 1.6 2 3.4 2.4-1a7 7 0 002 1.2l.4 2.6h4l.4-2.6a7 7 0 002-1.2l2.4 1 2-3.4-2-1.6c.1-.4.1-.8.1-1.2z',
    out: 'M15 12H4m0 0l4-4m-4 4l4 4M14 4h6v16h-6',
    plus: 'M12 5v14M5 12h14',
    user: 'M12 12a4 4 0 100-8 4 4 0 000 8zm-8 9a8 8 0 0116 0',
  };
  return h('svg.icon', { viewBox: '0 0 24 24', 'aria-hidden': 'true', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' },
    h('path', { d: paths[name] || '' }));
}
