// Auth records through the SDK: sign-up, password auth, refresh, token invalidation on password
// change, hidden fields and email visibility.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, newClient } from './lib/server.js';
import { ID_RE, expectStatus, assertFieldError, createUser, unique } from './lib/util.js';

const srv = useServer(async () => {
  // let any signed-in user see other users, so email visibility can be checked
  await srv.superuser.collections.update('users', {
    listRule: '@request.auth.id != ""',
    viewRule: '@request.auth.id != ""',
  });
});

function assertNoSecrets(rec, where) {
  assert.equal('password' in rec, false, `${where}: no password`);
  assert.equal('tokenKey' in rec, false, `${where}: no tokenKey`);
  assert.equal('passwordConfirm' in rec, false, `${where}: no passwordConfirm`);
}

function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

test('sign-up with create, then authWithPassword', async () => {
  const pb = newClient(srv.url);
  const email = `${unique('signup')}@example.com`;
  const rec = await pb.collection('users').create({
    email,
    password: 'secret-pass-1',
    passwordConfirm: 'secret-pass-1',
    name: 'New User',
  });
  assert.match(rec.id, ID_RE);
  assert.equal(rec.collectionName, 'users');
  assert.equal(rec.collectionId, '_pb_users_auth_');
  assert.equal(rec.name, 'New User');
  assert.equal(rec.verified, false);
  assert.equal(rec.emailVisibility, false);
  assertNoSecrets(rec, 'create response');
  assert.equal(pb.authStore.isValid, false, 'sign-up does not log in');

  const auth = await pb.collection('users').authWithPassword(email, 'secret-pass-1');
  assert.equal(typeof auth.token, 'string');
  assert.equal(auth.record.id, rec.id);
  assert.equal(auth.record.email, email, 'the owner sees their email');
  assertNoSecrets(auth.record, 'auth response');
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.isSuperuser, false);
  assert.equal(pb.authStore.record.id, rec.id);

  const claims = jwtPayload(auth.token);
  assert.equal(claims.type, 'auth');
  assert.equal(claims.id, rec.id);
  assert.equal(claims.collectionId, '_pb_users_auth_');
  assert.equal(claims.refreshable, true);
  const days = (claims.exp - Date.now() / 1000) / 86400;
  // PocketBase's default is 7 days for new auth collections; anything from 1 to 7 days is sane
  assert.ok(days > 0.99 && days <= 7.01, `auth token lifetime in days: ${days.toFixed(2)}`);
});

