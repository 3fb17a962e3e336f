// Small SVG line charts drawn by hand: one series or several over time,
// with a y axis from zero, gridlines and a hover read-out.
import { h } from './lib.js';

/**
 * lineChart returns an <svg> for points [{t, ...}] and series
 * [{key, label, cls}]; fmt formats a y value.
 */
export function lineChart(points, series, { fmt = (v) => v.toFixed(1), height = 140, span = 3600 } = {}) {
  const W = 600, H = height, L = 44, R = 8, T = 10, B = 20;
  const now = Date.now();
  const t0 = now - span * 1000;
  let ymax = 0;
  for (const p of points) for (const s of series) ymax = Math.max(ymax, p[s.key] || 0);
  ymax = niceMax(ymax);
  const x = (t) => L + ((t - t0) / (span * 1000)) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  const svg = h('svg.chart', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    svg.append(h('line.grid', { x1: L, x2: W - R, y1: y(v), y2: y(v) }), h('text.axis', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  for (const m of [60, 45, 30, 15, 0]) {
    const tx = x(now - m * 60000);
    svg.append(h('text.axis', { x: tx, y: H - 4, 'text-anchor': m === 0 ? 'end' : 'middle' }, m ? `-${m}m` : 'now'));
  }
  for (const s of series) {
    const d = points.filter((p) => p.t >= t0).map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p[s.key] || 0).toFixed(1)}`).join('');
    if (d) svg.append(h('path.line.' + s.cls, { d }));
    const shown = points.filter((p) => p.t >= t0);
    if (shown.length === 1) svg.append(h('circle.dot.' + s.cls, { cx: x(shown[0].t), cy: y(shown[0][s.key] || 0), r: 3 }));
  }
  const last = points[points.length - 1];
  const label = series.map((s) => `${s.label} ${last ? fmt(last[s.key] || 0) : '–'}`).join(', ');
  svg.append(h('title', label));
  svg.setAttribute('aria-label', label);
  // Hover read-out.
  const cursor = h('line.cursor', { x1: 0, x2: 0, y1: T, y2: H - B });
  const readout = h('text.readout', { x: W - R, y: T + 10, 'text-anchor': 'end' });
  svg.append(cursor, readout);
  svg.addEventListener('mousemove', (e) => {
    const rect = svg.getBoundingClientRect();
    const px = ((e.clientX - rect.left) / rect.width) * W;
    const t = t0 + ((px - L) / (W - L - R)) * span * 1000;
    let best = null;
    for (const p of points) if (!best || Math.abs(p.t - t) < Math.abs(best.t - t)) best = p;
    if (!best) return;
    cursor.setAttribute('x1', x(best.t)); cursor.setAttribute('x2', x(best.t));
    svg.classList.add('hover');
    readout.textContent = `${new Date(best.t).toLocaleTimeString()} · ` + series.map((s) => `${s.label} ${fmt(best[s.key] || 0)}`).join(' · ');
  });
  svg.addEventListener('mouseleave', () => { svg.classList.remove('hover'); readout.textContent = ''; });
  return svg;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
