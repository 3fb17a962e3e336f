// Realtime over SSE with the SDK's own client (pb.collection(c).subscribe), in Node through the
// `eventsource` polyfill as the SDK's README describes: rule-filtered delivery for guests, owners and
// other users, record topics, expand/fields options, unsubscribe, and reconnecting after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventSource } from 'eventsource';
import { useServer, newClient, resolveBinary, dataArgs } from './lib/server.js';
import { createUser } from './lib/util.js';

global.EventSource = EventSource;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// How long a test waits for an event that must arrive, and for one that must not.
const ARRIVES_MS = 5000;
const QUIET_MS = 400;

let ann;
let bob;

const srv = useServer(async () => {
  ann = await createUser(srv, { name: 'Ann' });
  bob = await createUser(srv, { name: 'Bob' });
  await srv.superuser.collections.create({
    name: 'rt_posts',
    type: 'base',
    listRule: 'author = @request.auth.id',
    viewRule: 'author = @request.auth.id || public = true',
    createRule: '@request.auth.id != "" && author = @request.auth.id',
    updateRule: 'author = @request.auth.id',
    deleteRule: 'author = @request.auth.id',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'public', type: 'bool' },
      { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
});

/** Collects the events one subscription receives. */
function collector() {
  const events = [];
  const cb = (e) => events.push(e);
  cb.events = events;
  return cb;
}

/** Waits until list has at least n entries and returns it; fails after ARRIVES_MS. */
async function waitFor(list, n, what = 'events') {
  const deadline = Date.now() + ARRIVES_MS;
  while (list.length < n) {
    if (Date.now() > deadline) {
      assert.fail(`expected ${n} ${what}, got ${list.length}: ${JSON.stringify(list.map(brief))}`);
    }
    await sleep(20);
  }
  return list;
}

const brief = (e) => `${e.action} ${e.record?.id} ${e.record?.title}`;

/** A client for a user (an authenticated SDK instance) or a guest. */
function guestClient() {
  return newClient(srv.url);
}

/** Closes the realtime connections of the given clients. */
async function closeAll(...clients) {
  for (const pb of clients) await pb.realtime.unsubscribe().catch(() => {});
}

test('a collection subscription delivers what the list rule allows: owner yes, other user and guest no', async () => {
  const guest = guestClient();
  const forAnn = collector();
  const forBob = collector();
  const forGuest = collector();
  await ann.pb.collection('rt_posts').subscribe('*', forAnn);
  await bob.pb.collection('rt_posts').subscribe('*', forBob);
  await guest.collection('rt_posts').subscribe('*', forGuest);
  try {
    const post = await ann.pb.collection('rt_posts').create({ title: 'ann 1', author: ann.record.id });
    await ann.pb.collection('rt_posts').update(post.id, { title: 'ann 1 edited' });
    await ann.pb.collection('rt_posts').delete(post.id);

    await waitFor(forAnn.events, 3);
    assert.deepEqual(forAnn.events.map((e) => e.action), ['create', 'update', 'delete']);
    assert.equal(forAnn.events[0].record.id, post.id);
    assert.equal(forAnn.events[0].record.collectionName, 'rt_posts');
    assert.equal(forAnn.events[1].record.title, 'ann 1 edited');
    assert.equal(forAnn.events[2].record.id, post.id, 'the delete event carries the deleted record');

    // Bob's own post reaches Bob: everything before it (Ann's events) did not.
    const bobs = await bob.pb.collection('rt_posts').create({ title: 'bob 1', author: bob.record.id });
    await waitFor(forBob.events, 1);
    assert.deepEqual(forBob.events.map(brief), [`create ${bobs.id} bob 1`]);
    await sleep(QUIET_MS);
    assert.deepEqual(forGuest.events, [], 'a guest sees nothing through the owner-only list rule');
    assert.equal(forAnn.events.length, 3, "Ann does not see Bob's post");
  } finally {
    await closeAll(ann.pb, bob.pb, guest);
  }
});

test('a record subscription uses the view rule', async () => {
  const guest = guestClient();
  const pub = await ann.pb.collection('rt_posts').create({ title: 'public', public: true, author: ann.record.id });
  const priv = await ann.pb.collection('rt_posts').create({ title: 'private', author: ann.record.id });
  const onPublic = collector();
  const onPrivate = collector();
  const bobOnPrivate = collector();
  await guest.collection('rt_posts').subscribe(pub.id, onPublic);
  await guest.collection('rt_posts').subscribe(priv.id, onPrivate);
  await bob.pb.collection('rt_posts').subscribe(priv.id, bobOnPrivate);
  try {
    await ann.pb.collection('rt_posts').update(priv.id, { title: 'private edited' });
    await ann.pb.collection('rt_posts').update(pub.id, { title: 'public edited' });
    await ann.pb.collection('rt_posts').delete(pub.id);
    await waitFor(onPublic.events, 2);
    assert.deepEqual(onPublic.events.map(brief), [`update ${pub.id} public edited`, `delete ${pub.id} public edited`]);
    await sleep(QUIET_MS);
    assert.deepEqual(onPrivate.events, [], 'a guest cannot view the private post');
    assert.deepEqual(bobOnPrivate.events, [], "another user cannot view Ann's private post");
  } finally {
    await closeAll(guest, bob.pb);
  }
});

test('subscription options: expand and fields', async () => {
  const full = collector();
  const picked = collector();
  await ann.pb.collection('rt_posts').subscribe('*', full, { expand: 'author' });
  await ann.pb.collection('rt_posts').subscribe('*', picked, { fields: 'id,title' });
  try {
    const post = await ann.pb.collection('rt_posts').create({ title: 'expanded', author: ann.record.id });
    await waitFor(full.events, 1);
    await waitFor(picked.events, 1);
    assert.equal(full.events[0].record.id, post.id);
    assert.equal(full.events[0].record.expand?.author?.id, ann.record.id, 'the author is expanded');
    assert.equal(full.events[0].record.expand.author.name, 'Ann');
    assert.deepEqual(picked.events[0].record, { id: post.id, title: 'expanded' });
  } finally {
    await closeAll(ann.pb);
  }
});

test('unsubscribe stops delivery', async () => {
  const first = collector();
  const second = collector();
  const stopFirst = await ann.pb.collection('rt_posts').subscribe('*', first);
  await ann.pb.collection('rt_posts').subscribe('*', second, { fields: 'id' });
  try {
    await ann.pb.collection('rt_posts').create({ title: 'both', author: ann.record.id });
    await waitFor(first.events, 1);
    await waitFor(second.events, 1);

    await stopFirst();
    await ann.pb.collection('rt_posts').create({ title: 'second only', author: ann.record.id });
    await waitFor(second.events, 2);
    await sleep(QUIET_MS);
    assert.equal(first.events.length, 1, 'an unsubscribed listener gets nothing more');

    await ann.pb.collection('rt_posts').unsubscribe();
    await ann.pb.collection('rt_posts').create({ title: 'nobody', author: ann.record.id });
    await sleep(QUIET_MS);
    assert.equal(second.events.length, 2, 'nothing after unsubscribing from the collection');
  } finally {
    await closeAll(ann.pb);
  }
});

test('subscribe requests: unknown client id is 404, another identity is 403', async () => {
  const res = await fetch(`${srv.url}/api/realtime`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId: 'nope', subscriptions: ['rt_posts/*'] }),
  });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { status: 404, message: 'Missing or invalid client id.', data: {} });

  // Ann's connection, then a subscribe request with Bob's token for the same client id.
  const got = collector();
  await ann.pb.collection('rt_posts').subscribe('*', got);
  try {
    const clientId = ann.pb.realtime.clientId;
    assert.ok(clientId, 'the SDK took the client id from PB_CONNECT');
    const forbidden = await fetch(`${srv.url}/api/realtime`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bob.pb.authStore.token },
      body: JSON.stringify({ clientId, subscriptions: ['rt_posts/*'] }),
    });
    assert.equal(forbidden.status, 403);
  } finally {
    await closeAll(ann.pb);
  }
});

