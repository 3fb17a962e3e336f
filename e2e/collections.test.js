// Collections API through the SDK: superuser auth, CRUD of collections, scaffolds, truncate,
// import, and schema changes that keep data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, newClient, SUPERUSER_EMAIL, SUPERUSER_PASSWORD } from './lib/server.js';
import { DATE_RE, ID_RE, expectStatus, assertFieldError } from './lib/util.js';
import { postsFields } from './lib/schema.js';

const srv = useServer();

test('superuser authWithPassword returns a superuser token and record', async () => {
  const pb = newClient(srv.url);
  assert.equal(pb.authStore.isSuperuser, false);
  const auth = await pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, SUPERUSER_PASSWORD);
  assert.equal(typeof auth.token, 'string');
  assert.equal(auth.token.split('.').length, 3, 'token is a JWT');
  assert.equal(auth.record.email, SUPERUSER_EMAIL);
  assert.equal(auth.record.collectionName, '_superusers');
  assert.equal(auth.record.collectionId, 'pbc_3142635823');
  assert.match(auth.record.id, ID_RE);
  assert.equal('password' in auth.record, false);
  assert.equal('tokenKey' in auth.record, false);
  assert.equal(pb.authStore.isValid, true);
  assert.equal(pb.authStore.isSuperuser, true);
  assert.equal(pb.authStore.token, auth.token);

  const payload = JSON.parse(Buffer.from(auth.token.split('.')[1], 'base64url').toString());
  assert.equal(payload.type, 'auth');
  assert.equal(payload.collectionId, 'pbc_3142635823');
  assert.equal(payload.id, auth.record.id);
  assert.ok(payload.exp > Date.now() / 1000, 'token not expired');
});

test('superuser authWithPassword with a wrong password is 400', async () => {
  const pb = newClient(srv.url);
  await expectStatus(pb.collection('_superusers').authWithPassword(SUPERUSER_EMAIL, 'wrong-password'), 400);
  assert.equal(pb.authStore.isValid, false);
});

test('collections API requires a superuser: 401 anonymous, 403 for a user', async () => {
  const anon = newClient(srv.url);
  await expectStatus(anon.collections.getList(1, 10), 401);
  await expectStatus(anon.collections.create({ name: 'nope', type: 'base' }), 401);

  const email = 'collections-user@example.com';
  await srv.superuser.collection('users').create({ email, password: 'pass-12345678', passwordConfirm: 'pass-12345678' });
  const user = newClient(srv.url);
  await user.collection('users').authWithPassword(email, 'pass-12345678');
  await expectStatus(user.collections.getList(1, 10), 403);
  await expectStatus(user.collections.getOne('users'), 403);
});

test('the default users and _superusers collections exist with their documented shape', async () => {
  const su = srv.superuser;
  const users = await su.collections.getOne('users');
  assert.equal(users.id, '_pb_users_auth_');
  assert.equal(users.type, 'auth');
  assert.equal(users.name, 'users');
  assert.equal(users.listRule, 'id = @request.auth.id');
  assert.equal(users.viewRule, 'id = @request.auth.id');
  assert.equal(users.createRule, '');
  assert.equal(users.updateRule, 'id = @request.auth.id');
  assert.equal(users.deleteRule, 'id = @request.auth.id');
  const names = users.fields.map((f) => f.name);
  for (const n of ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified', 'name', 'avatar', 'created', 'updated']) {
    assert.ok(names.includes(n), `users has field ${n} (got ${names})`);
  }
  assert.equal(users.fields.find((f) => f.name === 'avatar').type, 'file');
  assert.equal(users.fields.find((f) => f.name === 'password').hidden, true);
  assert.equal(users.fields.find((f) => f.name === 'tokenKey').hidden, true);

  const sus = await su.collections.getOne('_superusers');
  assert.equal(sus.id, 'pbc_3142635823');
  assert.equal(sus.type, 'auth');
  assert.equal(sus.system, true);
  assert.equal(sus.listRule, null);
});

