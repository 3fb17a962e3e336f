// Starts one Basalt server per test file and hands out SDK clients for it.
//
// The binary comes from BASALT_BIN (default ../bin/basalt, relative to e2e/). Nothing is built here:
// `make build` (or `make test`) does that. Each call to useServer() registers a `before` hook that
// upserts a superuser through the CLI, starts `basalt serve` on a free loopback port with a fresh
// temporary --dir, and waits for /api/health; and an `after` hook that stops the process by its PID
// and removes the directory (set BASALT_E2E_KEEP=1 to keep it for a post-mortem).
//
// BASALT_E2E_ENGINE=postgres runs every server on PostgreSQL instead of SQLite: each startServer()
// creates a fresh database with psql on the server named by BASALT_TEST_POSTGRES (.ci/postgres starts
// one) and passes it with --db; stop() drops it unless the directory is kept (a restart serves the
// same --dir and database again: spawn with dataArgs(handle)). Databases still there when the runner
// exits are dropped then.

import { spawn, execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import PocketBase from 'pocketbase';

const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const SUPERUSER_EMAIL = 'root@basalt.test';
export const SUPERUSER_PASSWORD = 'root-password-123';

const HEALTH_TIMEOUT_MS = Number(process.env.BASALT_E2E_HEALTH_TIMEOUT_MS || 20_000);
const CLI_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const LOG_TAIL_LINES = 40;

/** Resolves the server binary and fails with a message that says what to do when it is unusable. */
export function resolveBinary(env = process.env) {
  const bin = path.resolve(e2eDir, env.BASALT_BIN || '../bin/basalt');
  let st;
  try {
    st = fs.statSync(bin);
  } catch {
    throw new Error(
      `Basalt binary not found at ${bin}. Build it first (make build) or point BASALT_BIN at it.`,
    );
  }
  if (!st.isFile()) throw new Error(`BASALT_BIN=${bin} is not a regular file.`);
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`BASALT_BIN=${bin} is not executable (chmod +x it or rebuild it).`);
  }
  return bin;
}

/** Asks the kernel for a free loopback TCP port. */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function tail(text, lines = LOG_TAIL_LINES) {
  const all = String(text).trimEnd().split('\n');
  const cut = all.slice(-lines).join('\n');
  return cut ? cut : '(no output)';
}

function runCLI(bin, args, env) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: CLI_TIMEOUT_MS, env }, (err, stdout, stderr) => {
      if (err) {
        const how = err.killed
          ? `timed out after ${CLI_TIMEOUT_MS} ms`
          : `exited with ${err.code ?? err.signal}`;
        reject(
          new Error(
            `\`basalt ${args.join(' ')}\` ${how}.\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`,
          ),
        );
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The storage engine servers run on: 'sqlite' (default) or 'postgres' (BASALT_E2E_ENGINE). */
export function engine(env = process.env) {
  const name = env.BASALT_E2E_ENGINE || 'sqlite';
  if (name !== 'sqlite' && name !== 'postgres') {
    throw new Error(`BASALT_E2E_ENGINE=${name}: want sqlite or postgres`);
  }
  return name;
}

// psql runs one SQL statement against the PostgreSQL server url: psql from PATH, else Debian's
// PostgreSQL 15 client (BASALT_E2E_PSQL names another).
function psqlBinary(env) {
  if (env.BASALT_E2E_PSQL) return env.BASALT_E2E_PSQL;
  const debian = '/usr/lib/postgresql/15/bin/psql';
  const onPath = (env.PATH || '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, 'psql')));
  return !onPath && fs.existsSync(debian) ? debian : 'psql';
}
const psqlArgs = (url, sql) => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql];

function psql(env, url, sql) {
  return new Promise((resolve, reject) => {
    execFile(psqlBinary(env), psqlArgs(url, sql), { timeout: CLI_TIMEOUT_MS, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql \`${sql}\` failed (${err.code ?? err.signal}): ${tail(stderr || err.message)}`));
      else resolve(stdout);
    });
  });
}

// Databases created by this runner and not yet dropped: name -> {server, env}.
const databases = new Map();

/** Creates a fresh, empty database on BASALT_TEST_POSTGRES and returns its name and URL. */
async function createDatabase(env) {
  const server = env.BASALT_TEST_POSTGRES;
  if (!server) {
    throw new Error(
      'BASALT_E2E_ENGINE=postgres needs BASALT_TEST_POSTGRES, a postgres:// URL of a server that may ' +
        'CREATE DATABASE (eval "$(.ci/postgres start DIR)" starts one).',
    );
  }
  const name = `basalt_e2e_${crypto.randomBytes(6).toString('hex')}`;
  await psql(env, server, `CREATE DATABASE ${name}`);
  databases.set(name, { server, env });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

async function dropDatabase(name) {
  const db = databases.get(name);
  if (!db) return;
  databases.delete(name);
  await psql(db.env, db.server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err) => {
    process.stderr.write(`e2e: could not drop database ${name} (left on the server): ${err.message}\n`);
  });
}

/**
 * The arguments that name a server's data: --dir, and --db on PostgreSQL. Use them to run the CLI
 * against a started server's data or to serve it again after stop({keepDir: true}).
 */
export function dataArgs(handle) {
  return handle.db ? ['--dir', handle.dir, '--db', handle.db] : ['--dir', handle.dir];
}

