// JavaScript functions observed through the SDK: a before-hook that changes a record, one that
// rejects it with a per-field problem, an after-hook, and a custom route with an auth requirement.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import PocketBase from 'pocketbase';
import { startServer, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './lib/server.js';
import { expectStatus, assertFieldError } from './lib/util.js';

const hooks = `
basalt.beforeCreate("notes", (e) => {
  const title = String(e.record.title || "").trim();
  if (title.length < 3) {
    throw new basalt.ValidationError("Failed to create record.", { title: { code: "validation_too_short", message: "At least 3 characters." } });
  }
  e.record.title = title;
  e.record.slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
});
basalt.beforeUpdate("notes", (e) => {
  if (e.original.locked) throw new basalt.ApiError(403, "This note is locked.");
  e.record.edits = (e.original.edits || 0) + 1;
});
basalt.afterCreate("notes", (e) => {
  basalt.records.save("notes_log", { msg: "created " + e.record.slug }, { bypassRules: true });
});
basalt.route("GET", "/notes/count", (req) => ({
  json: { total: basalt.records.list("notes", { auth: req.auth, skipTotal: false }).totalItems, who: req.auth.collectionName },
}), { auth: "auth" });
`;

let server;
let fnDir;
let url;
let su;

before(async () => {
  fnDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'basalt-e2e-fns-'));
  await fsp.writeFile(path.join(fnDir, 'notes.js'), hooks);
  server = await startServer({ env: { ...process.env, BASALT_FUNCTIONS_DIR: fnDir } });
  url = server.url;
  su = new PocketBase(url);
  su.autoCancellation(false);
  await su.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  await su.collections.create({
    name: 'notes', type: 'base',
    listRule: '', viewRule: '', createRule: '', updateRule: '',
    fields: [
      { name: 'title', type: 'text' }, { name: 'slug', type: 'text' },
      { name: 'edits', type: 'number' }, { name: 'locked', type: 'bool' },
    ],
  });
  await su.collections.create({ name: 'notes_log', type: 'base', fields: [{ name: 'msg', type: 'text' }] });
});

after(async () => {
  if (server) await server.stop();
  if (fnDir) await fsp.rm(fnDir, { recursive: true, force: true });
});

function client() {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  return pb;
}

test('a before-hook changes the record the client creates and updates', async () => {
  const pb = client();
  const rec = await pb.collection('notes').create({ title: '  Hello Functions  ' });
  assert.equal(rec.title, 'Hello Functions');
  assert.equal(rec.slug, 'hello-functions');
  const again = await pb.collection('notes').getOne(rec.id);
  assert.equal(again.slug, 'hello-functions', 'the change is stored');
  const upd = await pb.collection('notes').update(rec.id, { edits: 99 });
  assert.equal(upd.edits, 1, 'the hook overrides the submitted value');
  const logs = await su.collection('notes_log').getFullList();
  assert.ok(logs.some((l) => l.msg === 'created hello-functions'), 'the after-hook wrote its record');
});

test('a before-hook rejects a record with a per-field validation error', async () => {
  const pb = client();
  const err = await expectStatus(pb.collection('notes').create({ title: 'x' }), 400);
  assert.equal(err.response.message, 'Failed to create record.');
  assertFieldError(err, 'title', 'validation_too_short');
  assert.equal(err.response.data.title.message, 'At least 3 characters.');
  const list = await pb.collection('notes').getList(1, 50, { filter: 'title = "x"' });
  assert.equal(list.totalItems, 0, 'nothing was written');

  const locked = await su.collection('notes').create({ title: 'Locked one', locked: true });
  const denied = await expectStatus(pb.collection('notes').update(locked.id, { title: 'changed' }), 403);
  assert.equal(denied.response.message, 'This note is locked.');
});

test('a custom route requires auth and applies the caller rules', async () => {
  const pb = client();
  await expectStatus(pb.send('/api/fn/notes/count', { method: 'GET' }), 401);
  const res = await su.send('/api/fn/notes/count', { method: 'GET' });
  assert.equal(res.who, '_superusers');
  assert.ok(res.total >= 2, `total ${res.total}`);
});