test('create, get, list, update and delete collections, with a field of every type', async () => {
  const su = srv.superuser;
  const users = await su.collections.getOne('users');
  const tags = await su.collections.create({
    name: 'tags',
    type: 'base',
    fields: [{ name: 'name', type: 'text', required: true }],
  });
  assert.match(tags.id, /^pbc_\d+$/);
  assert.equal(tags.name, 'tags');
  assert.equal(tags.type, 'base');
  assert.equal(tags.system, false);
  assert.equal(tags.listRule, null, 'rules default to null (superusers only)');
  assert.equal(tags.createRule, null);
  assert.match(tags.created, DATE_RE);
  assert.match(tags.updated, DATE_RE);
  const idField = tags.fields.find((f) => f.name === 'id');
  assert.ok(idField, 'the id field is added');
  assert.equal(idField.type, 'text');
  assert.equal(idField.primaryKey, true);
  assert.equal(idField.system, true);

  const posts = await su.collections.create({
    name: 'posts',
    type: 'base',
    listRule: '',
    viewRule: 'id != ""',
    fields: postsFields(users.id, tags.id),
  });
  assert.match(posts.id, /^pbc_\d+$/);
  assert.notEqual(posts.id, tags.id);
  assert.equal(posts.listRule, '');
  assert.equal(posts.viewRule, 'id != ""');
  assert.equal(posts.createRule, null);
  const byName = Object.fromEntries(posts.fields.map((f) => [f.name, f]));
  const want = {
    id: 'text', title: 'text', slug: 'text', views: 'number', published: 'bool', contact: 'email',
    website: 'url', body: 'editor', publishedAt: 'date', status: 'select', categories: 'select',
    meta: 'json', author: 'relation', tags: 'relation', cover: 'file', created: 'autodate', updated: 'autodate',
  };
  assert.deepEqual(Object.fromEntries(Object.entries(byName).map(([k, f]) => [k, f.type])), want);
  for (const f of posts.fields) assert.equal(typeof f.id, 'string', `field ${f.name} has an id`);
  assert.equal(byName.title.required, true);
  assert.equal(byName.title.min, 3);
  assert.equal(byName.title.max, 100);
  assert.equal(byName.slug.pattern, '^[a-z0-9-]+$');
  assert.deepEqual(byName.status.values, ['draft', 'published', 'archived']);
  assert.equal(byName.status.maxSelect, 1);
  assert.equal(byName.categories.maxSelect, 3);
  assert.equal(byName.author.collectionId, '_pb_users_auth_');
  assert.equal(byName.author.maxSelect, 1);
  assert.equal(byName.tags.collectionId, tags.id);
  assert.equal(byName.tags.maxSelect, 10);
  assert.deepEqual(byName.cover.mimeTypes, ['image/png', 'text/plain']);
  assert.equal(byName.cover.maxSize, 1024 * 1024);
  assert.equal(byName.created.onCreate, true);
  assert.equal(byName.created.onUpdate, false);
  assert.equal(byName.updated.onUpdate, true);

  // get by name and by id
  const got = await su.collections.getOne('posts');
  assert.equal(got.id, posts.id);
  const gotById = await su.collections.getOne(posts.id);
  assert.equal(gotById.name, 'posts');
  assert.deepEqual(gotById.fields.map((f) => f.name), posts.fields.map((f) => f.name));

  // list with a filter and sort
  const list = await su.collections.getList(1, 50, { filter: "name = 'posts' || name = 'tags'", sort: 'name' });
  assert.equal(list.totalItems, 2);
  assert.deepEqual(list.items.map((c) => c.name), ['posts', 'tags']);
  const all = await su.collections.getFullList();
  const allNames = all.map((c) => c.name);
  for (const n of ['_superusers', 'users', 'posts', 'tags']) assert.ok(allNames.includes(n), `list has ${n}`);

  // update rules
  const updated = await su.collections.update('posts', { createRule: '@request.auth.id != ""', listRule: null });
  assert.equal(updated.createRule, '@request.auth.id != ""');
  assert.equal(updated.listRule, null);
  assert.equal(updated.viewRule, 'id != ""', 'fields not sent are unchanged');
  assert.equal(updated.fields.length, posts.fields.length);

  // an invalid rule -> 400
  const badRule = await expectStatus(su.collections.update('posts', { listRule: 'nosuchfield = 1' }), 400);
  assertFieldError(badRule, 'listRule', 'validation_invalid_rule');

  // rename the collection
  const renamed = await su.collections.update('tags', { name: 'labels' });
  assert.equal(renamed.name, 'labels');
  assert.equal(renamed.id, tags.id);
  await expectStatus(su.collections.getOne('tags'), 404);
  const back = await su.collections.update(tags.id, { name: 'tags' });
  assert.equal(back.name, 'tags');

  // delete: a collection referenced by a relation cannot be deleted; posts can
  await expectStatus(su.collections.delete('tags'), 400);
  assert.equal(await su.collections.delete('posts'), true);
  await expectStatus(su.collections.getOne('posts'), 404);
  await expectStatus(su.collection('posts').getList(1, 1), 404);
  assert.equal(await su.collections.delete('tags'), true);
});

test('a duplicate collection name is 400 on the name field', async () => {
  const su = srv.superuser;
  await su.collections.create({ name: 'dupname', type: 'base', fields: [{ name: 'x', type: 'text' }] });
  const dup = await expectStatus(su.collections.create({ name: 'dupname', type: 'base' }), 400);
  assertFieldError(dup, 'name', 'validation_collection_name_exists');
  const dupCase = await expectStatus(su.collections.create({ name: 'DupName', type: 'base' }), 400);
  assertFieldError(dupCase, 'name', 'validation_collection_name_exists');
});

