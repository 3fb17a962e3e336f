// Crash safety of webhooks: records are written while the server is killed with SIGKILL; after a
// restart over the same directory, every acknowledged write's event reaches the receiver at least
// once (verified with the official `standardwebhooks` library; the receiver de-duplicates by event id).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import { Webhook } from 'standardwebhooks';
import { startServer, newClient, resolveBinary, dataArgs, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './lib/server.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const env = { ...process.env, BASALT_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1/32' };

test('every acknowledged write reaches the webhook after a SIGKILL and a restart', async (t) => {
  let secret = '';
  const seen = new Map(); // event id -> CloudEvent
  let invalid = 0;
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        const ev = new Webhook(secret).verify(body, {
          'webhook-id': req.headers['webhook-id'],
          'webhook-timestamp': req.headers['webhook-timestamp'],
          'webhook-signature': req.headers['webhook-signature'],
        });
        seen.set(ev.id, ev);
      } catch {
        invalid++;
      }
      res.writeHead(200).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  t.after(() => receiver.close());

  const first = await startServer({ env });
  t.after(() => fsp.rm(first.dir, { recursive: true, force: true }));
  const su = newClient(first.url);
  await su.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  await su.collections.create({
    name: 'crash_posts',
    type: 'base',
    createRule: '',
    fields: [{ name: 'n', type: 'number' }],
  });
  const res = await fetch(first.url + '/api/webhooks', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: su.authStore.token },
    body: JSON.stringify({ url: `http://127.0.0.1:${receiver.address().port}/`, collections: ['crash_posts'] }),
  });
  assert.equal(res.status, 200);
  secret = (await res.json()).secret;

  const created = () => new Set([...seen.values()].filter((e) => e.type === 'basalt.record.created').map((e) => e.data.record.id));

  // Writers run until the server dies under them; only acknowledged writes count.
  const acked = new Set();
  let killed = false;
  const writer = async (w) => {
    const pb = newClient(first.url);
    for (let i = 0; !killed || i < 1; i++) {
      try {
        const rec = await pb.collection('crash_posts').create({ n: w * 10000 + i });
        acked.add(rec.id);
      } catch {
        if (killed) return;
      }
    }
  };
  const writers = [0, 1, 2, 3].map(writer);
  while (acked.size < 60) await sleep(5);
  process.kill(first.pid, 'SIGKILL');
  killed = true;
  await Promise.all(writers);
  await first.stop({ keepDir: true });
  const before = acked.size;
  const seenAtKill = created().size;
  t.diagnostic(`${before} writes acknowledged, ${seenAtKill} delivered before the kill`);

  // Restart over the same directory and port.
  const child = spawn(resolveBinary(), ['serve', '--http', new URL(first.url).host, ...dataArgs(first)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });

  const deadline = Date.now() + 30_000;
  let missing = [];
  while (Date.now() < deadline) {
    const got = created();
    missing = [...acked].filter((id) => !got.has(id));
    if (missing.length === 0) break;
    await sleep(100);
  }
  assert.deepEqual(missing, [], `events of acknowledged writes missing after the restart (${before} acknowledged)\n${stderr.slice(-2000)}`);
  assert.equal(invalid, 0, 'every delivery verifies');
});
