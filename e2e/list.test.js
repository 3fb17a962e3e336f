// Listing and searching records: pagination, getFullList, getFirstListItem, every filter operator,
// sort, expand (single, multi, nested, back-relation), fields picking and superuser-only filters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.js';
import { expectStatus, createUser } from './lib/util.js';
import { createTagsAndPosts } from './lib/schema.js';

const tag = {};
const post = {};
let ann;
let bob;

const srv = useServer(async () => {
  const su = srv.superuser;
  await createTagsAndPosts(su);
  for (const name of ['red', 'green', 'blue']) tag[name] = (await su.collection('tags').create({ name })).id;
  ann = await createUser(srv, { name: 'Ann' });
  bob = await createUser(srv, { name: 'Bob' });
  const rows = {
    p1: {
      title: 'Alpha', views: 10, published: true, status: 'published', categories: ['a', 'b'],
      tags: [tag.red, tag.green], author: ann.record.id, meta: { level: 3, kind: 'x' },
      publishedAt: '2020-01-01 00:00:00.000Z', body: '<p>Hello <b>world</b> and more</p>',
    },
    p2: {
      title: "beta it's", views: 20, published: false, status: 'draft', categories: ['b'],
      tags: [tag.green], author: bob.record.id, meta: { level: 1, kind: 'y' },
      publishedAt: '2999-01-01 00:00:00.000Z',
    },
    p3: { title: 'Gamma', views: 30, published: true },
    p4: {
      title: 'delta', views: 20, published: false, status: 'archived', categories: ['c'],
      tags: [tag.blue], author: ann.record.id, meta: { level: 5, kind: 'x' },
    },
  };
  for (const [key, data] of Object.entries(rows)) post[key] = (await su.collection('posts').create(data)).id;
});

// The data set the filters run on (by views, then title: p1, p2, p4, p3).
const keyOf = (id) => Object.keys(post).find((k) => post[k] === id) ?? id;
async function titlesFor(filter, pb = srv.superuser) {
  const items = await pb.collection('posts').getFullList({ filter, sort: 'title' });
  return items.map((r) => keyOf(r.id)).sort();
}

test('getList pagination numbers are exact', async () => {
  const pb = srv.client();
  const p1 = await pb.collection('posts').getList(1, 3, { sort: 'views,title' });
  assert.equal(p1.page, 1);
  assert.equal(p1.perPage, 3);
  assert.equal(p1.totalItems, 4);
  assert.equal(p1.totalPages, 2);
  assert.deepEqual(p1.items.map((r) => keyOf(r.id)), ['p1', 'p2', 'p4']);
  const p2 = await pb.collection('posts').getList(2, 3, { sort: 'views,title' });
  assert.equal(p2.page, 2);
  assert.equal(p2.totalItems, 4);
  assert.equal(p2.totalPages, 2);
  assert.deepEqual(p2.items.map((r) => keyOf(r.id)), ['p3']);
  const p3 = await pb.collection('posts').getList(3, 3, { sort: 'views,title' });
  assert.equal(p3.page, 3);
  assert.deepEqual(p3.items, []);
  assert.equal(p3.totalItems, 4);

  const filtered = await pb.collection('posts').getList(1, 1, { filter: 'views = 20' });
  assert.equal(filtered.totalItems, 2);
  assert.equal(filtered.totalPages, 2);
  assert.equal(filtered.items.length, 1);

  const none = await pb.collection('posts').getList(1, 10, { filter: 'views = 999' });
  assert.deepEqual([none.page, none.perPage, none.totalItems, none.totalPages, none.items.length], [1, 10, 0, 0, 0]);
});

test('getList with skipTotal gives -1 for totalItems and totalPages', async () => {
  const res = await srv.client().collection('posts').getList(1, 2, { skipTotal: true, sort: 'views,title' });
  assert.equal(res.totalItems, -1);
  assert.equal(res.totalPages, -1);
  assert.equal(res.page, 1);
  assert.equal(res.perPage, 2);
  assert.deepEqual(res.items.map((r) => keyOf(r.id)), ['p1', 'p2']);
});

test('default page is 1 and perPage 30; perPage is capped at 1000', async () => {
  const res = await srv.client().send('/api/collections/posts/records', {});
  assert.equal(res.page, 1);
  assert.equal(res.perPage, 30);
  assert.equal(res.totalItems, 4);
  const big = await srv.client().collection('posts').getList(1, 5000);
  assert.equal(big.perPage, 1000);
});

