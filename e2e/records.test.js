// Record CRUD through the SDK: create/getOne/update/delete, body modifiers, validation errors and 404s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.js';
import { DATE_RE, ID_RE, expectStatus, assertFieldError, createUser } from './lib/util.js';
import { createTagsAndPosts } from './lib/schema.js';

let cols;
let tagIds;
let author;

const srv = useServer(async () => {
  cols = await createTagsAndPosts(srv.superuser);
  tagIds = [];
  for (const name of ['t0', 't1', 't2', 't3']) {
    tagIds.push((await srv.superuser.collection('tags').create({ name })).id);
  }
  author = await createUser(srv, { name: 'Ann' });
});

test('create returns the full record with defaults for unset fields', async () => {
  const pb = srv.client(); // posts is public
  const rec = await pb.collection('posts').create({ title: 'Hello world' });
  assert.match(rec.id, ID_RE);
  assert.equal(rec.collectionId, cols.posts.id);
  assert.equal(rec.collectionName, 'posts');
  assert.equal(rec.title, 'Hello world');
  assert.equal(rec.slug, '');
  assert.equal(rec.views, 0);
  assert.equal(rec.published, false);
  assert.equal(rec.contact, '');
  assert.equal(rec.website, '');
  assert.equal(rec.body, '');
  assert.equal(rec.publishedAt, '');
  assert.equal(rec.status, '', 'single select defaults to ""');
  assert.deepEqual(rec.categories, [], 'multi select defaults to []');
  assert.equal(rec.meta, null, 'json defaults to null');
  assert.equal(rec.author, '', 'single relation defaults to ""');
  assert.deepEqual(rec.tags, [], 'multi relation defaults to []');
  assert.equal(rec.cover, '', 'single file defaults to ""');
  assert.match(rec.created, DATE_RE);
  assert.match(rec.updated, DATE_RE);
  assert.equal('expand' in rec, false, 'no expand key when nothing was expanded');
  const age = Date.now() - Date.parse(rec.created.replace(' ', 'T'));
  assert.ok(age >= -5000 && age < 60_000, `created is now-ish (${rec.created})`);
});

test('create with every field type, then getOne returns the same values', async () => {
  const su = srv.superuser;
  const data = {
    title: 'Full record',
    slug: 'full-record',
    views: 12.5,
    published: true,
    contact: 'ann@example.com',
    website: 'https://example.com/x',
    body: '<p>Hello <strong>world</strong></p>',
    publishedAt: '2024-05-06 07:08:09.123Z',
    status: 'published',
    categories: ['a', 'c'],
    meta: { level: 3, nested: { ok: true }, list: [1, 'two'] },
    author: author.record.id,
    tags: [tagIds[1], tagIds[0]],
  };
  const rec = await su.collection('posts').create(data);
  for (const [k, v] of Object.entries(data)) assert.deepEqual(rec[k], v, `created ${k}`);
  const got = await su.collection('posts').getOne(rec.id);
  for (const [k, v] of Object.entries(data)) assert.deepEqual(got[k], v, `fetched ${k}`);
  assert.equal(got.created, rec.created);

  // a date given with a T separator and no millis is normalized
  const d = await su.collection('posts').create({ title: 'Date form', publishedAt: '2024-05-06T07:08:09Z' });
  assert.equal(d.publishedAt, '2024-05-06 07:08:09.000Z');
});

test('a custom id is accepted when it is 15 [a-z0-9] characters, refused otherwise', async () => {
  const su = srv.superuser;
  const rec = await su.collection('posts').create({ id: 'customid0000001', title: 'Custom id' });
  assert.equal(rec.id, 'customid0000001');
  const dup = await expectStatus(su.collection('posts').create({ id: 'customid0000001', title: 'Again' }), 400);
  assert.ok(dup.response.data.id, 'duplicate id reported on the id field');
  const bad = await expectStatus(su.collection('posts').create({ id: 'short', title: 'Bad id' }), 400);
  assert.ok(bad.response.data.id, 'invalid id reported on the id field');
});

