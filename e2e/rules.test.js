// API rules: owner rules act as filters (404 for others' rows), null rules are superuser-only (403),
// a failed create rule is 400, and expand respects the target collection's viewRule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.js';
import { expectStatus, createUser, sorted } from './lib/util.js';

let ann;
let bob;
const notes = {};

const OWNER = 'author = @request.auth.id';

const srv = useServer(async () => {
  const su = srv.superuser;
  ann = await createUser(srv, { name: 'Ann' });
  bob = await createUser(srv, { name: 'Bob' });

  await su.collections.create({
    name: 'secrets',
    type: 'base',
    // every rule null: superusers only
    fields: [{ name: 'value', type: 'text' }],
  });
  await su.collections.create({
    name: 'private_docs',
    type: 'base',
    listRule: 'owner = @request.auth.id',
    viewRule: 'owner = @request.auth.id',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
  const secretsId = (await su.collections.getOne('secrets')).id;
  const docsId = (await su.collections.getOne('private_docs')).id;
  await su.collections.create({
    name: 'notes',
    type: 'base',
    listRule: OWNER,
    viewRule: OWNER,
    createRule: `@request.auth.id != "" && ${OWNER}`,
    updateRule: OWNER,
    deleteRule: OWNER,
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'secret', type: 'relation', collectionId: secretsId, maxSelect: 1 },
      { name: 'doc', type: 'relation', collectionId: docsId, maxSelect: 1 },
    ],
  });

  const secret = await su.collection('secrets').create({ value: 'classified' });
  const annDoc = await su.collection('private_docs').create({ title: 'ann doc', owner: ann.record.id });
  const bobDoc = await su.collection('private_docs').create({ title: 'bob doc', owner: bob.record.id });
  notes.ann1 = (await ann.pb.collection('notes').create({
    title: 'ann one', author: ann.record.id, secret: secret.id, doc: annDoc.id,
  })).id;
  notes.ann2 = (await ann.pb.collection('notes').create({ title: 'ann two', author: ann.record.id, doc: bobDoc.id })).id;
  notes.bob1 = (await bob.pb.collection('notes').create({ title: 'bob one', author: bob.record.id })).id;
});

test('list shows only the caller\'s own rows; anonymous sees none (200, not 403)', async () => {
  const annList = await ann.pb.collection('notes').getList(1, 50);
  assert.equal(annList.totalItems, 2);
  assert.deepEqual(sorted(annList.items.map((r) => r.id)), sorted([notes.ann1, notes.ann2]));

  const bobList = await bob.pb.collection('notes').getList(1, 50);
  assert.equal(bobList.totalItems, 1);
  assert.deepEqual(bobList.items.map((r) => r.id), [notes.bob1]);

  const anonList = await srv.client().collection('notes').getList(1, 50);
  assert.equal(anonList.totalItems, 0);
  assert.deepEqual(anonList.items, []);

  // a filter cannot widen the rule
  const sneaky = await bob.pb.collection('notes').getList(1, 50, { filter: `author = '${ann.record.id}'` });
  assert.equal(sneaky.totalItems, 0);

  const all = await srv.superuser.collection('notes').getList(1, 50);
  assert.equal(all.totalItems, 3, 'superusers bypass the rules');
});

test('view, update and delete of another user\'s row are 404, and change nothing', async () => {
  await expectStatus(bob.pb.collection('notes').getOne(notes.ann1), 404);
  await expectStatus(bob.pb.collection('notes').update(notes.ann1, { title: 'hijacked' }), 404);
  await expectStatus(bob.pb.collection('notes').delete(notes.ann1), 404);
  await expectStatus(srv.client().collection('notes').getOne(notes.ann1), 404);
  await expectStatus(srv.client().collection('notes').delete(notes.ann1), 404);
  const still = await ann.pb.collection('notes').getOne(notes.ann1);
  assert.equal(still.title, 'ann one');
});

test('the owner can view, update and delete their row', async () => {
  const rec = await ann.pb.collection('notes').create({ title: 'temp', author: ann.record.id });
  assert.equal((await ann.pb.collection('notes').getOne(rec.id)).title, 'temp');
  const upd = await ann.pb.collection('notes').update(rec.id, { title: 'temp2' });
  assert.equal(upd.title, 'temp2');
  assert.equal(await ann.pb.collection('notes').delete(rec.id), true);
  await expectStatus(srv.superuser.collection('notes').getOne(rec.id), 404);
});