test('sign-up validation: mismatched confirmation, duplicate email, short password', async () => {
  const pb = newClient(srv.url);
  const email = `${unique('dup')}@example.com`;
  let err = await expectStatus(
    pb.collection('users').create({ email, password: 'secret-pass-1', passwordConfirm: 'other-pass-1' }),
    400,
  );
  assertFieldError(err, 'passwordConfirm', 'validation_values_mismatch');

  await pb.collection('users').create({ email, password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' });
  err = await expectStatus(
    pb.collection('users').create({ email, password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' }),
    400,
  );
  assertFieldError(err, 'email', 'validation_not_unique');

  err = await expectStatus(
    pb.collection('users').create({ email: `${unique('short')}@example.com`, password: 'abc', passwordConfirm: 'abc' }),
    400,
  );
  assertFieldError(err, 'password', 'validation_min_text_constraint');

  err = await expectStatus(pb.collection('users').create({ email: 'not-an-email', password: 'secret-pass-1', passwordConfirm: 'secret-pass-1' }), 400);
  assertFieldError(err, 'email', 'validation_is_email');
});

test('wrong password and unknown identity are both 400', async () => {
  const { email } = await createUser(srv);
  const pb = newClient(srv.url);
  const err = await expectStatus(pb.collection('users').authWithPassword(email, 'wrong-password'), 400);
  assert.equal(err.response.message, 'Failed to authenticate.');
  const err2 = await expectStatus(pb.collection('users').authWithPassword('nobody@example.com', 'whatever-123'), 400);
  assert.equal(err2.response.message, 'Failed to authenticate.');
  assert.equal(pb.authStore.isValid, false);
});

test('listAuthMethods reports password auth on email', async () => {
  const methods = await newClient(srv.url).collection('users').listAuthMethods();
  assert.equal(methods.password.enabled, true);
  assert.deepEqual(methods.password.identityFields, ['email']);
  assert.equal(typeof methods.oauth2.enabled, 'boolean');
  assert.ok(Array.isArray(methods.oauth2.providers));
  assert.equal(methods.mfa.enabled, false);
  assert.equal(methods.otp.enabled, false);
});

test('authRefresh returns a new valid token and the record', async () => {
  const { pb, record } = await createUser(srv, { name: 'Refresher' });
  const oldToken = pb.authStore.token;
  await new Promise((r) => setTimeout(r, 1100)); // a later iat/exp gives a different token
  const res = await pb.collection('users').authRefresh();
  assert.equal(res.record.id, record.id);
  assert.equal(res.record.name, 'Refresher');
  assertNoSecrets(res.record, 'refresh response');
  assert.notEqual(res.token, oldToken);
  assert.equal(pb.authStore.token, res.token);
  assert.ok(jwtPayload(res.token).exp > jwtPayload(oldToken).exp);
  // the old token is still valid until it expires or the tokenKey changes
  const other = newClient(srv.url);
  other.authStore.save(oldToken, null);
  await other.collection('users').authRefresh();
});

test('authRefresh without a token is 401', async () => {
  await expectStatus(newClient(srv.url).collection('users').authRefresh(), 401);
  const bogus = newClient(srv.url);
  bogus.authStore.save('not-a-jwt', null);
  await expectStatus(bogus.collection('users').authRefresh(), 401);
});

test('changing the password invalidates existing tokens (401 on refresh)', async () => {
  const { pb, record, email, password } = await createUser(srv);
  const oldToken = pb.authStore.token;
  // oldPassword is required when a user changes their own password
  const err = await expectStatus(
    pb.collection('users').update(record.id, { password: 'new-password-1', passwordConfirm: 'new-password-1' }),
    400,
  );
  assert.ok(err.response.data.oldPassword, `oldPassword error expected: ${JSON.stringify(err.response.data)}`);
  const wrongOld = await expectStatus(
    pb.collection('users').update(record.id, {
      oldPassword: 'not-the-password', password: 'new-password-1', passwordConfirm: 'new-password-1',
    }),
    400,
  );
  assertFieldError(wrongOld, 'oldPassword', 'validation_invalid_old_password');

  const upd = await pb.collection('users').update(record.id, {
    oldPassword: password, password: 'new-password-1', passwordConfirm: 'new-password-1',
  });
  assertNoSecrets(upd, 'update response');

  const stale = newClient(srv.url);
  stale.authStore.save(oldToken, null);
  await expectStatus(stale.collection('users').authRefresh(), 401);
  // a rule-protected read with the stale token is treated as anonymous
  await expectStatus(stale.collection('users').getOne(record.id), 404);

  await expectStatus(newClient(srv.url).collection('users').authWithPassword(email, password), 400);
  const fresh = newClient(srv.url);
  const auth = await fresh.collection('users').authWithPassword(email, 'new-password-1');
  assert.equal(auth.record.id, record.id);
  await fresh.collection('users').authRefresh();
});

test('a superuser can set a password without oldPassword', async () => {
  const { record, email } = await createUser(srv);
  await srv.superuser.collection('users').update(record.id, { password: 'set-by-admin-1', passwordConfirm: 'set-by-admin-1' });
  const pb = newClient(srv.url);
  const auth = await pb.collection('users').authWithPassword(email, 'set-by-admin-1');
  assert.equal(auth.record.id, record.id);
});

test('password and tokenKey never appear, not even for a superuser', async () => {
  const { record } = await createUser(srv);
  const su = srv.superuser;
  assertNoSecrets(await su.collection('users').getOne(record.id), 'superuser getOne');
  const list = await su.collection('users').getFullList();
  for (const u of list) assertNoSecrets(u, 'superuser list');
  const superusers = await su.collection('_superusers').getFullList();
  assert.ok(superusers.length >= 1);
  for (const u of superusers) assertNoSecrets(u, '_superusers list');
  // they are not filterable by non-superusers either
  const { pb } = await createUser(srv);
  await expectStatus(pb.collection('users').getList(1, 10, { filter: "tokenKey != ''" }), 400);
  await expectStatus(pb.collection('users').getList(1, 10, { filter: "password != ''" }), 400);
});

test('email is hidden from other users unless emailVisibility is on', async () => {
  const ann = await createUser(srv, { name: 'Ann' });
  const bob = await createUser(srv, { name: 'Bob' });

  const seen = await bob.pb.collection('users').getOne(ann.record.id);
  assert.equal(seen.name, 'Ann');
  assert.equal('email' in seen, false, 'email hidden from another user');
  const inList = (await bob.pb.collection('users').getFullList()).find((u) => u.id === ann.record.id);
  assert.equal('email' in inList, false, 'email hidden in lists too');

  assert.equal((await ann.pb.collection('users').getOne(ann.record.id)).email, ann.email, 'owner sees it');
  assert.equal((await srv.superuser.collection('users').getOne(ann.record.id)).email, ann.email, 'superuser sees it');

  await ann.pb.collection('users').update(ann.record.id, { emailVisibility: true });
  const visible = await bob.pb.collection('users').getOne(ann.record.id);
  assert.equal(visible.email, ann.email);
  assert.equal(visible.emailVisibility, true);
});

test('an auth token of one collection does not work for another collection\'s refresh', async () => {
  const { pb } = await createUser(srv);
  await expectStatus(pb.collection('_superusers').authRefresh(), 403);
});

test('a user cannot make themself verified', async () => {
  const { pb, record } = await createUser(srv);
  const before = await srv.superuser.collection('users').getOne(record.id);
  assert.equal(before.verified, false);
  // refused (400) or ignored: either way the flag must stay false
  await pb.collection('users').update(record.id, { verified: true }).catch((err) => assert.equal(err.status, 400));
  assert.equal((await srv.superuser.collection('users').getOne(record.id)).verified, false);
});

test('a new auth collection gets the system fields and supports sign-up and login', async () => {
  const coll = await srv.superuser.collections.create({
    name: 'members',
    type: 'auth',
    createRule: '',
    viewRule: 'id = @request.auth.id',
    fields: [{ name: 'nickname', type: 'text' }],
  });
  const byName = Object.fromEntries(coll.fields.map((f) => [f.name, f]));
  for (const n of ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified', 'nickname']) {
    assert.ok(byName[n], `members has ${n}`);
  }
  assert.equal(byName.password.hidden, true);
  assert.equal(byName.tokenKey.hidden, true);
  assert.equal(byName.email.type, 'email');

  const pb = newClient(srv.url);
  const email = `${unique('member')}@example.com`;
  await pb.collection('members').create({ email, password: 'member-pass-1', passwordConfirm: 'member-pass-1', nickname: 'nick' });
  const auth = await pb.collection('members').authWithPassword(email, 'member-pass-1');
  assert.equal(auth.record.collectionName, 'members');
  assert.equal(auth.record.nickname, 'nick');
  assert.equal(jwtPayload(auth.token).collectionId, coll.id);
  assertNoSecrets(auth.record, 'members auth');
  // the same credentials are unknown to users, and a members token cannot refresh there
  await expectStatus(newClient(srv.url).collection('users').authWithPassword(email, 'member-pass-1'), 400);
  await expectStatus(pb.collection('users').authRefresh(), 403);
  await pb.collection('members').authRefresh();
});