test('system collections cannot be deleted', async () => {
  await expectStatus(srv.superuser.collections.delete('_superusers'), 400);
  const sus = await srv.superuser.collections.getOne('_superusers');
  assert.equal(sus.name, '_superusers');
});

test('unknown collection is 404', async () => {
  await expectStatus(srv.superuser.collections.getOne('no_such_collection'), 404);
  await expectStatus(srv.superuser.collections.update('no_such_collection', { listRule: '' }), 404);
  await expectStatus(srv.superuser.collections.delete('no_such_collection'), 404);
});

test('getScaffolds returns a default model per collection type', async () => {
  const scaffolds = await srv.superuser.collections.getScaffolds();
  for (const type of ['base', 'auth']) {
    assert.ok(scaffolds[type], `scaffold ${type} present`);
    assert.equal(scaffolds[type].type, type);
    assert.equal(scaffolds[type].name, '');
    assert.ok(Array.isArray(scaffolds[type].fields));
  }
  const baseNames = scaffolds.base.fields.map((f) => f.name);
  assert.ok(baseNames.includes('id'));
  const authNames = scaffolds.auth.fields.map((f) => f.name);
  for (const n of ['id', 'password', 'tokenKey', 'email', 'emailVisibility', 'verified']) {
    assert.ok(authNames.includes(n), `auth scaffold has ${n}`);
  }
  assert.ok(scaffolds.view, `scaffold view present (got ${Object.keys(scaffolds)})`);
  assert.equal(scaffolds.view.type, 'view');
  assert.equal(typeof scaffolds.view.viewQuery, 'string');
});

test('truncate deletes every record of a collection', async () => {
  const su = srv.superuser;
  await su.collections.create({ name: 'scratch', type: 'base', fields: [{ name: 'n', type: 'number' }] });
  for (let i = 0; i < 5; i++) await su.collection('scratch').create({ n: i });
  assert.equal((await su.collection('scratch').getList(1, 10)).totalItems, 5);
  assert.equal(await su.collections.truncate('scratch'), true);
  const after = await su.collection('scratch').getList(1, 10);
  assert.equal(after.totalItems, 0);
  assert.deepEqual(after.items, []);
  // the collection itself is still there and usable
  const rec = await su.collection('scratch').create({ n: 42 });
  assert.equal(rec.n, 42);
  await expectStatus(newClient(srv.url).collections.truncate('scratch'), 401);
});

test('import creates and updates collections and keeps the others', async () => {
  const su = srv.superuser;
  assert.equal(
    await su.collections.import(
      [
        { name: 'imported_a', type: 'base', listRule: '', fields: [{ name: 'label', type: 'text' }] },
        { name: 'imported_b', type: 'base', fields: [{ name: 'count', type: 'number' }] },
      ],
      false,
    ),
    true,
  );
  const a = await su.collections.getOne('imported_a');
  assert.equal(a.listRule, '');
  assert.ok(a.fields.some((f) => f.name === 'label' && f.type === 'text'));
  const b = await su.collections.getOne('imported_b');
  assert.ok(b.fields.some((f) => f.name === 'count' && f.type === 'number'));
  const rec = await su.collection('imported_a').create({ label: 'hello' });
  assert.equal(rec.label, 'hello');

  // re-import imported_a with an extra field: the existing data stays
  await su.collections.import(
    [{ name: 'imported_a', type: 'base', listRule: '', fields: [...a.fields, { name: 'extra', type: 'bool' }] }],
    false,
  );
  const again = await su.collection('imported_a').getOne(rec.id);
  assert.equal(again.label, 'hello');
  assert.equal(again.extra, false);
  // deleteMissing=false kept imported_b and the default collections
  await su.collections.getOne('imported_b');
  await su.collections.getOne('users');

  // invalid import (a bad field type) -> 400 and nothing changes
  await expectStatus(
    su.collections.import([{ name: 'imported_c', type: 'base', fields: [{ name: 'x', type: 'no_such_type' }] }], false),
    400,
  );
  await expectStatus(su.collections.getOne('imported_c'), 404);
});

