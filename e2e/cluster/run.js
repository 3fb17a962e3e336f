#!/usr/bin/env node
// The cluster test: the SDK suite (e2e/*.test.js) through nginx round-robin in front of three
// `basalt serve` replicas on one PostgreSQL database, with one replica killed (SIGKILL) mid-run.
//
//   BASALT_TEST_POSTGRES=postgres://…/postgres BASALT_BIN=bin/basalt node e2e/cluster/run.js [file.test.js …]
//
// For every test file it starts a fresh cluster (a new database, three replicas on the same three
// ports, one nginx for the whole run) and runs the file with BASALT_E2E_URL pointing at nginx.
//
// The kill: in the files named by BASALT_CLUSTER_KILL_IN (default list.test.js), once some of the
// file's tests have finished (KILL_AFTER_RESULTS), one replica is killed with SIGKILL, by PID, while
// the file's other tests run. Around it, a writer creates records through nginx and remembers every id that was acknowledged
// (200), and three realtime subscribers (the SDK, through nginx, so on different replicas) follow
// those records. When the file is done the run checks, through nginx and in the database, that every
// acknowledged record exists, and that every subscriber reconnected if its stream was cut and received
// every record created after it was last subscribed.
//
// The kill waits for a moment when the victim serves no short request (its in-flight gauge, read on
// --metrics-addr, is 0 three times in a row; SSE streams are not counted), because a POST/PATCH/DELETE
// in flight on a replica that dies gets a 502 from nginx, which rightly does not retry it (it may
// have committed; see docs/scaling.md), and the SDK suite does not retry either. That is a client's
// lot in any crash, not a cluster bug, so the test avoids cutting a suite write. The wait is
// best-effort (bytes nginx has just written to a connection are not counted until the replica has
// read them, and on a loaded machine that can take milliseconds), which is why the kill happens by
// default in one file, list.test.js, after its last writing test (KILL_AFTER_RESULTS), and in every
// file, after its first test, only with BASALT_CLUSTER_KILL_IN=all (expect 502s on writes there).
// It does not spare the rest: realtime streams, the writer's requests and
// the replica's PostgreSQL connections (pool and LISTEN) are cut as in any crash.
//
// It prints one line per file and a closing `N passed, N failed` line, and exits non-zero when a test
// failed, an acknowledged write is missing or a subscriber missed an event.
//
// Knobs: BASALT_CLUSTER_REPLICAS (3), BASALT_CLUSTER_KILL_IN (list.test.js; comma list or all),
// BASALT_CLUSTER_KILL_AFTER_MS (100: how long after those test results the kill happens),
// BASALT_CLUSTER_FILE_TIMEOUT_MS (120000: a file still running then is stopped and fails),
// BASALT_CLUSTER_KILL=0 (no kill), BASALT_CLUSTER_KEEP=1 (keep logs and databases), BASALT_NGINX
// (the nginx binary).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { freePort, newClient, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from '../lib/server.js';

global.EventSource = EventSource;
import { nginxConfig, psql, startNginx, startReplicas } from './cluster.js';

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Test files left out of the cluster run, and why. Each is about one server process's own lifecycle
// or starts servers of its own, so running it "through nginx" would not test the cluster.
const EXCLUDED = {
  // Checks the harness itself against fixtures/fake-basalt (missing binary, early exit, …).
  'harness.test.js': 'tests the single-server harness against a fake binary',
  // upsert while serving, exit code on SIGTERM, restart over the same --dir: one process's lifecycle.
  'cli.test.js': 'tests one server process lifecycle (SIGTERM exit, restart over the same --dir)',
  // Kills and restarts one server over its own SQLite --dir; this run does its own kill instead.
  'webhooks-crash.test.js': 'kills and restarts one server process over the same --dir',
  // Starts its own single server with a login limit in its environment (startServer, not
  // useServer), so it would not run through the cluster. Auth limits shared by replicas are checked
  // here by authflows.test.js ("request endpoints are throttled per address").
  'throttle.test.js': 'starts its own single server with its own login limit',
};