test('getFullList reads more than 1000 records in batches', async () => {
  const su = srv.superuser;
  await su.collections.create({ name: 'bulk', type: 'base', listRule: '', fields: [{ name: 'n', type: 'number' }] });
  const total = 1234;
  for (let start = 0; start < total; start += 50) {
    const chunk = [];
    for (let n = start; n < Math.min(start + 50, total); n++) chunk.push(su.collection('bulk').create({ n }));
    await Promise.all(chunk);
  }
  const all = await srv.client().collection('bulk').getFullList({ sort: 'n' });
  assert.equal(all.length, total);
  assert.deepEqual(all.map((r) => r.n), Array.from({ length: total }, (_, i) => i));
  assert.equal(new Set(all.map((r) => r.id)).size, total, 'no duplicates across batches');

  const desc = await srv.client().collection('bulk').getFullList({ sort: '-n', batch: 500, filter: 'n >= 100' });
  assert.equal(desc.length, total - 100);
  assert.equal(desc[0].n, total - 1);
  assert.equal(desc.at(-1).n, 100);

  const page = await srv.client().collection('bulk').getList(2, 1000);
  assert.equal(page.totalItems, total);
  assert.equal(page.totalPages, 2);
  assert.equal(page.items.length, total - 1000);
});

test('getFirstListItem returns the first match or 404', async () => {
  const pb = srv.client();
  const rec = await pb.collection('posts').getFirstListItem('views >= 20', { sort: '-views' });
  assert.equal(rec.id, post.p3);
  // the SDK turns an empty page into its own 404 error
  await assert.rejects(pb.collection('posts').getFirstListItem('views = 12345'), (err) => err.status === 404);
});

test('comparison operators', async () => {
  assert.deepEqual(await titlesFor('views = 20'), ['p2', 'p4']);
  assert.deepEqual(await titlesFor('views != 20'), ['p1', 'p3']);
  assert.deepEqual(await titlesFor('views > 20'), ['p3']);
  assert.deepEqual(await titlesFor('views >= 20'), ['p2', 'p3', 'p4']);
  assert.deepEqual(await titlesFor('views < 20'), ['p1']);
  assert.deepEqual(await titlesFor('views <= 20'), ['p1', 'p2', 'p4']);
  assert.deepEqual(await titlesFor("title = 'Gamma'"), ['p3']);
  assert.deepEqual(await titlesFor('title = "Gamma"'), ['p3']);
  assert.deepEqual(await titlesFor("status != 'draft'"), ['p1', 'p3', 'p4']);
});

test('like operators ~ and !~ (case-insensitive, auto-wrapped in %)', async () => {
  assert.deepEqual(await titlesFor("title ~ 'amm'"), ['p3']);
  assert.deepEqual(await titlesFor("title ~ 'ALP'"), ['p1']);
  assert.deepEqual(await titlesFor("title !~ 'ta'"), ['p1', 'p3']);
  assert.deepEqual(await titlesFor("title ~ 'a%'"), ['p1'], 'explicit % is not wrapped: starts with a');
});

test('any-of operator ?= on a multi relation field', async () => {
  assert.deepEqual(await titlesFor(`tags ?= '${tag.green}'`), ['p1', 'p2']);
  assert.deepEqual(await titlesFor(`tags ?= '${tag.blue}'`), ['p4']);
});

test('any-of operator ?= on a multi select field', async () => {
  assert.deepEqual(await titlesFor("categories ?= 'b'"), ['p1', 'p2']);
  assert.deepEqual(await titlesFor("categories ?= 'c'"), ['p4']);
});

test('any-of operators through a relation path', async () => {
  assert.deepEqual(await titlesFor("tags.name ?= 'red'"), ['p1']);
  assert.deepEqual(await titlesFor("tags.name ?~ 'e'"), ['p1', 'p2', 'p4']);
});

test('&&, || and parentheses', async () => {
  assert.deepEqual(await titlesFor('published = true && views > 10'), ['p3']);
  assert.deepEqual(await titlesFor('views = 10 || views = 30'), ['p1', 'p3']);
  assert.deepEqual(await titlesFor('(views = 20 || views = 30) && published = true'), ['p3']);
  assert.deepEqual(await titlesFor('views = 20 || (views = 30 && published = false)'), ['p2', 'p4']);
  // && binds tighter than ||, as in SQL
  assert.deepEqual(await titlesFor('views = 10 || views = 20 && published = true'), ['p1']);
});

test('pb.filter binds parameters safely', async () => {
  const pb = srv.client();
  assert.deepEqual(await titlesFor(pb.filter('title = {:t}', { t: "beta it's" })), ['p2']);
  assert.deepEqual(await titlesFor(pb.filter('views > {:v} && published = {:p}', { v: 15, p: true })), ['p3']);
  assert.deepEqual(await titlesFor(pb.filter('title = {:t}', { t: "x' || '1' = '1" })), []);
});

