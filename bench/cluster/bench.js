// Read throughput of Basalt replicas on one PostgreSQL database through nginx (1, 2 and 3 replicas),
// and of SQLite on one node through the same nginx, as ratios, with CPU time per request. Started by
// bench/cluster/run, which builds the binary; see there for the knobs.
//
// Each configuration gets a fresh cluster (e2e/cluster/cluster.js: a new database, the replicas, nginx
// with e2e/cluster/nginx.conf.tmpl, the configuration docs/scaling.md shows), seeded with the same
// posts through /api/batch; wrk then drives each scenario for a warm-up and a measured period. CPU
// per request counts the replicas, the nginx worker and, on PostgreSQL, the database's backends
// (/proc/PID/stat utime+stime over the measured period).

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { psql, startNginx, startReplicas } from '../../e2e/cluster/cluster.js';
import { SUPERUSER_EMAIL, SUPERUSER_PASSWORD, startServer } from '../../e2e/lib/server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const luaDir = path.join(root, 'bench/lua');
const env = (k, d) => process.env[k] || d;
const duration = env('BENCH_DURATION', '10s');
const warmup = env('BENCH_WARMUP', '2s');
const connections = Number(env('BENCH_CONNECTIONS', 32));
const threads = Number(env('BENCH_THREADS', 2));
const records = Number(env('BENCH_RECORDS', 2000));
const wrk = env('BENCH_WRK', 'wrk');
const pg = process.env.BASALT_TEST_POSTGRES;
const ticks = 100; // USER_HZ: /proc/PID/stat counts CPU in 1/100 s on Linux

const scenarios = [
  { name: 'view', path: '/api/collections/posts/records/x', script: 'view.lua', args: (ids) => [ids, '/api/collections/posts/records/'] },
  { name: 'list', path: '/api/collections/posts/records?perPage=30', script: 'get.lua', args: () => [] },
  { name: 'list-filtered', path: '/api/collections/posts/records?perPage=30&filter=' + encodeURIComponent('views>500 && published=true') + '&sort=-views', script: 'get.lua', args: () => [] },
];

function execp(file, args) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${file}: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function cpuTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime, stime
  } catch {
    return 0;
  }
}

/** The nginx worker's pid (the child of the master). */
function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

async function call(url, method, p, token, body) {
  const res = await fetch(url + p, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 204) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** Seeds a public posts collection with n records through url; returns a file of their ids. */
async function seed(url, n, dir) {
  const { token } = await call(url, 'POST', '/api/collections/_superusers/auth-with-password', null, { identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD });
  await call(url, 'PATCH', '/api/settings', token, { batch: { enabled: true, maxRequests: 500, timeout: 60 } });
  await call(url, 'POST', '/api/collections', token, {
    name: 'posts', type: 'base', listRule: '', viewRule: '',
    fields: [{ name: 'title', type: 'text' }, { name: 'body', type: 'text' }, { name: 'views', type: 'number' }, { name: 'published', type: 'bool' }],
  });
  // Let every replica see the new collection and settings before seeding through any of them.
  await new Promise((r) => setTimeout(r, 1500));
  const ids = [];
  let x = 7;
  const rnd = (m) => ((x = (x * 1103515245 + 12345) % 2147483648), x % m);
  for (let done = 0; done < n; ) {
    const size = Math.min(500, n - done);
    const requests = Array.from({ length: size }, (_, i) => ({
      method: 'POST',
      url: '/api/collections/posts/records',
      body: { title: `Post number ${done + i}`, body: 'Lorem ipsum dolor sit amet, '.repeat(20), views: rnd(1000), published: rnd(2) === 0 },
    }));
    const res = await call(url, 'POST', '/api/batch', token, { requests });
    for (const r of res) ids.push(r.body.id);
    done += size;
  }
  const file = path.join(dir, 'ids.txt');
  await fsp.writeFile(file, ids.join('\n') + '\n');
  return file;
}

function parseWrk(out) {
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
  const total = Number(out.match(/(\d+) requests in/)?.[1]);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] || 0);
  const errors = out.match(/Socket errors: (.*)/)?.[1] || '';
  const lat = out.match(/Latency\s+(\S+)/)?.[1];
  return { rps, total, non2xx, errors, lat };
}