test('an update that would move the row out of the rule is still checked on the current row', async () => {
  // Bob cannot take over Ann's row by sending author=bob
  await expectStatus(bob.pb.collection('notes').update(notes.ann2, { author: bob.record.id }), 404);
  assert.equal((await srv.superuser.collection('notes').getOne(notes.ann2)).author, ann.record.id);
});

test('a failed create rule is 400 and creates nothing', async () => {
  const before = (await srv.superuser.collection('notes').getList(1, 1)).totalItems;
  await expectStatus(srv.client().collection('notes').create({ title: 'anon', author: ann.record.id }), 400);
  await expectStatus(bob.pb.collection('notes').create({ title: 'forged', author: ann.record.id }), 400);
  const after = (await srv.superuser.collection('notes').getList(1, 1)).totalItems;
  assert.equal(after, before);
});

test('null rules are superuser-only: 403 for users and anonymous', async () => {
  for (const pb of [srv.client(), ann.pb]) {
    const err = await expectStatus(pb.collection('secrets').getList(1, 10), 403);
    assert.equal(err.response.message, 'Only superusers can perform this action.');
    await expectStatus(pb.collection('secrets').getOne('aaaaaaaaaaaaaaa'), 403);
    await expectStatus(pb.collection('secrets').create({ value: 'x' }), 403);
    await expectStatus(pb.collection('secrets').update('aaaaaaaaaaaaaaa', { value: 'x' }), 403);
    await expectStatus(pb.collection('secrets').delete('aaaaaaaaaaaaaaa'), 403);
  }
  const list = await srv.superuser.collection('secrets').getList(1, 10);
  assert.equal(list.totalItems, 1);
});

test('expand skips related records that the target viewRule hides', async () => {
  // secrets has a null viewRule: never expanded for a user
  const rec = await ann.pb.collection('notes').getOne(notes.ann1, { expand: 'secret,doc,author' });
  assert.ok(rec.secret, 'the relation id itself is still returned');
  assert.equal(rec.expand?.secret, undefined);
  assert.equal(rec.expand?.doc?.title, 'ann doc', 'own doc expands');
  assert.equal(rec.expand?.author?.id, ann.record.id, 'own user record expands');

  // ann2 links to Bob's private doc: hidden from Ann
  const rec2 = await ann.pb.collection('notes').getOne(notes.ann2, { expand: 'doc' });
  assert.ok(rec2.doc);
  assert.equal(rec2.expand?.doc, undefined);

  // a superuser sees everything expanded
  const su = await srv.superuser.collection('notes').getOne(notes.ann1, { expand: 'secret,doc' });
  assert.equal(su.expand.secret.value, 'classified');
  assert.equal(su.expand.doc.title, 'ann doc');
});

test('users collection: each user sees only themself', async () => {
  const list = await ann.pb.collection('users').getList(1, 50);
  assert.deepEqual(list.items.map((u) => u.id), [ann.record.id]);
  await expectStatus(ann.pb.collection('users').getOne(bob.record.id), 404);
  await expectStatus(ann.pb.collection('users').update(bob.record.id, { name: 'pwned' }), 404);
  await expectStatus(ann.pb.collection('users').delete(bob.record.id), 404);
  const anon = await srv.client().collection('users').getList(1, 50);
  assert.equal(anon.totalItems, 0);
  assert.equal((await srv.superuser.collection('users').getOne(bob.record.id)).name, 'Bob');
});

test('rules that read @request.body and @request.auth fields', async () => {
  const su = srv.superuser;
  await su.collections.create({
    name: 'guarded',
    type: 'base',
    listRule: '@request.auth.id != ""',
    viewRule: '@request.auth.name = "Ann"',
    createRule: '@request.auth.id != "" && @request.body.level:isset = false',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'level', type: 'number' },
    ],
  });
  const rec = await ann.pb.collection('guarded').create({ title: 'ok' });
  await expectStatus(ann.pb.collection('guarded').create({ title: 'no', level: 5 }), 400);
  assert.equal((await ann.pb.collection('guarded').getOne(rec.id)).title, 'ok');
  await expectStatus(bob.pb.collection('guarded').getOne(rec.id), 404);
  assert.equal((await bob.pb.collection('guarded').getList(1, 10)).totalItems, 1);
  assert.equal((await srv.client().collection('guarded').getList(1, 10)).totalItems, 0);
});