/** Starts `basalt serve` on url's port over server's data and waits until it is healthy; returns a stop function. */
async function serveAgain(url, server) {
  const bin = resolveBinary();
  const addr = new URL(url).host;
  const child = spawn(bin, ['serve', '--http', addr, ...dataArgs(server)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`restarted server did not become healthy:\n${stderr}`);
    }
    await sleep(100);
  }
  return async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
}

test('after a server restart the SDK reconnects, subscribes again and receives new events', async () => {
  const got = collector();
  const connects = [];
  await ann.pb.collection('rt_posts').subscribe('*', got);
  await ann.pb.realtime.subscribe('PB_CONNECT', (e) => connects.push(e));
  const firstId = ann.pb.realtime.clientId;
  await ann.pb.collection('rt_posts').create({ title: 'before restart', author: ann.record.id });
  await waitFor(got.events, 1);

  const connectsBefore = connects.length;
  await srv.server.stop({ keepDir: true });
  const stop = await serveAgain(srv.url, srv.server);
  try {
    // The SDK notices the closed stream, reconnects with backoff and submits its subscriptions again
    // before it calls the PB_CONNECT listeners.
    await waitFor(connects, connectsBefore + 1, 'reconnects');
    assert.notEqual(ann.pb.realtime.clientId, firstId, 'a new connection has a new client id');
    const post = await ann.pb.collection('rt_posts').create({ title: 'after restart', author: ann.record.id });
    await waitFor(got.events, 2);
    assert.deepEqual(got.events.map(brief).slice(-1), [`create ${post.id} after restart`]);
  } finally {
    await closeAll(ann.pb);
    await stop();
  }
});