// Single tests left out of a file that otherwise runs, as a --test-name-pattern that every other
// test name matches (node 20 has no skip pattern). node runs a test whose parent matches, so the
// pattern must not match the runner's root test, named "<root>".
const NAME_PATTERN = {
  // Stops the one server and serves its --dir again on the same port (srv.server.stop/dir): a
  // single process's lifecycle. The replica kill of this run covers reconnecting through nginx.
  'realtime.test.js': '^(?!after a server restart|<root>$)',
};

// Environment of the replicas per test file (what the file would give its own server).
const REPLICA_ENV = {
  'webhooks.test.js': { BASALT_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' },
};

const pg = process.env.BASALT_TEST_POSTGRES || process.env.BASALT_CLUSTER_POSTGRES;
if (!pg) {
  // As the Go tests on PostgreSQL: skipped on a developer's machine without one, never in CI.
  console.error('cluster: set BASALT_TEST_POSTGRES to a PostgreSQL server URL that may CREATE DATABASE');
  process.exit(process.env.CI ? 2 : 0);
}
const replicaCount = Number(process.env.BASALT_CLUSTER_REPLICAS || 3);
const killAfterMs = Number(process.env.BASALT_CLUSTER_KILL_AFTER_MS || 100);
const fileTimeoutMs = Number(process.env.BASALT_CLUSTER_FILE_TIMEOUT_MS || 120_000);
const kill = process.env.BASALT_CLUSTER_KILL !== '0';
const killIn = (process.env.BASALT_CLUSTER_KILL_IN || 'list.test.js').split(',').map((f) => f.trim());
// How many test results of a file to wait for before its kill (default 1). In list.test.js every
// test after the fourth (getFullList, which creates 1,234 records 50 at a time) only reads, so the
// SDK requests the kill can cut are GETs, which nginx retries on another replica.
const KILL_AFTER_RESULTS = { 'list.test.js': 4 };
const killsIn = (file) => kill && (killIn.includes('all') || killIn.includes(file));
const keep = Boolean(process.env.BASALT_CLUSTER_KEEP);

let files = process.argv.slice(2).map((f) => path.basename(f));
if (files.length === 0) {
  files = fs
    .readdirSync(e2eDir)
    .filter((f) => f.endsWith('.test.js') && !EXCLUDED[f])
    .sort();
}
for (const [f, why] of Object.entries(EXCLUDED)) console.log(`cluster: not run: ${f}: ${why}`);

/** Creates records through url as fast as one connection allows and keeps every acknowledged id. */
function startWriter(url, token) {
  const acked = [];
  let failed = 0;
  let seq = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const n = ++seq;
      const at = Date.now();
      try {
        const res = await fetch(`${url}/api/collections/cluster_writes/records`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: token },
          body: JSON.stringify({ n }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.json().catch(() => null);
        if (res.status === 200 && body?.id) acked.push({ id: body.id, n, at });
        else failed++;
      } catch {
        failed++;
      }
      await sleep(5);
    }
  })();
  return {
    acked,
    failed: () => failed,
    stop: async () => {
      stopping = true;
      await loop;
    },
  };
}

/**
 * Subscribes n SDK clients (superuser) to cluster_writes/* through url, one after the other, so that
 * round-robin puts their streams on different replicas. Each remembers when it last (re)subscribed:
 * the SDK reconnects on its own when its stream is cut and calls PB_CONNECT once it has subscribed
 * again.
 */
async function startSubscribers(url, token, n) {
  const subs = [];
  for (let i = 0; i < n; i++) {
    const pb = newClient(url);
    pb.authStore.save(token, null);
    const got = new Set();
    let since = 0;
    let connects = 0;
    let error = null;
    try {
      await pb.realtime.subscribe('PB_CONNECT', () => {
        connects++;
        // Subscriptions are sent before PB_CONNECT listeners run; allow the subscribe POST to settle.
        since = Date.now() + 50;
      });
      await pb.collection('cluster_writes').subscribe('*', (e) => {
        if (e.action === 'create') got.add(e.record.id);
      });
      since = Date.now() + 50;
    } catch (err) {
      // Reported as this subscriber's failure; the file and its kill still run.
      error = `subscribing through nginx failed: ${err.status ?? ''} ${err.message}`;
    }
    subs.push({ i, pb, got, error, since: () => since, reconnects: () => Math.max(0, connects - 1) });
  }
  return subs;
}

