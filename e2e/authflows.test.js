// The auth flows a browser app uses, through the SDK, with the mails read from a capture SMTP server:
// sign-up → verification → login → refresh → password reset → login with the new password; email
// change; one-time passwords; MFA (password + OTP); impersonation; test emails; throttling.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, newClient } from './lib/server.js';
import { startSMTP } from './lib/smtp.js';
import { expectStatus, unique } from './lib/util.js';

let smtp;
const srv = useServer(async () => {
  smtp = await startSMTP();
  await srv.superuser.settings.update({
    meta: { appName: 'Basalt E2E', appURL: 'http://app.test', senderName: 'Basalt', senderAddress: 'noreply@app.test' },
    smtp: { enabled: true, host: smtp.host, port: smtp.port },
  });
  // Auth collections with one-time passwords, and with MFA on top.
  await srv.superuser.collections.create({
    name: 'otp_users', type: 'auth', createRule: '', otp: { enabled: true },
  });
  await srv.superuser.collections.create({
    name: 'mfa_users', type: 'auth', createRule: '', otp: { enabled: true }, mfa: { enabled: true },
  });
});
after(async () => {
  if (smtp) await smtp.close();
});

const PASSWORD = 'first-pass-123';
const JWT_RE = /[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

function tokenIn(mail) {
  const m = JWT_RE.exec(mail.html);
  assert.ok(m, `no token in mail ${mail.subject}: ${mail.html}`);
  return m[0];
}

function otpIn(mail) {
  const m = /<strong>(\d+)<\/strong>/.exec(mail.html);
  assert.ok(m, `no one-time password in mail ${mail.subject}: ${mail.html}`);
  return m[1];
}

function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function signUp(collection, email = `${unique('flow')}@example.com`) {
  const pb = newClient(srv.url);
  const record = await pb.collection(collection).create({ email, password: PASSWORD, passwordConfirm: PASSWORD });
  return { pb, record, email };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('sign-up → verify → login → refresh → reset password → login with the new password', async () => {
  const { pb, record, email } = await signUp('users');
  assert.equal(record.verified, false);

  // verification
  assert.equal(await pb.collection('users').requestVerification(email), true);
  const verifyMail = await smtp.nextMail(email);
  assert.equal(verifyMail.subject, 'Verify your Basalt E2E email');
  assert.equal(verifyMail.from, 'noreply@app.test');
  const verifyToken = tokenIn(verifyMail);
  assert.ok(verifyMail.html.includes(`http://app.test/_/#/auth/confirm-verification/${verifyToken}`));
  assert.deepEqual(
    { type: jwtPayload(verifyToken).type, email: jwtPayload(verifyToken).email, id: jwtPayload(verifyToken).id },
    { type: 'verification', email, id: record.id },
  );
  assert.ok(verifyMail.text.includes(verifyToken), 'the plain-text part carries the link too');
  assert.equal(await pb.collection('users').confirmVerification(verifyToken), true);

  // login and refresh
  const auth = await pb.collection('users').authWithPassword(email, PASSWORD);
  assert.equal(auth.record.verified, true);
  const refreshed = await pb.collection('users').authRefresh();
  assert.equal(refreshed.record.id, record.id);
  const oldToken = pb.authStore.token;

  // password reset
  assert.equal(await pb.collection('users').requestPasswordReset(email), true);
  const resetMail = await smtp.nextMail(email);
  assert.equal(resetMail.subject, 'Reset your Basalt E2E password');
  const resetToken = tokenIn(resetMail);
  assert.equal(jwtPayload(resetToken).type, 'passwordReset');
  await expectStatus(pb.collection('users').confirmPasswordReset(resetToken, 'second-pass-456', 'mismatch-789'), 400);
  assert.equal(await pb.collection('users').confirmPasswordReset(resetToken, 'second-pass-456', 'second-pass-456'), true);

  // the old session is over, the old password too; the token worked once
  const stale = newClient(srv.url);
  stale.authStore.save(oldToken, auth.record);
  await expectStatus(stale.collection('users').authRefresh(), 401);
  await expectStatus(newClient(srv.url).collection('users').authWithPassword(email, PASSWORD), 400);
  const fresh = newClient(srv.url);
  const again = await fresh.collection('users').authWithPassword(email, 'second-pass-456');
  assert.equal(again.record.id, record.id);
  await expectStatus(pb.collection('users').confirmPasswordReset(resetToken, 'third-pass-789', 'third-pass-789'), 400);
});

test('request endpoints answer unknown addresses like known ones and send nothing', async () => {
  const pb = newClient(srv.url);
  const ghost = `${unique('ghost')}@example.com`;
  assert.equal(await pb.collection('users').requestVerification(ghost), true);
  assert.equal(await pb.collection('users').requestPasswordReset(ghost), true);
  const { otpId } = await pb.collection('otp_users').requestOTP(ghost);
  assert.match(otpId, /^[a-z0-9]{15}$/);
  await expectStatus(pb.collection('otp_users').authWithOTP(otpId, '12345678'), 400);
  await sleep(500);
  assert.equal(smtp.mailsTo(ghost).length, 0);
  const err = await expectStatus(pb.collection('users').requestPasswordReset('not-an-email'), 400);
  assert.equal(err.response.data.email.code, 'validation_is_email');
});

test('email change', async () => {
  const { pb, record, email } = await signUp('users');
  await pb.collection('users').authWithPassword(email, PASSWORD);
  const oldToken = pb.authStore.token;
  const newEmail = `${unique('moved')}@example.com`;
  assert.equal(await pb.collection('users').requestEmailChange(newEmail), true);
  const mail = await smtp.nextMail(newEmail);
  assert.equal(mail.subject, 'Confirm your Basalt E2E new email address');
  const token = tokenIn(mail);
  assert.equal(jwtPayload(token).newEmail, newEmail);
  await expectStatus(newClient(srv.url).collection('users').confirmEmailChange(token, 'wrong-password'), 400);
  assert.equal(await newClient(srv.url).collection('users').confirmEmailChange(token, PASSWORD), true);

  const stale = newClient(srv.url);
  stale.authStore.save(oldToken, record);
  await expectStatus(stale.collection('users').authRefresh(), 401);
  const moved = await newClient(srv.url).collection('users').authWithPassword(newEmail, PASSWORD);
  assert.equal(moved.record.id, record.id);
  assert.equal(moved.record.email, newEmail);
  assert.equal(moved.record.verified, true);
  await expectStatus(newClient(srv.url).collection('users').confirmEmailChange(token, PASSWORD), 400);
});

test('OTP sign-in', async () => {
  const { record, email } = await signUp('otp_users');
  const pb = newClient(srv.url);
  const methods = await pb.collection('otp_users').listAuthMethods();
  assert.equal(methods.otp.enabled, true);

  const { otpId } = await pb.collection('otp_users').requestOTP(email);
  const mail = await smtp.nextMail(email);
  assert.equal(mail.subject, 'OTP for Basalt E2E');
  const code = otpIn(mail);
  assert.match(code, /^\d{8}$/);
  await expectStatus(pb.collection('otp_users').authWithOTP(otpId, code === '00000000' ? '11111111' : '00000000'), 400);
  const auth = await pb.collection('otp_users').authWithOTP(otpId, code);
  assert.equal(auth.record.id, record.id);
  assert.equal(auth.record.verified, true, 'the mailed password proves the address');
  assert.equal(pb.authStore.isValid, true);
  await expectStatus(newClient(srv.url).collection('otp_users').authWithOTP(otpId, code), 400);
  await expectStatus(newClient(srv.url).collection('users').requestOTP(email), 403);
});

test('MFA with password + OTP', async () => {
  const { record, email } = await signUp('mfa_users');
  const pb = newClient(srv.url);
  const err = await pb.collection('mfa_users').authWithPassword(email, PASSWORD).then(
    () => assert.fail('one factor signed in'),
    (e) => e,
  );
  assert.equal(err.status, 401);
  assert.deepEqual(Object.keys(err.response), ['mfaId']);
  const mfaId = err.response.mfaId;
  assert.equal(pb.authStore.isValid, false);

  // the same method again does not complete it
  await expectStatus(pb.collection('mfa_users').authWithPassword(email, PASSWORD, { mfaId }), 400);

  const { otpId } = await pb.collection('mfa_users').requestOTP(email);
  const code = otpIn(await smtp.nextMail(email));
  const auth = await pb.collection('mfa_users').authWithOTP(otpId, code, { mfaId });
  assert.equal(auth.record.id, record.id);
  assert.equal(pb.authStore.isValid, true);
  assert.equal((await pb.collection('mfa_users').authRefresh()).record.id, record.id);

  // the session is used up
  const second = await pb.collection('mfa_users').requestOTP(email);
  const code2 = otpIn(await smtp.nextMail(email));
  await expectStatus(newClient(srv.url).collection('mfa_users').authWithOTP(second.otpId, code2, { mfaId }), 400);
});

test('impersonation gives a non-refreshable token', async () => {
  const { record } = await signUp('users');
  const client = await srv.superuser.collection('users').impersonate(record.id, 3600);
  assert.equal(client.authStore.record.id, record.id);
  const payload = jwtPayload(client.authStore.token);
  assert.ok(!payload.refreshable);
  assert.ok(Math.abs(payload.exp - Date.now() / 1000 - 3600) < 60);
  assert.equal((await client.collection('users').getOne(record.id)).id, record.id);
  await expectStatus(client.collection('users').authRefresh(), 403);
  await expectStatus(newClient(srv.url).collection('users').impersonate(record.id, 60), 401);
});

test('test emails are sent at once', async () => {
  const to = `${unique('test')}@example.com`;
  assert.equal(await srv.superuser.settings.testEmail('users', to, 'password-reset'), true);
  const mail = smtp.mailsTo(to)[0];
  assert.ok(mail, 'delivered before the answer');
  assert.equal(mail.subject, 'Reset your Basalt E2E password');
  await expectStatus(srv.superuser.settings.testEmail('users', to, 'welcome'), 400);
});

test('request endpoints are throttled per address', async () => {
  const { email } = await signUp('otp_users');
  const pb = newClient(srv.url);
  for (let i = 0; i < 5; i++) await pb.collection('otp_users').requestOTP(email);
  const err = await expectStatus(pb.collection('otp_users').requestOTP(email.toUpperCase()), 429);
  assert.equal(err.response.message, 'Too Many Requests.');
  for (let i = 0; i < 5; i++) await smtp.nextMail(email);
});
