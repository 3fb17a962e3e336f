// Settings (superuser only, secrets never returned) and the health check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, newClient } from './lib/server.js';
import { expectStatus, assertFieldError, createUser } from './lib/util.js';

const srv = useServer();

test('health check answers for anyone', async () => {
  const res = await newClient(srv.url).health.check();
  assert.deepEqual(res, { code: 200, message: 'API is healthy.', data: {} });
  const raw = await fetch(`${srv.url}/api/health`);
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-type'), /^application\/json/);
  const head = await fetch(`${srv.url}/api/health`, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('health check gives superusers extra details', async () => {
  const res = await srv.superuser.health.check();
  assert.equal(res.code, 200);
  assert.equal(res.message, 'API is healthy.');
  assert.equal(typeof res.data.canBackup, 'boolean');
  assert.equal(typeof res.data.realIP, 'string');
  assert.equal(res.data.realIP, '127.0.0.1');
  assert.equal(typeof res.data.possibleProxyHeader, 'string');
});

test('health check gives regular users no details', async () => {
  const { pb } = await createUser(srv);
  const res = await pb.health.check();
  assert.deepEqual(res, { code: 200, message: 'API is healthy.', data: {} });
});

test('getAll returns every settings section', async () => {
  const s = await srv.superuser.settings.getAll();
  for (const key of ['meta', 'logs', 'backups', 'smtp', 's3', 'batch', 'rateLimits', 'trustedProxy']) {
    assert.ok(s[key] && typeof s[key] === 'object', `settings.${key} present`);
  }
  assert.equal(typeof s.meta.appName, 'string');
  assert.ok(s.meta.appName.length > 0);
  assert.equal(typeof s.meta.appURL, 'string');
  assert.equal(typeof s.meta.senderAddress, 'string');
  assert.deepEqual(
    { enabled: s.batch.enabled, maxRequests: s.batch.maxRequests, timeout: s.batch.timeout },
    { enabled: false, maxRequests: 50, timeout: 3 },
  );
  assert.equal(typeof s.batch.maxBodySize, 'number');
  assert.equal(s.rateLimits.enabled, false);
  assert.ok(Array.isArray(s.rateLimits.rules));
  assert.deepEqual(s.trustedProxy, { headers: [], useLeftmostIP: false });
  assert.equal(s.smtp.enabled, false);
  assert.equal(s.s3.enabled, false);
  assert.equal(s.logs.maxDays, 5);
});

test('secrets are never returned', async () => {
  const su = srv.superuser;
  const updated = await su.settings.update({
    smtp: { enabled: false, host: 'smtp.example.com', port: 587, username: 'mailer', password: 'smtp-secret-value' },
    s3: { enabled: false, bucket: 'b', region: 'r', endpoint: 'https://s3.example.com', accessKey: 'ak', secret: 's3-secret-value' },
  });
  assert.equal(updated.smtp.host, 'smtp.example.com');
  assert.equal(updated.smtp.username, 'mailer');
  const all = await su.settings.getAll();
  const text = JSON.stringify(all) + JSON.stringify(updated);
  assert.equal(text.includes('smtp-secret-value'), false, 'SMTP password not returned');
  assert.equal(text.includes('s3-secret-value'), false, 'S3 secret not returned');
  assert.ok(!all.smtp.password, 'smtp.password empty or absent');
  assert.ok(!all.s3.secret, 's3.secret empty or absent');
  assert.equal(all.s3.accessKey, 'ak');

  // updating something else does not wipe the stored secret: it is still not returned, and the
  // other SMTP values persist
  await su.settings.update({ meta: { appName: 'Still Secret' } });
  const again = await su.settings.getAll();
  assert.equal(again.smtp.host, 'smtp.example.com');
  assert.equal(JSON.stringify(again).includes('smtp-secret-value'), false);
});

test('update changes the sent values and keeps the others', async () => {
  const su = srv.superuser;
  const before = await su.settings.getAll();
  const updated = await su.settings.update({ meta: { appName: 'Basalt E2E' }, logs: { maxDays: 9 } });
  assert.equal(updated.meta.appName, 'Basalt E2E');
  assert.equal(updated.meta.appURL, before.meta.appURL, 'unsent meta keys are kept');
  assert.equal(updated.logs.maxDays, 9);
  assert.deepEqual(updated.batch, before.batch);
  const after = await su.settings.getAll();
  assert.equal(after.meta.appName, 'Basalt E2E');
  assert.equal(after.logs.maxDays, 9);

  const withProxy = await su.settings.update({ trustedProxy: { headers: ['X-Forwarded-For'], useLeftmostIP: true } });
  assert.deepEqual(withProxy.trustedProxy, { headers: ['X-Forwarded-For'], useLeftmostIP: true });
});

test('invalid settings are 400 and change nothing', async () => {
  const su = srv.superuser;
  const before = await su.settings.getAll();
  const err = await expectStatus(su.settings.update({ meta: { appName: '' } }), 400);
  assert.ok(err.response.data.meta, JSON.stringify(err.response.data));
  assertFieldError({ response: { data: err.response.data.meta } }, 'appName', 'validation_required');
  const after = await su.settings.getAll();
  assert.equal(after.meta.appName, before.meta.appName);
});

test('settings need a superuser: 401 anonymous, 403 for a user', async () => {
  const anon = newClient(srv.url);
  await expectStatus(anon.settings.getAll(), 401);
  await expectStatus(anon.settings.update({ meta: { appName: 'Hacked' } }), 401);
  const { pb } = await createUser(srv);
  await expectStatus(pb.settings.getAll(), 403);
  await expectStatus(pb.settings.update({ meta: { appName: 'Hacked' } }), 403);
  assert.notEqual((await srv.superuser.settings.getAll()).meta.appName, 'Hacked');
});

test('an unknown route under /api is a JSON 404', async () => {
  const res = await fetch(`${srv.url}/api/no/such/route`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.deepEqual(body, { data: {}, message: "The requested resource wasn't found.", status: 404 });
});

test('the 401 message for superuser-only routes is PocketBase\'s', async () => {
  const err = await expectStatus(newClient(srv.url).settings.getAll(), 401);
  assert.equal(err.response.message, 'The request requires valid record authorization token.');
});
