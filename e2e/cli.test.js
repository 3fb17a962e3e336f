// The CLI contract: `superuser upsert` works while the server runs, and SIGTERM shuts down cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import { startServer, resolveBinary, freePort, newClient, dataArgs, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './lib/server.js';
import { expectStatus, eventually } from './lib/util.js';

const run = promisify(execFile);

test('superuser upsert while serving: a new superuser and a changed password take effect', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const bin = resolveBinary();

  await run(bin, ['superuser', 'upsert', 'second@basalt.test', 'second-password-1', ...dataArgs(srv)]);
  const pb = newClient(srv.url);
  const auth = await pb.collection('_superusers').authWithPassword('second@basalt.test', 'second-password-1');
  assert.equal(auth.record.email, 'second@basalt.test');
  assert.equal(pb.authStore.isSuperuser, true);

  await run(bin, ['superuser', 'upsert', SUPERUSER_EMAIL, 'changed-password-1', ...dataArgs(srv)]);
  await expectStatus(newClient(srv.url).collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD), 400);
  await newClient(srv.url).collection('_superusers').authWithPassword(SUPERUSER_EMAIL, 'changed-password-1');
  const list = await pb.collection('_superusers').getFullList({ sort: 'email' });
  assert.deepEqual(list.map((r) => r.email), [SUPERUSER_EMAIL, 'second@basalt.test']);
});

test('SIGTERM stops the server cleanly (exit code 0) and the data survives a restart', async (t) => {
  const first = await startServer();
  t.after(() => fsp.rm(first.dir, { recursive: true, force: true }));
  const su = newClient(first.url);
  await su.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  await su.collections.create({ name: 'durable', type: 'base', fields: [{ name: 'v', type: 'text' }] });
  const rec = await su.collection('durable').create({ v: 'kept' });

  const exit = await first.stop({ keepDir: true });
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  assert.throws(() => process.kill(first.pid, 0), { code: 'ESRCH' });

  // serve the same --dir (and database) again
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(resolveBinary(), ['serve', '--http', `127.0.0.1:${port}`, ...dataArgs(first)], { stdio: 'ignore' });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM');
      await once(child, 'exit');
    }
  });
  const healthy = await eventually(() => fetch(`${url}/api/health`).then((r) => r.status === 200, () => false), 20_000);
  assert.equal(healthy, true, 'restarted server became healthy');
  const again = newClient(url);
  await again.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  assert.equal((await again.collection('durable').getOne(rec.id)).v, 'kept');
});