// Children still alive when the runner exits (a crash, an interrupted run) are killed here.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Databases of servers that were kept for a restart, or never stopped (only sync calls work here).
  for (const [name, db] of databases) {
    try {
      execFileSync(psqlBinary(db.env), psqlArgs(db.server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), {
        env: db.env,
        stdio: 'ignore',
        timeout: CLI_TIMEOUT_MS,
      });
    } catch {
      // left on the (throwaway) server
    }
  }
});

/**
 * Starts a server and resolves to a handle once /api/health answers 200.
 * Rejects with the process's output when it exits early or does not become healthy in time.
 */
export async function startServer({ env = process.env, healthTimeoutMs = HEALTH_TIMEOUT_MS } = {}) {
  const bin = resolveBinary(env);
  const db = engine(env) === 'postgres' ? await createDatabase(env) : null;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'basalt-e2e-'));
  const data = { dir, db: db?.url ?? null };
  const discard = async () => {
    await removeDir(dir);
    if (db) await dropDatabase(db.name);
  };
  try {
    await runCLI(bin, ['superuser', 'upsert', SUPERUSER_EMAIL, SUPERUSER_PASSWORD, ...dataArgs(data)], env);
  } catch (err) {
    await discard();
    throw err;
  }

  // A port taken between freePort() and the bind makes the server exit at once: try a few ports.
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(bin, data, port, healthTimeoutMs, env, discard);
    } catch (err) {
      lastErr = err;
      if (!err.exitedEarly) break;
    }
  }
  await discard();
  throw lastErr;
}

async function launch(bin, data, port, healthTimeoutMs, env, discard) {
  const url = `http://127.0.0.1:${port}`;
  const { dir } = data;
  const args = ['serve', '--http', `127.0.0.1:${port}`, ...dataArgs(data)];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  let output = '';
  const collect = (chunk) => {
    output += chunk;
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);

  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      resolve(exited);
    });
    child.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      live.delete(child);
      resolve(exited);
    });
  });

  const deadline = Date.now() + healthTimeoutMs;
  let lastProblem = 'no answer yet';
  while (true) {
    if (exited) {
      const err = new Error(
        `\`basalt ${args.join(' ')}\` exited before it became healthy ` +
          `(${exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`}).\n` +
          `--- server output ---\n${tail(output)}`,
      );
      err.exitedEarly = true;
      throw err;
    }
    if (Date.now() > deadline) {
      await stopProcess(child, exitPromise);
      throw new Error(
        `\`basalt ${args.join(' ')}\` did not answer GET ${url}/api/health with 200 within ` +
          `${healthTimeoutMs} ms (last: ${lastProblem}).\n--- server output ---\n${tail(output)}`,
      );
    }
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      if (res.status === 200) break;
      lastProblem = `status ${res.status}: ${body.slice(0, 200)}`;
    } catch (err) {
      lastProblem = err.cause?.code || err.message;
    }
    await sleep(100);
  }

  return {
    url,
    dir,
    // db is the PostgreSQL database's URL (BASALT_E2E_ENGINE=postgres), else null.
    db: data.db,
    pid: child.pid,
    output: () => output,
    // stop({keepDir: true}) leaves --dir (and the database) in place, e.g. to serve it again.
    stop: async ({ keepDir = Boolean(process.env.BASALT_E2E_KEEP) } = {}) => {
      const res = await stopProcess(child, exitPromise);
      if (!keepDir) await discard();
      return res;
    },
  };
}

async function stopProcess(child, exitPromise) {
  if (child.exitCode !== null || child.signalCode !== null) return exitPromise;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return exitPromise;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, STOP_TIMEOUT_MS);
  const res = await exitPromise;
  clearTimeout(timer);
  return res;
}

async function removeDir(dir) {
  await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
}

/** A fresh SDK client for url, with the SDK's duplicate-request cancellation turned off. */
export function newClient(url) {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  return pb;
}

/**
 * A handle for a server this harness did not start (BASALT_E2E_URL, e.g. nginx in front of several
 * replicas, see e2e/cluster/): the suite runs against it as it is, and stop() leaves it running.
 * Whoever started it has already upserted SUPERUSER_EMAIL and gives every test file a fresh database.
 */
function externalServer(url) {
  return { url: url.replace(/\/+$/, ''), dir: null, db: null, pid: null, output: () => '', stop: async () => ({}) };
}

/**
 * Registers before/after hooks for the current test file and returns a handle whose fields are
 * filled once the `before` hook has run:
 *   srv.url, srv.client(), srv.superuser (an authenticated superuser client), srv.server.
 * setup(srv), if given, runs inside the same `before` hook once the server is up (a file's own
 * top-level `before` hooks are not guaranteed to run after this one).
 */
export function useServer(setup) {
  const srv = {
    url: '',
    server: null,
    superuser: null,
    client: () => newClient(srv.url),
  };
  before(async () => {
    srv.server = process.env.BASALT_E2E_URL ? externalServer(process.env.BASALT_E2E_URL) : await startServer();
    srv.url = srv.server.url;
    srv.superuser = newClient(srv.url);
    await srv.superuser
      .collection('_superusers')
      .authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
    if (setup) await setup(srv);
  });
  after(async () => {
    if (srv.server) await srv.server.stop();
  });
  return srv;
}
