// Small assertion and fixture helpers shared by the test files.

import assert from 'node:assert/strict';
import { ClientResponseError } from 'pocketbase';
import { newClient } from './server.js';

/** PocketBase record ids: 15 characters of [a-z0-9]. */
export const ID_RE = /^[a-z0-9]{15}$/;
/** PocketBase's datetime layout: 2006-01-02 15:04:05.000Z (UTC, space separator). */
export const DATE_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Awaits promise, expects it to reject with a ClientResponseError of the given HTTP status, and
 * returns the error so the caller can look at err.response.
 */
export async function expectStatus(promise, status) {
  let err;
  try {
    const value = await promise;
    assert.fail(`expected HTTP ${status}, but the request succeeded with ${JSON.stringify(value)?.slice(0, 300)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e;
  }
  assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err}`);
  assert.equal(
    err.status,
    status,
    `expected HTTP ${status}, got ${err.status}: ${JSON.stringify(err.response)}`,
  );
  // The error envelope is {status, message, data}, data always an object.
  assert.equal(err.response.status, status, 'error body has the same status');
  assert.equal(typeof err.response.message, 'string', 'error body has a message');
  assert.equal(typeof err.response.data, 'object', 'error body has a data object');
  assert.notEqual(err.response.data, null, 'error body data is not null');
  return err;
}

/** Asserts that err.response.data[field].code equals code. */
export function assertFieldError(err, field, code) {
  const got = err.response.data?.[field];
  assert.ok(got, `expected a validation error on ${field}, got data ${JSON.stringify(err.response.data)}`);
  assert.equal(got.code, code, `error code on ${field}: ${JSON.stringify(got)}`);
  assert.equal(typeof got.message, 'string');
}

/** Returns a name unique within this process, for emails and collection names. */
let counter = 0;
export function unique(prefix) {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

/**
 * Creates a user in `users` (as the superuser) and returns {pb, record, email, password} where pb is
 * a client authenticated as that user.
 */
export async function createUser(srv, fields = {}) {
  const email = fields.email || `${unique('user')}@example.com`;
  const password = fields.password || 'user-password-123';
  const record = await srv.superuser.collection('users').create({
    name: 'User',
    ...fields,
    email,
    password,
    passwordConfirm: password,
  });
  const pb = newClient(srv.url);
  await pb.collection('users').authWithPassword(email, password);
  return { pb, record, email, password };
}

/** Sorted copy of a list of strings. */
export const sorted = (xs) => [...xs].sort();

/** Polls fn until it returns true or timeoutMs passes; returns the last value. */
export async function eventually(fn, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}
