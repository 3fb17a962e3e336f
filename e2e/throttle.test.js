// Brute-force protection through the SDK: failed password sign-ins are throttled per identity with
// the limit set by an environment variable of `basalt serve` (docs/throttling.md), answered with
// 429, Retry-After and PocketBase's error body; unknown identities are counted and answered alike.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, newClient, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './lib/server.js';
import { expectStatus, unique } from './lib/util.js';

let server;
before(async () => {
  server = await startServer({ env: { ...process.env, BASALT_AUTH_THROTTLE_LOGIN_IDENTITY: '3/1h' } });
});
after(async () => {
  if (server) await server.stop();
});

test('failed password sign-ins are throttled per identity, known or not', async () => {
  const su = newClient(server.url);
  await su.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  const email = `${unique('victim')}@example.com`;
  const password = 'right-password-123';
  await su.collection('users').create({ email, password, passwordConfirm: password });

  const pb = newClient(server.url);
  for (const identity of [email, `${unique('ghost')}@example.com`]) {
    for (let i = 0; i < 3; i++) {
      const err = await expectStatus(pb.collection('users').authWithPassword(identity, 'wrong-password'), 400);
      assert.equal(err.response.message, 'Failed to authenticate.');
    }
    const err = await expectStatus(pb.collection('users').authWithPassword(identity, 'wrong-password'), 429);
    assert.deepEqual(err.response, { status: 429, message: 'Too Many Requests.', data: {} });
  }
  // Once the budget is spent, even the right password waits: nothing is learnt from the answer.
  await expectStatus(pb.collection('users').authWithPassword(email.toUpperCase(), password), 429);

  // Retry-After says when to come back (one failure refills every 20 minutes).
  const res = await fetch(`${server.url}/api/collections/users/auth-with-password`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ identity: email, password }),
  });
  assert.equal(res.status, 429);
  const wait = Number(res.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 1200, `Retry-After ${res.headers.get('retry-after')}`);

  // Other identities are not affected, and successes do not count.
  const other = `${unique('other')}@example.com`;
  await su.collection('users').create({ email: other, password, passwordConfirm: password });
  for (let i = 0; i < 5; i++) {
    const auth = await pb.collection('users').authWithPassword(other, password);
    assert.equal(auth.record.email, other);
  }
});