/**
 * Waits up to 5 s for every subscriber to receive each acknowledged create that started after it
 * was last subscribed; returns what is still missing per subscriber, and closes them.
 */
async function missedEvents(subs, acked) {
  const deadline = Date.now() + 5000;
  const out = [];
  for (const s of subs) {
    if (s.error) {
      out.push({ sub: s.i, expected: 0, reconnects: 0, missing: [], error: s.error });
      s.pb.realtime.unsubscribe().catch(() => {});
      continue;
    }
    const expected = () => acked.filter((w) => w.at > s.since());
    let missing = expected().filter((w) => !s.got.has(w.id));
    while (missing.length > 0 && Date.now() < deadline) {
      await sleep(100);
      missing = expected().filter((w) => !s.got.has(w.id));
    }
    if (missing.length) out.push({ sub: s.i, expected: expected().length, reconnects: s.reconnects(), missing: missing.map((w) => w.id) });
    s.pb.realtime.unsubscribe().catch(() => {});
  }
  return out;
}

/**
 * Returns the acknowledged records that cannot be read back through url (each is tried again for up
 * to 5 s, in case the replica that answers lags) and those absent from the database itself.
 */
async function missingWrites(url, token, acked, db) {
  const unreadable = [];
  const deadline = Date.now() + 5000;
  for (const w of acked) {
    for (;;) {
      const res = await fetch(`${url}/api/collections/cluster_writes/records/${w.id}`, { headers: { Authorization: token } });
      const body = await res.json().catch(() => null);
      if (res.status === 200 && body?.n === w.n) break;
      if (Date.now() > deadline) {
        unreadable.push({ ...w, status: res.status, message: body?.message });
        break;
      }
      await sleep(100);
    }
  }
  const stored = new Set();
  for (let i = 0; i < acked.length; i += 500) {
    const ids = acked.slice(i, i + 500).map((w) => `'${w.id}'`).join(',');
    const out = await psql(db, `SELECT id FROM cluster_writes WHERE id IN (${ids})`);
    for (const id of out.split('\n')) if (id) stored.add(id);
  }
  const absent = acked.filter((w) => !stored.has(w.id));
  return { unreadable, absent };
}

/** Waits until every replica answers for the cluster_writes collection (bounded). */
async function waitCollectionEverywhere(replicas, token) {
  const deadline = Date.now() + 5000;
  for (const r of replicas) {
    while (Date.now() < deadline) {
      const res = await fetch(`${r.url}/api/collections/cluster_writes/records?perPage=1`, { headers: { Authorization: token } });
      await res.arrayBuffer();
      if (res.status === 200) break;
      await sleep(50);
    }
  }
}