async function measure(url, s, idsFile, pids) {
  const args = (d) => ['-t', String(threads), '-c', String(connections), '-d', d, '--latency', '-s', path.join(luaDir, s.script), url + s.path, ...s.args(idsFile)];
  await execp(wrk, args(warmup));
  const before = pids().map(cpuTicks);
  const list = pids();
  const out = await execp(wrk, args(duration));
  const after = list.map(cpuTicks);
  const cpu = after.reduce((sum, t, i) => sum + Math.max(0, t - (before[i] || 0)), 0) / ticks;
  const r = parseWrk(out);
  if (!r.total || r.non2xx) throw new Error(`${s.name}: ${r.non2xx} non-2xx of ${r.total} (${r.errors})\n${out}`);
  return { ...r, cpuMsPerReq: (cpu * 1000) / r.total };
}

async function dbBackends(db) {
  const name = new URL(db).pathname.slice(1);
  const out = await psql(pg, `SELECT pid FROM pg_stat_activity WHERE datname = '${name}'`);
  return out.split('\n').filter(Boolean).map(Number);
}

async function runConfig(label, n) {
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'basalt-bench-cluster-'));
  let cluster;
  let nginx;
  try {
    if (n === 0) {
      // SQLite, one node: the e2e harness's single server (fresh --dir, superuser upserted).
      const srv = await startServer({ env: { ...process.env, BASALT_DB: '' } });
      cluster = { replicas: [{ pid: srv.pid, port: Number(new URL(srv.url).port) }], db: null, stop: () => srv.stop() };
    } else {
      cluster = await startReplicas(pg, n, { env: { ...process.env, BASALT_DB: '' } });
    }
    nginx = await startNginx(cluster.replicas.map((r) => r.port));
    const idsFile = await seed(nginx.url, records, scratch);
    const backends = cluster.db ? await dbBackends(cluster.db) : [];
    const pids = () => [...cluster.replicas.map((r) => r.pid), ...childrenOf(nginx.pid), ...backends];
    const out = {};
    for (const s of scenarios) {
      // Backends the pool opened since the last look count too.
      if (cluster.db) for (const b of await dbBackends(cluster.db)) if (!backends.includes(b)) backends.push(b);
      out[s.name] = await measure(nginx.url, s, idsFile, pids);
      console.error(`bench: ${label} ${s.name}: ${out[s.name].rps.toFixed(0)} req/s, ${out[s.name].cpuMsPerReq.toFixed(3)} ms CPU/req, p50 ${out[s.name].lat}`);
    }
    return out;
  } finally {
    if (nginx) await nginx.stop();
    if (cluster) await cluster.stop();
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}

if (!pg) {
  console.error('bench/cluster: set BASALT_TEST_POSTGRES to a PostgreSQL server URL that may CREATE DATABASE');
  process.exit(2);
}
const configs = [
  ['sqlite-1', 0],
  ['pg-1', 1],
  ['pg-2', 2],
  ['pg-3', 3],
];
const results = {};
for (const [label, n] of configs) results[label] = await runConfig(label, n);

const base = 'pg-1';
console.log(`\nBasalt read throughput through nginx (${os.cpus().length} cores, wrk -t${threads} -c${connections} -d${duration}, ${records} posts)\n`);
console.log('| scenario | setup | req/s | vs pg-1 | vs sqlite-1 | CPU ms/req (replicas + nginx + PostgreSQL) | p50 |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const s of scenarios) {
  for (const [label] of configs) {
    const r = results[label][s.name];
    console.log(`| ${s.name} | ${label} | ${r.rps.toFixed(0)} | ${(r.rps / results[base][s.name].rps).toFixed(2)} | ${(r.rps / results['sqlite-1'][s.name].rps).toFixed(2)} | ${r.cpuMsPerReq.toFixed(3)} | ${r.lat} |`);
  }
}