test('null, true and false literals', async () => {
  assert.deepEqual(await titlesFor('author = null'), ['p3']);
  assert.deepEqual(await titlesFor('author != null'), ['p1', 'p2', 'p4']);
  assert.deepEqual(await titlesFor("author = ''"), ['p3'], "null and '' are the same for =");
  assert.deepEqual(await titlesFor('meta = null'), ['p3']);
  assert.deepEqual(await titlesFor('published = true'), ['p1', 'p3']);
  assert.deepEqual(await titlesFor('published = false'), ['p2', 'p4']);
  assert.deepEqual(await titlesFor('publishedAt = null'), ['p3', 'p4']);
});

test('@now and other date macros', async () => {
  assert.deepEqual(await titlesFor('publishedAt > @now'), ['p2']);
  assert.deepEqual(await titlesFor('publishedAt < @now && publishedAt != null'), ['p1']);
  assert.deepEqual(await titlesFor('created <= @now'), ['p1', 'p2', 'p3', 'p4']);
  assert.deepEqual(await titlesFor('created > @tomorrow'), []);
  assert.deepEqual(await titlesFor('publishedAt > @yearEnd'), ['p2']);
});

test(':length and :lower modifiers', async () => {
  assert.deepEqual(await titlesFor('tags:length = 2'), ['p1']);
  assert.deepEqual(await titlesFor('tags:length > 0'), ['p1', 'p2', 'p4']);
  assert.deepEqual(await titlesFor('categories:length = 0'), ['p3']);
  assert.deepEqual(await titlesFor("title:lower = 'alpha'"), ['p1']);
  assert.deepEqual(await titlesFor("title:lower = 'gamma'"), ['p3']);
});

test('JSON paths into a json field', async () => {
  assert.deepEqual(await titlesFor('meta.level > 2'), ['p1', 'p4']);
  assert.deepEqual(await titlesFor("meta.kind = 'x'"), ['p1', 'p4']);
  assert.deepEqual(await titlesFor('meta.level = 1'), ['p2']);
  assert.deepEqual(await titlesFor('meta.missing = null'), ['p1', 'p2', 'p3', 'p4']);
});

test('relation paths in filters', async () => {
  assert.deepEqual(await titlesFor("author.name = 'Ann'"), ['p1', 'p4']);
  assert.deepEqual(await titlesFor("author.name != 'Ann'"), ['p2', 'p3']);
});

test('an invalid filter is 400', async () => {
  const pb = srv.client();
  await expectStatus(pb.collection('posts').getList(1, 10, { filter: 'views >' }), 400);
  await expectStatus(pb.collection('posts').getList(1, 10, { filter: 'nosuchfield = 1' }), 400);
  await expectStatus(pb.collection('posts').getList(1, 10, { filter: "(title = 'x'" }), 400);
  await expectStatus(pb.collection('posts').getList(1, 10, { sort: 'nosuchfield' }), 400);
});

test('sort by several keys asc and desc', async () => {
  const pb = srv.client();
  const a = await pb.collection('posts').getFullList({ sort: '-views,title' });
  assert.deepEqual(a.map((r) => keyOf(r.id)), ['p3', 'p2', 'p4', 'p1']);
  const b = await pb.collection('posts').getFullList({ sort: 'views,-title' });
  assert.deepEqual(b.map((r) => keyOf(r.id)), ['p1', 'p4', 'p2', 'p3']);
  const c = await pb.collection('posts').getFullList({ sort: '+published,-views,title' });
  assert.deepEqual(c.map((r) => keyOf(r.id)), ['p2', 'p4', 'p3', 'p1']);
  const d = await pb.collection('posts').getFullList({ sort: '-created,-id' });
  assert.equal(d.length, 4);
});

test('expand a single relation and a multi relation', async () => {
  const pb = srv.superuser;
  const rec = await pb.collection('posts').getOne(post.p1, { expand: 'author,tags' });
  assert.equal(rec.author, ann.record.id, 'the relation value stays the id');
  assert.equal(rec.expand.author.id, ann.record.id);
  assert.equal(rec.expand.author.name, 'Ann');
  assert.equal(rec.expand.author.collectionName, 'users');
  assert.equal('password' in rec.expand.author, false);
  assert.ok(Array.isArray(rec.expand.tags));
  assert.deepEqual(rec.expand.tags.map((t) => t.name), ['red', 'green'], 'multi expand keeps the stored order');

  const p3 = await pb.collection('posts').getOne(post.p3, { expand: 'author,tags' });
  assert.equal(p3.expand?.author, undefined, 'empty relation is not expanded');
  assert.equal(p3.expand?.tags, undefined, 'empty multi relation is not expanded');

  const list = await pb.collection('posts').getList(1, 10, { sort: 'views,title', expand: 'author' });
  assert.deepEqual(list.items.map((r) => r.expand?.author?.name ?? null), ['Ann', 'Bob', 'Ann', null]);
});