test('update changes only the sent fields and bumps updated, not created', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').create({ title: 'Before', views: 3, categories: ['b'] });
  await new Promise((r) => setTimeout(r, 20));
  const upd = await pb.collection('posts').update(rec.id, { title: 'After', published: true });
  assert.equal(upd.id, rec.id);
  assert.equal(upd.title, 'After');
  assert.equal(upd.published, true);
  assert.equal(upd.views, 3, 'unsent field kept');
  assert.deepEqual(upd.categories, ['b']);
  assert.equal(upd.created, rec.created, 'created (onUpdate=false) unchanged');
  assert.ok(upd.updated > rec.updated, `updated moved forward (${rec.updated} -> ${upd.updated})`);
  const got = await pb.collection('posts').getOne(rec.id);
  assert.equal(got.title, 'After');
  assert.equal(got.updated, upd.updated);
});

test('delete returns true, then the record is 404', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').create({ title: 'Doomed' });
  assert.equal(await pb.collection('posts').delete(rec.id), true);
  await expectStatus(pb.collection('posts').getOne(rec.id), 404);
  await expectStatus(pb.collection('posts').delete(rec.id), 404);
  await expectStatus(pb.collection('posts').update(rec.id, { title: 'Ghost' }), 404);
});

test('number modifiers views+ and views- add and subtract', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').create({ title: 'Counter', views: 1 });
  let upd = await pb.collection('posts').update(rec.id, { 'views+': 5 });
  assert.equal(upd.views, 6);
  upd = await pb.collection('posts').update(rec.id, { 'views-': 2 });
  assert.equal(upd.views, 4);
  upd = await pb.collection('posts').update(rec.id, { 'views+': 0.5 });
  assert.equal(upd.views, 4.5);
  assert.equal((await pb.collection('posts').getOne(rec.id)).views, 4.5);
});

test('multi relation modifiers: tags+ appends, +tags prepends, tags- removes', async () => {
  const pb = srv.client();
  const [t0, t1, t2, t3] = tagIds;
  const rec = await pb.collection('posts').create({ title: 'Tagged', tags: [t1] });
  let upd = await pb.collection('posts').update(rec.id, { 'tags+': t2 });
  assert.deepEqual(upd.tags, [t1, t2]);
  upd = await pb.collection('posts').update(rec.id, { '+tags': t0 });
  assert.deepEqual(upd.tags, [t0, t1, t2]);
  upd = await pb.collection('posts').update(rec.id, { 'tags+': [t3] });
  assert.deepEqual(upd.tags, [t0, t1, t2, t3]);
  upd = await pb.collection('posts').update(rec.id, { 'tags-': [t1, t3] });
  assert.deepEqual(upd.tags, [t0, t2]);
  upd = await pb.collection('posts').update(rec.id, { 'tags-': t0 });
  assert.deepEqual(upd.tags, [t2]);
  assert.deepEqual((await pb.collection('posts').getOne(rec.id)).tags, [t2]);
});

test('multi select modifiers: categories+ and categories-', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').create({ title: 'Cats', categories: ['a'] });
  let upd = await pb.collection('posts').update(rec.id, { 'categories+': 'c' });
  assert.deepEqual(upd.categories, ['a', 'c']);
  upd = await pb.collection('posts').update(rec.id, { 'categories-': 'a' });
  assert.deepEqual(upd.categories, ['c']);
});

test('required field missing: 400 with validation_required on the field', async () => {
  const pb = srv.client();
  const err = await expectStatus(pb.collection('posts').create({ views: 1 }), 400);
  assertFieldError(err, 'title', 'validation_required');
  assert.equal(err.response.message, 'Failed to create record.');
  // nothing was created
  const list = await srv.superuser.collection('posts').getList(1, 1, { filter: 'views = 1 && title = ""' });
  assert.equal(list.totalItems, 0);
});

