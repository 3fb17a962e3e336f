// The dashboard's entry: the hash router, the shell (navigation) and the
// session. Each screen is a module loaded on first use (dynamic import), so
// the first load is this file, lib.js and the style sheet.
import { h, mount, auth, api, refreshToken, realtime, toast, icon } from './lib.js';

const screens = {
  login: () => import('./login.js'),
  collections: () => import('./collections.js'),
  records: () => import('./records.js'),
  collection: () => import('./collection-form.js'),
  record: () => import('./record-form.js'),
  monitoring: () => import('./monitoring.js'),
  logs: () => import('./logs.js'),
  settings: () => import('./settings.js'),
};

/** route maps the URL fragment to a screen and its parameters. */
function route(hash) {
  const parts = hash.replace(/^#\/?/, '').split('?')[0].split('/').map(decodeURIComponent);
  const query = new URLSearchParams(hash.split('?')[1] || '');
  const [a, b, c, d] = parts;
  if (a === 'login') return { screen: 'login', query };
  if (a === 'c' && b && c === 'edit') return { screen: 'collection', name: b, query };
  if (a === 'c' && b && c === 'r' && d) return { screen: 'record', name: b, id: d, query };
  if (a === 'c' && b) return { screen: 'records', name: b, query };
  if (a === 'new-collection') return { screen: 'collection', name: '', query };
  if (a === 'monitoring') return { screen: 'monitoring', query };
  if (a === 'logs') return { screen: 'logs', id: b, query };
  if (a === 'settings') return { screen: 'settings', tab: b || 'application', query };
  return { screen: 'collections', query };
}

/** go navigates to a fragment ("#/c/posts"). */
export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

const app = document.getElementById('app');
let current = null; // the screen's cleanup function
let seq = 0;

/** state shared by screens: the collections list, reloaded on demand. */
export const state = {
  collections: [],
  async loadCollections() {
    const res = await api('GET', '/api/collections?perPage=1000&sort=name');
    state.collections = res.items;
    renderNav();
    return state.collections;
  },
  collection(nameOrId) {
    return state.collections.find((c) => c.name === nameOrId || c.id === nameOrId);
  },
};

let nav = null;
let main = null;

function shell() {
  if (main && main.isConnected) return main;
  nav = h('nav.sidebar', { 'aria-label': 'Main' });
  main = h('main#main', { tabindex: '-1' });
  const menu = h('button.menu-toggle', {
    type: 'button', 'aria-label': 'Menu', 'aria-expanded': 'false',
    onclick: () => {
      const open = document.body.classList.toggle('nav-open');
      menu.setAttribute('aria-expanded', String(open));
    },
  }, '☰');
  mount(app,
    h('a.skip', { href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('header.topbar', menu, h('a.brand', { href: '#/' }, h('span.logo', { 'aria-hidden': 'true' }), 'Basalt'),
      h('span.spacer'),
      h('span.who', icon('user'), auth.get()?.record?.email || ''),
      h('button.ghost', { type: 'button', onclick: signOut, title: 'Sign out' }, icon('out'), h('span.label', 'Sign out'))),
    h('div.layout', nav, main));
  renderNav();
  return main;
}

function renderNav() {
  if (!nav) return;
  const r = route(location.hash);
  const link = (href, label, active, ic) => h('a' + (active ? '.active' : ''), { href, 'aria-current': active ? 'page' : null }, ic ? icon(ic) : null, label);
  const cols = [...state.collections].sort((a, b) => (a.system - b.system) || a.name.localeCompare(b.name));
  mount(nav,
    h('div.nav-section', h('h2', 'Collections'),
      h('ul.nav-list', cols.map((c) => h('li', link('#/c/' + encodeURIComponent(c.name), c.name,
        (r.screen === 'records' || r.screen === 'collection' || r.screen === 'record') && r.name === c.name, 'db')))),
      h('a.new-link', { href: '#/new-collection' }, icon('plus'), 'New collection')),
    h('div.nav-section', h('h2', 'System'), h('ul.nav-list',
      h('li', link('#/monitoring', 'Monitoring', r.screen === 'monitoring', 'chart')),
      h('li', link('#/logs', 'Logs', r.screen === 'logs', 'list')),
      h('li', link('#/settings', 'Settings', r.screen === 'settings', 'gear')))));
}

async function render() {
  const my = ++seq;
  const r = route(location.hash);
  document.body.classList.remove('nav-open');
  if (current) { try { current(); } catch { /* a screen's cleanup never blocks navigation */ } current = null; }
  if (!auth.token() && r.screen !== 'login') { location.hash = '#/login'; return; }
  if (auth.token() && r.screen === 'login') { location.hash = '#/'; return; }
  let target = app;
  if (r.screen !== 'login') {
    target = shell();
    if (!state.collections.length) {
      try { await state.loadCollections(); } catch (e) { toast(e.message, 'error'); }
    }
    renderNav();
  } else {
    main = null;
  }
  // Each render draws into a box of its own: a screen still loading when
  // the user moves on draws into a detached box, never over the next one.
  const box = h('div.screen');
  mount(target, box);
  mount(box, h('div.loading-screen', { 'aria-busy': 'true' }, h('span.spinner'), 'Loading…'));
  try {
    const mod = await screens[r.screen]();
    if (my !== seq) return;
    const cleanup = await mod.render(box, r);
    if (my !== seq) { if (typeof cleanup === 'function') cleanup(); return; }
    current = typeof cleanup === 'function' ? cleanup : null;
  } catch (e) {
    if (my !== seq) return;
    mount(box, h('div.error-screen', { role: 'alert' }, h('h1', 'Something went wrong'), h('p', e.message || String(e))));
  }
}

function signOut() {
  realtime.close();
  auth.set(null);
  state.collections = [];
  // Signing out already moved to #/login (the auth listener below); going
  // there again would draw the sign-in form twice.
  if (location.hash !== '#/login') go('#/login');
}

auth.listeners.add((v) => {
  if (!v) {
    realtime.close();
    // What the session's actions said is not for whoever signs in next.
    document.getElementById('toasts')?.replaceChildren();
    if (route(location.hash).screen !== 'login') location.hash = '#/login';
  }
});

window.addEventListener('hashchange', render);
render();

// Keep the session: renew the token when it has less than a day left.
if (auth.token()) refreshToken().catch(() => {});
setInterval(() => refreshToken().catch(() => {}), 30 * 60 * 1000);