test('expand a back-relation and nested relations', async () => {
  const pb = srv.superuser;
  const user = await pb.collection('users').getOne(ann.record.id, { expand: 'posts_via_author' });
  const via = user.expand.posts_via_author;
  assert.ok(Array.isArray(via), 'back-relation expands to an array');
  assert.deepEqual(via.map((r) => r.title).sort(), ['Alpha', 'delta']);

  const nested = await pb.collection('users').getOne(ann.record.id, { expand: 'posts_via_author.tags' });
  const alpha = nested.expand.posts_via_author.find((r) => r.title === 'Alpha');
  assert.deepEqual(alpha.expand.tags.map((t) => t.name), ['red', 'green']);

  const deep = await pb.collection('posts').getOne(post.p2, { expand: 'author.posts_via_author' });
  assert.equal(deep.expand.author.name, 'Bob');
  assert.deepEqual(deep.expand.author.expand.posts_via_author.map((r) => r.id), [post.p2]);

  // expand on a back-relation filter
  assert.deepEqual(
    (await pb.collection('users').getFullList({ filter: "posts_via_author.title ?= 'Alpha'" })).map((u) => u.id),
    [ann.record.id],
  );
});

test('expand a back-relation through a multi relation field', async () => {
  const viaTags = await srv.superuser.collection('tags').getOne(tag.green, { expand: 'posts_via_tags' });
  assert.ok(viaTags.expand, `expand present: ${JSON.stringify(viaTags)}`);
  assert.deepEqual(viaTags.expand.posts_via_tags.map((r) => r.title).sort(), ['Alpha', "beta it's"]);
});

test('fields picks keys, including expanded ones, and :excerpt', async () => {
  const pb = srv.superuser;
  const rec = await pb.collection('posts').getOne(post.p1, { expand: 'author', fields: 'id,title,expand.author.name' });
  assert.deepEqual(Object.keys(rec).sort(), ['expand', 'id', 'title']);
  assert.deepEqual(rec.expand, { author: { name: 'Ann' } });

  const list = await pb.collection('posts').getList(1, 2, { sort: 'title', fields: 'id,views' });
  assert.equal(list.totalItems, 4, 'the list envelope is kept');
  assert.equal(list.page, 1);
  for (const item of list.items) assert.deepEqual(Object.keys(item).sort(), ['id', 'views']);

  const star = await pb.collection('posts').getOne(post.p1, { fields: '*' });
  assert.equal(star.title, 'Alpha');
  assert.equal(star.collectionName, 'posts');
  assert.equal(star.views, 10);

  const ex = await pb.collection('posts').getOne(post.p1, { fields: 'body:excerpt(11)' });
  assert.deepEqual(ex, { body: 'Hello world' });
  const ex2 = await pb.collection('posts').getOne(post.p1, { fields: 'body:excerpt(11,true)' });
  assert.equal(ex2.body, 'Hello world...');
});

test('non-superusers cannot use @request or @collection in filter or sort: 403', async () => {
  const anon = srv.client();
  await expectStatus(anon.collection('posts').getList(1, 10, { filter: "@request.auth.id != ''" }), 403);
  await expectStatus(anon.collection('posts').getList(1, 10, { filter: "@collection.tags.name ?= 'red'" }), 403);
  await expectStatus(ann.pb.collection('posts').getList(1, 10, { filter: "@request.auth.id = author" }), 403);
  await expectStatus(ann.pb.collection('posts').getList(1, 10, { sort: '@request.auth.id' }), 403);
  // a superuser may
  const su = await srv.superuser.collection('posts').getList(1, 10, { filter: "@collection.tags.name ?= 'red'" });
  assert.equal(su.totalItems, 4);
});

test('sort by @rowid follows insertion order', async () => {
  const pb = srv.superuser;
  const asc = await pb.collection('posts').getFullList({ sort: '@rowid' });
  assert.deepEqual(asc.map((r) => keyOf(r.id)), ['p1', 'p2', 'p3', 'p4']);
  const desc = await pb.collection('posts').getFullList({ sort: '-@rowid' });
  assert.deepEqual(desc.map((r) => keyOf(r.id)), ['p4', 'p3', 'p2', 'p1']);
  const random = await pb.collection('posts').getFullList({ sort: '@random' });
  assert.equal(random.length, 4);
});

test('filter and sort limits: over-long filters and too many sort keys are 400', async () => {
  const pb = srv.client();
  const long = Array.from({ length: 400 }, () => 'views > 0').join(' && ');
  assert.ok(long.length > 3500);
  await expectStatus(pb.collection('posts').getList(1, 10, { filter: long }), 400);
  const sorts = Array.from({ length: 9 }, () => 'views').join(',');
  await expectStatus(pb.collection('posts').getList(1, 10, { sort: sorts }), 400);
});