async function superuserToken(url) {
  const res = await fetch(`${url}/api/collections/_superusers/auth-with-password`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ identity: SUPERUSER_EMAIL, password: SUPERUSER_PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`superuser sign-in through nginx: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

async function createWritesCollection(url, token) {
  const res = await fetch(`${url}/api/collections`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: token },
    body: JSON.stringify({ name: 'cluster_writes', type: 'base', fields: [{ name: 'n', type: 'number' }] }),
  });
  if (res.status !== 200) throw new Error(`creating cluster_writes: ${res.status} ${await res.text()}`);
}

/**
 * Runs one test file with the spec reporter; resolves to {code, pass, fail, output}. onResults is
 * called once, when `results` tests have finished (so that what happens next is mid-file).
 */
function runFile(file, url, onResults = () => {}, results = 1) {
  return new Promise((resolve) => {
    const args = ['--test', '--test-reporter=spec'];
    if (NAME_PATTERN[file]) args.push(`--test-name-pattern=${NAME_PATTERN[file]}`);
    args.push(file);
    // Its own process group, so that a file that hangs can be stopped with everything it started
    // (node's per-file subprocess, helpers such as the OIDC provider).
    const child = spawn(process.execPath, args, {
      cwd: e2eDir,
      // The cluster runs on PostgreSQL: files that differ by engine (backups) must know.
      env: { ...process.env, BASALT_E2E_URL: url, BASALT_E2E_ENGINE: 'postgres' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const timer = setTimeout(() => {
      output += `\ncluster: ${file} did not finish within ${fileTimeoutMs} ms; stopped\n`;
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, fileTimeoutMs);
    let timedOut = false;
    let output = '';
    let first = false;
    child.stdout.setEncoding('utf8').on('data', (d) => {
      output += d;
      if (!first && (output.match(/^\s*[✔✖]/gm) || []).length >= results) {
        first = true;
        onResults();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const count = (word) => Number(output.match(new RegExp(`^\\S+ ${word} (\\d+)$`, 'm'))?.[1] || 0);
      // A file stopped for its timeout printed no summary: count its result lines instead.
      const lines = (mark) => (output.match(new RegExp(`^\\s*${mark} `, 'gm')) || []).length;
      const pass = timedOut ? lines('✔') : count('pass');
      const fail = timedOut ? lines('✖') + 1 : count('fail');
      resolve({ code: code ?? signal, pass, fail, skipped: count('skipped'), output });
    });
  });
}

// docs/scaling.md shows the nginx config this run uses, with its example's address and replicas
// filled in: the run fails when the two drift apart.
function docDrift() {
  const directives = (text) =>
    text
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean);
  const example = nginxConfig({ prefix: '{{PREFIX}}', listen: '127.0.0.1:8090', ports: [8091, 8092, 8093] });
  const doc = fs.readFileSync(path.join(e2eDir, '../docs/scaling.md'), 'utf8').match(/```nginx\n([\s\S]*?)```/)?.[1] || '';
  const want = directives(example);
  const got = directives(doc);
  const i = want.findIndex((l, k) => l !== got[k]);
  if (i === -1 && want.length === got.length) return null;
  return `docs/scaling.md's nginx example differs from e2e/cluster/nginx.conf.tmpl at directive ${i + 1}: doc ${JSON.stringify(got[i])}, template ${JSON.stringify(want[i])}`;
}
const drift = docDrift();
if (drift) {
  console.log(`cluster: FAIL ${drift}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const replicaPorts = await Promise.all(Array.from({ length: replicaCount }, () => freePort()));
const nginx = await startNginx(replicaPorts);
console.log(`cluster: nginx pid ${nginx.pid} on ${nginx.url} (config ${nginx.prefix}/nginx.conf), replicas on ports ${replicaPorts.join(', ')}`);

let pass = 0;
let fail = 0;
let skipped = 0;
let lostTotal = 0;
let ackedTotal = 0;
let kills = 0;
const failedFiles = [];
try {
  for (const [i, file] of files.entries()) {
    const cluster = await startReplicas(pg, replicaCount, {
      ports: replicaPorts,
      env: { ...process.env, ...REPLICA_ENV[file] },
      name: `basalt_cluster_${process.pid}_${i}`,
      metrics: true,
    });
    const started = Date.now();
    let killed = null;
    let writer = null;
    let timer = null;
    let subs = [];
    try {
      const token = await superuserToken(nginx.url);
      await createWritesCollection(nginx.url, token);
      await waitCollectionEverywhere(cluster.replicas, token);
      // Subscribers first, while nothing else goes through nginx: round-robin then puts their
      // streams on different replicas, so one of them is on the replica that will be killed.
      subs = killsIn(file) ? await startSubscribers(nginx.url, token, replicaCount) : [];
      writer = startWriter(nginx.url, token);
      const victim = cluster.replicas[i % replicaCount];
      // The kill waits (up to 10 s) for a moment when the victim serves no short request (its
      // in-flight gauge is 0; SSE streams do not count): a POST in flight on it would get a 502
      // that nginx rightly does not retry, and the SDK suite does not retry either. Everything else
      // is cut as in any crash: realtime streams, pooled and LISTEN connections to PostgreSQL, and
      // the writer's next request.
      let killing = null;
      const killVictim = () => {
        timer = setTimeout(() => {
          killing = (async () => {
            const deadline = Date.now() + 10_000;
            // Quiet on three polls in a row (about 10 ms): a request nginx has just written to a
            // kept-alive connection is not counted until the replica has read it.
            let quietPolls = 0;
            while (quietPolls < 3 && Date.now() < deadline) {
              quietPolls = (await victim.inFlight().catch(() => -1)) === 0 ? quietPolls + 1 : 0;
              if (quietPolls < 3) await sleep(2);
            }
            const quiet = quietPolls >= 3;
            victim.kill('SIGKILL');
            killed = { replica: victim.i, pid: victim.pid, atMs: Date.now() - started, quiet };
            kills++;
          })();
        }, killAfterMs);
      };
      const res = await runFile(file, nginx.url, killsIn(file) ? killVictim : undefined, KILL_AFTER_RESULTS[file] || 1);
      clearTimeout(timer);
      await killing;
      await writer.stop();
      const missed = await missedEvents(subs, writer.acked);
      if (killed && subs.length && !subs.some((x) => x.reconnects() > 0)) {
        console.log('    note: no subscriber stream was on the killed replica; reconnecting was not exercised');
      }
      for (const m of missed) {
        console.log(m.error ? `    subscriber ${m.sub}: ${m.error}` : `    subscriber ${m.sub}: ${m.missing.length} events missing of ${m.expected}, reconnects ${m.reconnects}: ${JSON.stringify(m.missing.slice(0, 10))}`);
      }
      const { unreadable, absent } = await missingWrites(nginx.url, token, writer.acked, cluster.db);
      const missing = [...new Map([...unreadable, ...absent].map((w) => [w.id, w])).values()];
      // The run's own checks count as tests in the closing line: every acknowledged write of the
      // file is there, and (in a file with a kill) every subscriber got every event.
      pass += res.pass + (missing.length ? 0 : 1) + (subs.length && !missed.length ? 1 : 0);
      fail += res.fail + (missing.length ? 1 : 0) + (missed.length ? 1 : 0);
      skipped += res.skipped;
      lostTotal += missing.length;
      ackedTotal += writer.acked.length;
      const ok = res.code === 0 && res.fail === 0 && missing.length === 0 && missed.length === 0;
      if (!ok) failedFiles.push(file);
      const how = killed ? `replica ${killed.replica} (pid ${killed.pid}) SIGKILLed at ${killed.atMs} ms${killed.quiet ? ' with no short request in flight' : ' (never quiet for 10 s: killed anyway)'}` : killsIn(file) ? 'no kill (the file ended first)' : 'no kill in this file';
      console.log(
        `cluster: ${ok ? 'ok  ' : 'FAIL'} ${file}: ${res.pass} passed, ${res.fail} failed, ${res.skipped} skipped; ` +
          `${how}; writes acknowledged ${writer.acked.length}, unacknowledged ${writer.failed()}, lost ${missing.length} ` +
          `(unreadable through nginx ${unreadable.length}, absent from the database ${absent.length})` +
          (subs.length ? `; ${subs.length} subscribers, ${subs.reduce((n, x) => n + x.reconnects(), 0)} reconnects, ${missed.length} subscribers failed ` : ' ') +
          `(${Date.now() - started} ms)`,
      );
      if (!ok) {
        console.log(res.output.split('\n').map((l) => `    ${l}`).join('\n'));
        if (missing.length) console.log(`    lost writes: ${JSON.stringify(missing.slice(0, 20))}`);
      }
    } catch (err) {
      clearTimeout(timer);
      if (writer) await writer.stop();
      for (const x of subs) x.pb.realtime.unsubscribe().catch(() => {});
      fail++;
      failedFiles.push(file);
      console.log(`cluster: FAIL ${file}: ${err.stack || err}`);
    } finally {
      await cluster.stop({ keep });
      if (keep) console.log(`cluster: kept ${cluster.dir} and ${cluster.db}`);
    }
  }
} finally {
  await nginx.stop({ keep });
}

console.log(
  `cluster: ${files.length} files through nginx and ${replicaCount} replicas; ` +
    `${kills} replicas killed mid-file; ${ackedTotal} acknowledged writes, ${lostTotal} lost` +
    (failedFiles.length ? `; failed: ${failedFiles.join(', ')}` : ''),
);
console.log(`${pass} passed, ${fail} failed, ${skipped} skipped`);
if (kill && kills === 0) console.log('cluster: FAIL: no replica was killed (every file ended before its kill)');
process.exit(fail === 0 && failedFiles.length === 0 && lostTotal === 0 && (!kill || kills > 0) ? 0 : 1);
