// Webhooks end to end: a superuser registers a webhook with fetch, records are written with the SDK,
// and a receiver on loopback verifies every delivery with the official `standardwebhooks` library
// (not Basalt's code) and checks the CloudEvents it carries arrive in commit order. The server allows
// loopback targets through BASALT_WEBHOOK_ALLOW_PRIVATE; other private addresses stay refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { Webhook } from 'standardwebhooks';
import { useServer } from './lib/server.js';

process.env.BASALT_WEBHOOK_ALLOW_PRIVATE = '127.0.0.1/32';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The receiver keeps every request it gets.
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});
receiver.listen(0, '127.0.0.1');
await once(receiver, 'listening');
const receiverURL = `http://127.0.0.1:${receiver.address().port}/hook`;
after(() => receiver.close());

const srv = useServer(async () => {
  await srv.superuser.collections.create({
    name: 'wh_posts',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'secretNote', type: 'text', hidden: true },
    ],
  });
});

async function api(method, path, body) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: srv.superuser.authStore.token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function waitFor(cond, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await cond();
    if (v) return v;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('webhooks need a superuser', async () => {
  const guest = await fetch(srv.url + '/api/webhooks');
  assert.equal(guest.status, 401);
});

test('signed CloudEvents arrive in order and verify with standardwebhooks', async () => {
  const created = await api('POST', '/api/webhooks', {
    url: receiverURL,
    collections: ['wh_posts'],
  });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  const { id, secret } = created.json;
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  const viewed = await api('GET', `/api/webhooks/${id}`);
  assert.notEqual(viewed.json.secret, secret, 'the secret is masked after creation');

  // Only superusers set hidden fields.
  const rec = await srv.superuser.collection('wh_posts').create({ title: 'first', secretNote: 'n' });
  const pb = srv.client();
  await pb.collection('wh_posts').update(rec.id, { title: 'second' });
  await pb.collection('wh_posts').delete(rec.id);

  await waitFor(() => received.length >= 3, 'three deliveries');
  const wh = new Webhook(secret);
  const events = received.slice(0, 3).map((m) => {
    const ev = wh.verify(m.body, {
      'webhook-id': m.headers['webhook-id'],
      'webhook-timestamp': m.headers['webhook-timestamp'],
      'webhook-signature': m.headers['webhook-signature'],
    });
    assert.equal(ev.id, m.headers['webhook-id']);
    return ev;
  });
  assert.deepEqual(
    events.map((e) => e.type),
    ['basalt.record.created', 'basalt.record.updated', 'basalt.record.deleted'],
  );
  for (const e of events) {
    assert.equal(e.specversion, '1.0');
    assert.equal(e.source, '/basalt/collections/wh_posts');
    assert.equal(e.datacontenttype, 'application/json');
    assert.equal(e.data.collection, 'wh_posts');
    assert.equal(e.data.record.id, rec.id);
    assert.equal(e.data.record.secretNote, 'n', 'records are exported as a superuser sees them');
  }
  assert.equal(new Set(events.map((e) => e.id)).size, 3);
  assert.equal(events[0].data.record.title, 'first');
  assert.equal(events[1].data.record.title, 'second');
  assert.equal(events[1].data.before.title, 'first');
  assert.equal(received[0].headers['content-type'], 'application/cloudevents+json');

  // A tampered body does not verify.
  assert.throws(() =>
    wh.verify(received[0].body.replace('first', 'fir5t'), {
      'webhook-id': received[0].headers['webhook-id'],
      'webhook-timestamp': received[0].headers['webhook-timestamp'],
      'webhook-signature': received[0].headers['webhook-signature'],
    }),
  );

  const list = await waitFor(async () => {
    const r = await api('GET', `/api/webhooks/${id}/deliveries`);
    return r.json.items.every((d) => d.status === 'succeeded') && r.json.totalItems === 3 ? r : null;
  }, 'three succeeded deliveries');
  for (const d of list.json.items) {
    assert.equal(d.attempts.length, 1);
    assert.equal(d.attempts[0].status, 204);
  }

  // Replay sends the same event (same webhook-id) again.
  const last = list.json.items[0];
  const replay = await api('POST', `/api/webhooks/${id}/deliveries/${last.id}/replay`);
  assert.equal(replay.status, 200);
  await waitFor(() => received.length >= 4, 'the replayed delivery');
  assert.equal(received[3].headers['webhook-id'], last.eventId);
  wh.verify(received[3].body, {
    'webhook-id': received[3].headers['webhook-id'],
    'webhook-timestamp': received[3].headers['webhook-timestamp'],
    'webhook-signature': received[3].headers['webhook-signature'],
  });

  assert.equal((await api('DELETE', `/api/webhooks/${id}`)).status, 204);
});

test('private addresses outside the allow-list are refused', async () => {
  const created = await api('POST', '/api/webhooks', {
    url: 'http://169.254.169.254/latest/meta-data/',
    collections: ['wh_posts'],
  });
  assert.equal(created.status, 200);
  const { id } = created.json;
  await srv.client().collection('wh_posts').create({ title: 'ssrf' });
  const d = await waitFor(async () => {
    const r = await api('GET', `/api/webhooks/${id}/deliveries`);
    const item = r.json.items[0];
    return item && item.attempts.length > 0 ? item : null;
  }, 'a refused attempt');
  assert.equal(d.attempts[0].status, 0);
  assert.match(d.attempts[0].error, /address not allowed/);
  assert.equal(d.status, 'failed');
  assert.equal((await api('DELETE', `/api/webhooks/${id}`)).status, 204);
});
