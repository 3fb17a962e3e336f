// "Is my backend healthy": the last hour of throughput, errors, latency,
// in-flight requests, realtime clients, outbox lag, memory and CPU of this
// server process (GET /api/metrics/history), and the latest failed
// requests from the request log.
import { h, mount, api, fmtBytes, fmtDate, toast } from './lib.js';
import { lineChart } from './chart.js';

export async function render(el) {
  const tiles = h('div.tiles');
  const charts = h('div.charts');
  const errors = h('div.table-wrap');
  const status = h('span.live');
  mount(el,
    h('div.page-head',
      h('div', h('h1', 'Monitoring'), h('p.muted', 'The last hour of this server process, sampled every 10 seconds. With several replicas, each shows its own.')),
      h('div.actions', status)),
    tiles, charts,
    h('section.card', h('div.section-head', h('h2', 'Latest failed requests'), h('a.button.small', { href: '#/logs?filter=' + encodeURIComponent('data.status >= 400') }, 'All logs')), errors));

  let timer = 0;
  let stopped = false;
  async function refresh() {
    try {
      const [hist, health] = await Promise.all([api('GET', '/api/metrics/history'), api('GET', '/api/health').catch((e) => ({ message: e.message, failed: true }))]);
      draw(hist, health);
      status.textContent = health.failed ? '● Unhealthy' : '● Healthy';
      status.classList.toggle('on', !health.failed);
      status.classList.toggle('bad', !!health.failed);
    } catch (e) {
      status.textContent = e.message;
      status.classList.add('bad');
    }
    try {
      const logs = await api('GET', '/api/logs?perPage=8&sort=-created&filter=' + encodeURIComponent('data.status >= 500'));
      mount(errors, logs.items.length ? logTable(logs.items) : h('p.muted.pad', 'No failed request (5xx) in the log.'));
    } catch (e) {
      mount(errors, h('p.field-error.pad', e.message));
    }
    if (!stopped) timer = setTimeout(refresh, 10000);
  }

  function draw(hist, health) {
    const pts = hist.points;
    const last = pts[pts.length - 1] || {};
    const avg = (k) => (pts.length ? pts.reduce((s, p) => s + (p[k] || 0), 0) / pts.length : 0);
    const ms = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ms';
    mount(tiles,
      tile('Requests/s', (last.rps ?? 0).toFixed(1), `avg ${avg('rps').toFixed(1)} over the hour`),
      tile('Error rate', pct(last.errorRate), `${(last.errors ?? 0).toFixed(2)} 5xx/s`, last.errorRate > 0.01),
      tile('Latency p50 / p99', `${ms(last.p50 ?? 0)} / ${ms(last.p99 ?? 0)}`, 'over the last 10 s'),
      tile('In flight', String(last.inFlight ?? 0), 'requests being served'),
      tile('Realtime', String(last.realtime ?? 0), 'clients connected'),
      tile('Outbox lag', String(last.outboxLag ?? 0), 'events not yet delivered', last.outboxLag > 1000),
      tile('Memory', fmtBytes(last.rss ?? NaN), `heap ${fmtBytes(last.heap ?? NaN)}`),
      tile('CPU', pct(last.cpu), 'of one core'));
    if (!pts.length) {
      mount(charts, h('p.muted.card.pad', 'Collecting: the first points appear within 10 seconds of the server start.'));
      return;
    }
    const span = hist.span || 3600;
    const count = (v) => (v < 10 ? String(+v.toFixed(2)) : v.toFixed(0));
    const chart = (title, series, fmt) => h('section.card.chart-card', h('h2', title), lineChart(pts, series, { fmt, span }),
      h('div.legend', series.map((s) => h('span.key.' + s.cls, s.label))));
    mount(charts,
      chart('Throughput', [{ key: 'rps', label: 'req/s', cls: 's1' }, { key: 'errors', label: '5xx/s', cls: 's3' }], count),
      chart('Latency', [{ key: 'p50', label: 'p50', cls: 's1' }, { key: 'p99', label: 'p99', cls: 's2' }], (v) => count(v) + 'ms'),
      chart('Error rate', [{ key: 'errorRate', label: '5xx share', cls: 's3' }], pct),
      chart('In flight and realtime', [{ key: 'inFlight', label: 'in flight', cls: 's1' }, { key: 'realtime', label: 'realtime clients', cls: 's2' }], count),
      chart('Outbox lag', [{ key: 'outboxLag', label: 'events', cls: 's2' }], count),
      chart('Memory', [{ key: 'rss', label: 'RSS', cls: 's1' }, { key: 'heap', label: 'heap', cls: 's2' }], (v) => fmtBytes(v)),
      chart('CPU', [{ key: 'cpu', label: 'cores', cls: 's1' }], pct));
  }

  await refresh().catch((e) => toast(e.message, 'error'));
  return () => { stopped = true; clearTimeout(timer); };
}

function pct(v) { return ((v || 0) * 100).toFixed((v || 0) < 0.1 ? 2 : 1) + '%'; }

function tile(label, value, sub, bad) {
  return h('div.tile' + (bad ? '.bad' : ''), h('div.tile-label', label), h('div.tile-value', value), h('div.tile-sub', sub));
}

/** logTable renders request log entries; rows link to their detail. */
export function logTable(items) {
  return h('table.records.logs',
    h('thead', h('tr', ['Time', 'Status', 'Method', 'URL', 'Duration', 'IP'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', items.map((l) => {
      const d = l.data || {};
      return h('tr', { onclick: (e) => { if (!e.target.closest('a')) location.hash = '#/logs/' + l.id; } },
        h('td', h('a', { href: '#/logs/' + l.id }, fmtDate(l.created))),
        h('td', d.status ? h('span.status.s' + String(d.status)[0], d.status) : h('span.badge', levelName(l.level))),
        h('td', d.method || ''),
        h('td.url', d.url || l.message),
        h('td', d.execTime !== undefined ? `${Number(d.execTime).toFixed(1)} ms` : ''),
        h('td', d.remoteIP || ''));
    })));
}

export function levelName(l) { return l >= 8 ? 'error' : l >= 4 ? 'warn' : l >= 0 ? 'info' : 'debug'; }
