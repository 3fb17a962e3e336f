// Realtime over Basalt's WebSocket protocol (/api/ws, docs/realtime.md), with the `ws` client: the same
// subscriptions, rules and event payloads as SSE, auth by token or upgrade header, request errors,
// ping/pong and close codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { useServer } from './lib/server.js';
import { createUser } from './lib/util.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let ann;
let bob;

const srv = useServer(async () => {
  ann = await createUser(srv, { name: 'Ann' });
  bob = await createUser(srv, { name: 'Bob' });
  await srv.superuser.collections.create({
    name: 'ws_notes',
    type: 'base',
    listRule: 'author = @request.auth.id',
    viewRule: 'author = @request.auth.id',
    createRule: '@request.auth.id != "" && author = @request.auth.id',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
});

/** Opens /api/ws and resolves once the connect message arrived; messages are queued on the socket. */
async function open(headers = {}) {
  const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/api/ws`, { headers });
  ws.inbox = [];
  ws.waiters = [];
  ws.on('message', (data, isBinary) => {
    assert.equal(isBinary, false, 'the server sends text messages');
    ws.inbox.push(JSON.parse(data.toString()));
    for (const w of ws.waiters.splice(0)) w();
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const hello = await next(ws);
  assert.equal(hello.type, 'connect');
  assert.match(hello.clientId, /^[A-Za-z0-9]{40}$/);
  return ws;
}

/** The next message of ws, failing after 5 s. */
async function next(ws, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!ws.inbox.length) {
    if (Date.now() > deadline) assert.fail('no message within the timeout');
    await Promise.race([new Promise((r) => ws.waiters.push(r)), sleep(50)]);
  }
  return ws.inbox.shift();
}

/** Sends a message and returns the next one. */
async function request(ws, msg) {
  ws.send(JSON.stringify(msg));
  return next(ws);
}

test('events reach subscribers the rules allow, with the SSE payload', async () => {
  const annWS = await open();
  const bobWS = await open({ Authorization: bob.pb.authStore.token }); // auth from the upgrade request
  const guestWS = await open();
  try {
    assert.deepEqual(await request(annWS, { type: 'subscribe', id: 'a', subscriptions: ['ws_notes/*'], token: ann.pb.authStore.token }),
      { type: 'subscribed', id: 'a' });
    assert.deepEqual(await request(bobWS, { type: 'subscribe', id: 'b', subscriptions: ['ws_notes/*'] }), { type: 'subscribed', id: 'b' });
    assert.deepEqual(await request(guestWS, { type: 'subscribe', id: 'g', subscriptions: ['ws_notes/*'] }), { type: 'subscribed', id: 'g' });

    const note = await ann.pb.collection('ws_notes').create({ title: 'hello', author: ann.record.id });
    const ev = await next(annWS);
    assert.equal(ev.type, 'event');
    assert.equal(ev.topic, 'ws_notes/*');
    assert.equal(ev.data.action, 'create');
    assert.equal(ev.data.record.id, note.id);
    assert.equal(ev.data.record.title, 'hello');
    assert.equal(ev.data.record.collectionName, 'ws_notes');

    const bobs = await bob.pb.collection('ws_notes').create({ title: 'bob', author: bob.record.id });
    const bobEv = await next(bobWS);
    assert.equal(bobEv.data.record.id, bobs.id, "Bob's first event is his own note, not Ann's");
    assert.deepEqual(await request(guestWS, { type: 'ping', id: 'p' }), { type: 'pong', id: 'p' },
      'the guest received nothing before its pong');
  } finally {
    for (const ws of [annWS, bobWS, guestWS]) ws.close();
  }
});

test('refused requests are answered with the HTTP status and message', async () => {
  const ws = await open();
  try {
    const unknown = await request(ws, { type: 'nope', id: '1' });
    assert.equal(unknown.type, 'error');
    assert.equal(unknown.id, '1');
    assert.equal(unknown.status, 400);

    assert.equal((await request(ws, { type: 'subscribe', id: '2', subscriptions: [], token: ann.pb.authStore.token })).type, 'subscribed');
    const other = await request(ws, { type: 'subscribe', id: '3', subscriptions: [], token: bob.pb.authStore.token });
    assert.equal(other.status, 403);
    assert.equal(other.message, "The current and the previous request authorization don't match.");
  } finally {
    ws.close();
  }
});

test('a message that is not JSON closes the connection with 1003', async () => {
  const ws = await open();
  ws.send('hello');
  const { code } = await ws.closed;
  assert.equal(code, 1003);
});