test('field constraints give their validation codes', async () => {
  const pb = srv.client();
  const cases = [
    [{ title: 'ab' }, 'title', 'validation_min_text_constraint'],
    [{ title: 'x'.repeat(101) }, 'title', 'validation_max_text_constraint'],
    [{ title: 'Good', slug: 'Not A Slug!' }, 'slug', 'validation_invalid_format'],
    [{ title: 'Good', views: -1 }, 'views', 'validation_min_number_constraint'],
    [{ title: 'Good', contact: 'not-an-email' }, 'contact', 'validation_is_email'],
    [{ title: 'Good', website: 'not a url' }, 'website', 'validation_is_url'],
    [{ title: 'Good', status: 'bogus' }, 'status', 'validation_invalid_value'],
    [{ title: 'Good', categories: ['a', 'zzz'] }, 'categories', 'validation_invalid_value'],
    [{ title: 'Good', author: 'nosuchuser0000' }, 'author', 'validation_missing_rel_records'],
    [{ title: 'Good', tags: ['nosuchtag000000'] }, 'tags', 'validation_missing_rel_records'],
  ];
  for (const [body, field, code] of cases) {
    const err = await expectStatus(pb.collection('posts').create(body), 400);
    assertFieldError(err, field, code);
  }
});

test('several invalid fields are reported together', async () => {
  const err = await expectStatus(
    srv.client().collection('posts').create({ contact: 'nope', views: -5 }),
    400,
  );
  assert.deepEqual(Object.keys(err.response.data).sort(), ['contact', 'title', 'views']);
});

test('update validation errors are 400 and leave the record unchanged', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').create({ title: 'Valid', views: 2 });
  const err = await expectStatus(pb.collection('posts').update(rec.id, { title: '', views: 9 }), 400);
  assertFieldError(err, 'title', 'validation_required');
  assert.equal(err.response.message, 'Failed to update record.');
  const got = await pb.collection('posts').getOne(rec.id);
  assert.equal(got.title, 'Valid');
  assert.equal(got.views, 2);
});

test('unknown collection is 404 for every record operation', async () => {
  const pb = srv.superuser;
  await expectStatus(pb.collection('no_such_collection').getList(1, 10), 404);
  await expectStatus(pb.collection('no_such_collection').getOne('aaaaaaaaaaaaaaa'), 404);
  await expectStatus(pb.collection('no_such_collection').create({ title: 'x' }), 404);
  await expectStatus(pb.collection('no_such_collection').update('aaaaaaaaaaaaaaa', { title: 'x' }), 404);
  await expectStatus(pb.collection('no_such_collection').delete('aaaaaaaaaaaaaaa'), 404);
});

test('missing and malformed record ids are 404', async () => {
  const pb = srv.client();
  const err = await expectStatus(pb.collection('posts').getOne('aaaaaaaaaaaaaaa'), 404);
  assert.deepEqual(err.response, { data: {}, message: "The requested resource wasn't found.", status: 404 });
  await expectStatus(pb.collection('posts').getOne('not-a-valid-id!!'), 404);
  await expectStatus(pb.collection('posts').getOne("x' OR '1'='1"), 404);
  await expectStatus(pb.collection('posts').update('bad id', { title: 'xyz' }), 404);
  await expectStatus(pb.collection('posts').delete('%00'), 404);
});

test('records are addressable by collection id as well as name', async () => {
  const pb = srv.client();
  const rec = await pb.collection(cols.posts.id).create({ title: 'By id' });
  assert.equal(rec.collectionName, 'posts');
  const got = await pb.collection('posts').getOne(rec.id);
  assert.equal(got.title, 'By id');
});

