// The rateLimits settings through the SDK (docs/ratelimits.md): a superuser enables them, a guest
// over a collection rule gets ClientResponseError 429 with PocketBase's error body, the answer
// carries Retry-After and the RateLimit-Policy/RateLimit fields, superusers are never limited and
// disabling the settings lifts the limits at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, newClient, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './lib/server.js';
import { expectStatus, unique } from './lib/util.js';

let server;
before(async () => {
  // A server of its own: enabling rate limits must not touch other files' servers.
  server = await startServer();
});
after(async () => {
  if (server) await server.stop();
});

const password = 'secret-pass-1';
const signUp = (pb) => {
  const email = `${unique('rl')}@example.com`;
  return pb.collection('users').create({ email, password, passwordConfirm: password });
};

test('rateLimits: guests over a collection rule get 429, superusers never', async () => {
  const su = newClient(server.url);
  await su.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  await su.settings.update({
    rateLimits: {
      enabled: true,
      rules: [
        { label: 'users:create', audience: '@guest', maxRequests: 2, duration: 60 },
        { label: '/api/', audience: '', maxRequests: 1000, duration: 60 },
      ],
    },
  });

  const pb = newClient(server.url);
  await signUp(pb);
  await signUp(pb);
  const err = await expectStatus(signUp(pb), 429);
  assert.deepEqual(err.response, { status: 429, message: 'Too Many Requests.', data: {} });

  const res = await fetch(`${server.url}/api/collections/users/records`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: `${unique('rl')}@example.com`, password, passwordConfirm: password }),
  });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '30');
  assert.equal(res.headers.get('ratelimit-policy'), '"/api/";q=1000;w=60, "users:create @guest";q=2;w=60');
  assert.match(res.headers.get('ratelimit'), /^"\/api\/";r=\d+;t=1, "users:create @guest";r=0;t=30$/);

  // Superusers are exempt; other collections and routes keep their own budgets.
  for (let i = 0; i < 3; i++) await signUp(su);
  const list = await pb.collection('users').getList(1, 1).catch((e) => e);
  assert.notEqual(list.status, 429);

  await su.settings.update({ rateLimits: { enabled: false } });
  await signUp(pb);
});
