// A Basalt cluster on loopback: one fresh PostgreSQL database, N `basalt serve` replicas on their own
// ports, and nginx round-robin in front of them (nginx.conf.tmpl, the configuration docs/scaling.md
// shows). Used by run.js (the cluster test) and bench/cluster/run (the replica benchmark).
//
// Every process is a child of this one and is stopped by its PID; nginx runs with `daemon off`, with
// its pid file, logs and temp files in a scratch directory, so nothing needs root or root-owned paths.

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, resolveBinary, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from '../lib/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const NGINX_TEMPLATE = path.join(here, 'nginx.conf.tmpl');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Children still alive when this process exits (a crash, an interrupted run) are killed here.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function execp(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000, ...opts }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\n${stdout}\n${stderr}`;
        reject(err);
      } else resolve(stdout);
    });
  });
}

/** Runs one SQL statement on the PostgreSQL server url with psql. */
export function psql(url, sql) {
  return execp('psql', ['-v', 'ON_ERROR_STOP=1', '-qAt', '-d', url, '-c', sql]);
}

/** Returns url with its database name replaced by name. */
export function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Renders nginx.conf.tmpl for a listen address and upstream ports. */
export function nginxConfig({ prefix, listen, ports, template = NGINX_TEMPLATE }) {
  const servers = ports
    .map((p) => `        server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`)
    .join('\n');
  return fs
    .readFileSync(template, 'utf8')
    .replaceAll('{{PREFIX}}', prefix)
    .replaceAll('{{LISTEN}}', listen)
    .replaceAll('{{SERVERS}}', servers);
}

function spawnLogged(bin, args, logFile, env = process.env) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', out, out], env });
  fs.closeSync(out);
  live.add(child);
  child.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      live.delete(child);
      resolve({ code: null, signal: null, error: err });
    });
  });
  return child;
}

async function waitHealthy(url, child, what, logFile, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code || err.message;
    }
    await sleep(100);
  }
  const log = await fsp.readFile(logFile, 'utf8').catch(() => '');
  throw new Error(`${what} did not become healthy at ${url} (${last}).\n--- log tail ---\n${log.split('\n').slice(-30).join('\n')}`);
}

async function stopChild(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  try {
    process.kill(child.pid, signal);
  } catch {
    return child.exited;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  const res = await child.exited;
  clearTimeout(timer);
  return res;
}

/**
 * Starts nginx (daemon off) on a free loopback port in front of ports, with its files under a new
 * scratch directory. Returns {url, port, prefix, pid, stop()}.
 */
export async function startNginx(ports, { nginx = process.env.BASALT_NGINX || 'nginx', template } = {}) {
  const prefix = await fsp.mkdtemp(path.join(os.tmpdir(), 'basalt-nginx-'));
  // As root, nginx's worker runs as `nobody` and must reach the temp directories nginx creates here.
  await fsp.chmod(prefix, 0o755);
  const port = await freePort();
  const conf = path.join(prefix, 'nginx.conf');
  await fsp.writeFile(conf, nginxConfig({ prefix, listen: `127.0.0.1:${port}`, ports, template }));
  const log = path.join(prefix, 'stderr.log');
  const child = spawnLogged(nginx, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'], log);
  const url = `http://127.0.0.1:${port}`;
  // Ready once it accepts a TCP connection (an HTTP probe would reach the replicas, not started yet,
  // and mark them down).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const err = await fsp.readFile(log, 'utf8').catch(() => '');
      const elog = await fsp.readFile(path.join(prefix, 'error.log'), 'utf8').catch(() => '');
      await stopChild(child, 'SIGQUIT');
      await fsp.rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start on ${url}:\n${err}\n${elog}`);
    }
    const up = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (up) break;
    await sleep(50);
  }
  return {
    url,
    port,
    prefix,
    pid: child.pid,
    stop: async ({ keep = false } = {}) => {
      await stopChild(child, 'SIGQUIT');
      if (!keep) await fsp.rm(prefix, { recursive: true, force: true });
    },
  };
}

/**
 * Starts n replicas of `basalt serve --db` on a fresh database of the PostgreSQL server pgURL, sharing
 * one --dir (uploaded files must be visible to every replica: a shared volume here, S3 in production),
 * after upserting the e2e superuser. ports, if given, fixes the replicas' ports (so that one nginx
 * can front several clusters in turn); metrics gives each a --metrics-addr (see inFlight). Returns {db, dir, replicas: [{url, port, pid, kill(sig)}], stop()}.
 */
export async function startReplicas(pgURL, n, { ports, env = process.env, name, metrics = false } = {}) {
  const bin = resolveBinary(env);
  const dbName = name || `basalt_cluster_${process.pid}_${Date.now()}`;
  await psql(pgURL, `CREATE DATABASE ${dbName}`);
  const db = withDatabase(pgURL, dbName);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'basalt-cluster-'));
  const drop = async () => {
    await fsp.rm(dir, { recursive: true, force: true });
    await psql(pgURL, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  };
  const replicas = [];
  try {
    await execp(bin, ['superuser', 'upsert', SUPERUSER_EMAIL, SUPERUSER_PASSWORD, '--dir', dir, '--db', db], { env });
    ports = ports || (await Promise.all(Array.from({ length: n }, () => freePort())));
    for (let i = 0; i < n; i++) {
      const port = ports[i];
      const url = `http://127.0.0.1:${port}`;
      const log = path.join(dir, `replica-${i}.log`);
      const args = ['serve', '--http', `127.0.0.1:${port}`, '--dir', dir, '--db', db];
      const metricsURL = metrics ? `http://127.0.0.1:${await freePort()}/metrics` : null;
      if (metricsURL) args.push('--metrics-addr', new URL(metricsURL).host);
      const child = spawnLogged(bin, args, log, env);
      replicas.push({
        // inFlight resolves to the replica's basalt_http_requests_in_flight (short requests being
        // served; SSE streams are not counted), when started with metrics.
        inFlight: async () => {
          const text = await (await fetch(metricsURL, { signal: AbortSignal.timeout(1000) })).text();
          return Number(text.match(/^basalt_http_requests_in_flight (\S+)$/m)?.[1]);
        },
        i,
        url,
        port,
        pid: child.pid,
        log,
        child,
        exited: child.exited,
        kill: (sig = 'SIGKILL') => process.kill(child.pid, sig),
      });
    }
    await Promise.all(replicas.map((r) => waitHealthy(r.url, r.child, `replica ${r.i}`, r.log)));
  } catch (err) {
    await Promise.all(replicas.map((r) => stopChild(r.child)));
    await drop();
    throw err;
  }
  return {
    db,
    dir,
    replicas,
    stop: async ({ keep = false } = {}) => {
      await Promise.all(replicas.map((r) => stopChild(r.child)));
      if (!keep) await drop();
    },
  };
}