test('json field stores any JSON value', async () => {
  const pb = srv.client();
  for (const meta of [42, 'text', [1, 2], { a: { b: null } }, true]) {
    const rec = await pb.collection('posts').create({ title: 'Json', meta });
    assert.deepEqual(rec.meta, meta);
    assert.deepEqual((await pb.collection('posts').getOne(rec.id)).meta, meta);
  }
});

test('create and update responses honour expand and fields', async () => {
  const pb = srv.superuser;
  const rec = await pb.collection('posts').create(
    { title: 'Expanded', author: author.record.id, tags: [tagIds[2]] },
    { expand: 'author,tags' },
  );
  assert.equal(rec.expand.author.name, 'Ann');
  assert.deepEqual(rec.expand.tags.map((t) => t.name), ['t2']);
  const upd = await pb.collection('posts').update(rec.id, { views: 3 }, { fields: 'id,views' });
  assert.deepEqual(upd, { id: rec.id, views: 3 });
});

test('autodate fields cannot be set by the client; unknown keys are ignored', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').create({
    title: 'Sneaky dates',
    created: '2000-01-01 00:00:00.000Z',
    updated: '2000-01-01 00:00:00.000Z',
    nosuchfield: 'ignored',
  });
  assert.notEqual(rec.created, '2000-01-01 00:00:00.000Z');
  assert.ok(rec.created > '2020', `created is now-ish: ${rec.created}`);
  assert.equal('nosuchfield' in rec, false);
  const upd = await pb.collection('posts').update(rec.id, { created: '2001-01-01 00:00:00.000Z' });
  assert.equal(upd.created, rec.created);
});

test('multipart bodies carry strings that are cast to the field types', async () => {
  const fd = new FormData();
  fd.append('title', 'From a form');
  fd.append('views', '7');
  fd.append('published', 'true');
  fd.append('categories', 'a');
  fd.append('categories', 'b');
  fd.append('tags', tagIds[0]);
  fd.append('tags', tagIds[1]);
  const rec = await srv.client().collection('posts').create(fd);
  assert.equal(rec.title, 'From a form');
  assert.equal(rec.views, 7);
  assert.equal(rec.published, true);
  assert.deepEqual(rec.categories, ['a', 'b']);
  assert.deepEqual(rec.tags, [tagIds[0], tagIds[1]]);
});

test('deleting a referenced record removes it from non-cascading relations', async () => {
  const su = srv.superuser;
  const tag = await su.collection('tags').create({ name: 'short-lived' });
  const rec = await su.collection('posts').create({ title: 'Refs', tags: [tagIds[0], tag.id] });
  await su.collection('tags').delete(tag.id);
  assert.deepEqual((await su.collection('posts').getOne(rec.id)).tags, [tagIds[0]]);
});

test('cascadeDelete removes dependent records; a required relation blocks the delete', async () => {
  const su = srv.superuser;
  await su.collections.create({
    name: 'comments',
    type: 'base',
    fields: [
      { name: 'text', type: 'text' },
      { name: 'post', type: 'relation', collectionId: cols.posts.id, maxSelect: 1, cascadeDelete: true },
    ],
  });
  await su.collections.create({
    name: 'pins',
    type: 'base',
    fields: [{ name: 'post', type: 'relation', collectionId: cols.posts.id, maxSelect: 1, required: true }],
  });
  const post = await su.collection('posts').create({ title: 'Has comments' });
  const c1 = await su.collection('comments').create({ text: 'one', post: post.id });
  const c2 = await su.collection('comments').create({ text: 'two', post: post.id });
  await su.collection('posts').delete(post.id);
  await expectStatus(su.collection('comments').getOne(c1.id), 404);
  await expectStatus(su.collection('comments').getOne(c2.id), 404);

  const pinned = await su.collection('posts').create({ title: 'Pinned' });
  await su.collection('pins').create({ post: pinned.id });
  await expectStatus(su.collection('posts').delete(pinned.id), 400);
  assert.equal((await su.collection('posts').getOne(pinned.id)).title, 'Pinned');
});