test('schema changes keep the data: add, rename and remove a field', async () => {
  const su = srv.superuser;
  let coll = await su.collections.create({
    name: 'evolving',
    type: 'base',
    fields: [
      { name: 'a', type: 'text' },
      { name: 'b', type: 'number' },
      { name: 'c', type: 'bool' },
    ],
  });
  const r1 = await su.collection('evolving').create({ a: 'alpha', b: 7, c: true });
  const r2 = await su.collection('evolving').create({ a: 'beta', b: 8, c: false });

  // add a field
  coll = await su.collections.update('evolving', {
    fields: [...coll.fields, { name: 'd', type: 'text' }],
  });
  let got = await su.collection('evolving').getOne(r1.id);
  assert.deepEqual([got.a, got.b, got.c, got.d], ['alpha', 7, true, '']);

  // rename a -> title (same field id)
  coll = await su.collections.update('evolving', {
    fields: coll.fields.map((f) => (f.name === 'a' ? { ...f, name: 'title' } : f)),
  });
  got = await su.collection('evolving').getOne(r1.id);
  assert.equal(got.title, 'alpha');
  assert.equal('a' in got, false, 'the old name is gone');
  assert.equal(got.b, 7);

  // remove b
  coll = await su.collections.update('evolving', { fields: coll.fields.filter((f) => f.name !== 'b') });
  got = await su.collection('evolving').getOne(r2.id);
  assert.equal(got.title, 'beta');
  assert.equal(got.c, false);
  assert.equal('b' in got, false, 'the removed field is gone');
  const list = await su.collection('evolving').getFullList({ sort: 'title' });
  assert.deepEqual(list.map((r) => r.title), ['alpha', 'beta']);
  assert.deepEqual(list.map((r) => r.c), [true, false]);

  // the renamed field is usable in filters
  const found = await su.collection('evolving').getFirstListItem('title = "beta"');
  assert.equal(found.id, r2.id);
});

test('changing a field type is refused with 400 and the data is untouched', async () => {
  const su = srv.superuser;
  const coll = await su.collections.create({
    name: 'typed',
    type: 'base',
    fields: [{ name: 'n', type: 'number' }, { name: 's', type: 'text' }],
  });
  const rec = await su.collection('typed').create({ n: 5, s: 'x' });
  const idx = coll.fields.findIndex((f) => f.name === 'n');
  const err = await expectStatus(
    su.collections.update('typed', {
      fields: coll.fields.map((f) => (f.name === 'n' ? { id: f.id, name: 'n', type: 'text' } : f)),
    }),
    400,
  );
  assert.equal(err.response.data.fields?.[String(idx)]?.code, 'validation_field_type_change', JSON.stringify(err.response.data));
  const still = await su.collections.getOne('typed');
  assert.equal(still.fields.find((f) => f.name === 'n').type, 'number');
  const got = await su.collection('typed').getOne(rec.id);
  assert.equal(got.n, 5);
});

test('changing a collection type is refused with 400', async () => {
  const su = srv.superuser;
  await su.collections.create({ name: 'basekind', type: 'base', fields: [] });
  const err = await expectStatus(su.collections.update('basekind', { type: 'auth' }), 400);
  assertFieldError(err, 'type', 'validation_collection_type_change');
});

test('a unique index rejects duplicates with validation_not_unique', async () => {
  const su = srv.superuser;
  const coll = await su.collections.create({
    name: 'slugs',
    type: 'base',
    fields: [{ name: 'slug', type: 'text' }],
    indexes: ['CREATE UNIQUE INDEX idx_slugs_slug ON slugs (slug)'],
  });
  assert.equal(coll.indexes.length, 1);
  assert.match(coll.indexes[0], /CREATE UNIQUE INDEX/i);
  await su.collection('slugs').create({ slug: 'taken' });
  const err = await expectStatus(su.collection('slugs').create({ slug: 'taken' }), 400);
  assertFieldError(err, 'slug', 'validation_not_unique');
  assert.equal((await su.collection('slugs').getList(1, 10)).totalItems, 1);
});

// todo: runs and reports, but does not fail the run, until Basalt supports view collections
// (it answers 400 validation_unsupported_type today). Drop the todo option once it does.
test('a view collection lists rows from its query and is read-only', { todo: 'view collections are not supported yet' }, async () => {
  const su = srv.superuser;
  await su.collections.create({
    name: 'sources',
    type: 'base',
    listRule: '',
    fields: [{ name: 'title', type: 'text' }, { name: 'n', type: 'number' }],
  });
  for (const [title, n] of [['a', 1], ['b', 2], ['c', 3]]) await su.collection('sources').create({ title, n });
  const view = await su.collections.create({
    name: 'big_sources',
    type: 'view',
    listRule: '',
    viewRule: '',
    viewQuery: 'SELECT id, title, n FROM sources WHERE n >= 2',
  });
  assert.equal(view.type, 'view');
  assert.deepEqual(view.fields.map((f) => f.name).sort(), ['id', 'n', 'title']);
  const list = await srv.client().collection('big_sources').getFullList({ sort: 'n' });
  assert.deepEqual(list.map((r) => r.title), ['b', 'c']);
  assert.equal(list[0].collectionName, 'big_sources');
  const one = await srv.client().collection('big_sources').getOne(list[1].id);
  assert.equal(one.n, 3);
  const err = await su.collection('big_sources').create({ title: 'x' }).catch((e) => e);
  assert.ok([400, 403].includes(err.status), `create on a view is refused (got ${err.status})`);
});
