// Batch API: off by default (403), then all-or-nothing create/update/upsert/delete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.js';
import { ID_RE, expectStatus, createUser } from './lib/util.js';

const srv = useServer(async () => {
  await srv.superuser.collections.create({
    name: 'items',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    fields: [
      { name: 'name', type: 'text', required: true },
      { name: 'qty', type: 'number' },
    ],
  });
  await srv.superuser.collections.create({
    name: 'uploads',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    fields: [
      { name: 'label', type: 'text' },
      { name: 'doc', type: 'file', maxSelect: 1, maxSize: 10000 },
    ],
  });
  await srv.superuser.collections.create({
    name: 'locked',
    type: 'base',
    fields: [{ name: 'name', type: 'text' }],
  });
});

const names = async () =>
  (await srv.superuser.collection('items').getFullList({ sort: 'name' })).map((r) => r.name);

test('batch is disabled by default: 403', async () => {
  const batch = srv.superuser.createBatch();
  batch.collection('items').create({ name: 'never' });
  const err = await expectStatus(batch.send(), 403);
  assert.equal(err.response.message, 'Batch requests are not allowed.');
  assert.deepEqual(await names(), []);
});

test('enable batch through the settings', async () => {
  const settings = await srv.superuser.settings.update({
    batch: { enabled: true, maxRequests: 5, timeout: 3, maxBodySize: 0 },
  });
  assert.equal(settings.batch.enabled, true);
  assert.equal(settings.batch.maxRequests, 5);
  assert.equal(settings.batch.timeout, 3);
});

test('create, update, upsert and delete in one batch', async () => {
  const su = srv.superuser;
  const existing = await su.collection('items').create({ name: 'existing', qty: 1 });
  const doomed = await su.collection('items').create({ name: 'doomed' });

  const batch = srv.client().createBatch(); // items is public: runs with the caller's rules
  batch.collection('items').create({ name: 'created', qty: 3 });
  batch.collection('items').update(existing.id, { 'qty+': 10 });
  batch.collection('items').upsert({ id: 'upsertnew000001', name: 'upserted-new' });
  batch.collection('items').upsert({ id: existing.id, name: 'existing-renamed' });
  batch.collection('items').delete(doomed.id);
  const res = await batch.send();

  assert.equal(res.length, 5);
  assert.deepEqual(res.map((r) => r.status), [200, 200, 200, 200, 204]);
  assert.match(res[0].body.id, ID_RE);
  assert.equal(res[0].body.name, 'created');
  assert.equal(res[0].body.qty, 3);
  assert.equal(res[0].body.collectionName, 'items');
  assert.equal(res[1].body.id, existing.id);
  assert.equal(res[1].body.qty, 11);
  assert.equal(res[2].body.id, 'upsertnew000001');
  assert.equal(res[2].body.name, 'upserted-new');
  assert.equal(res[3].body.id, existing.id);
  assert.equal(res[3].body.name, 'existing-renamed');
  assert.equal(res[3].body.qty, 11, 'the upsert saw the earlier update');

  assert.deepEqual(await names(), ['created', 'existing-renamed', 'upserted-new']);
  await expectStatus(su.collection('items').getOne(doomed.id), 404);
});

test('a failing request rolls back the whole batch: 400 with data.requests', async () => {
  const su = srv.superuser;
  const keep = await su.collection('items').create({ name: 'keep', qty: 1 });
  const before = await names();

  const batch = su.createBatch();
  batch.collection('items').create({ name: 'rolled-back' });
  batch.collection('items').update(keep.id, { qty: 99 });
  batch.collection('items').create({ qty: 5 }); // name is required
  batch.collection('items').delete(keep.id);
  const err = await expectStatus(batch.send(), 400);

  const failed = err.response.data.requests;
  assert.ok(failed && typeof failed === 'object', `data.requests present: ${JSON.stringify(err.response.data)}`);
  assert.deepEqual(Object.keys(failed), ['2'], 'the failing request is the third one');
  assert.equal(failed['2'].code, 'batch_request_failed');
  assert.equal(failed['2'].response.status, 400);
  assert.equal(failed['2'].response.data.name.code, 'validation_required');

  assert.deepEqual(await names(), before, 'nothing from the batch was kept');
  assert.equal((await su.collection('items').getOne(keep.id)).qty, 1);
});

test('a request to a missing record fails the batch', async () => {
  const batch = srv.superuser.createBatch();
  batch.collection('items').create({ name: 'ghost-companion' });
  batch.collection('items').update('aaaaaaaaaaaaaaa', { name: 'ghost' });
  const err = await expectStatus(batch.send(), 400);
  assert.equal(err.response.data.requests['1'].response.status, 404);
  assert.equal((await names()).includes('ghost-companion'), false);
});

test('each request runs with the caller\'s rules', async () => {
  const user = await createUser(srv);
  const batch = user.pb.createBatch();
  batch.collection('items').create({ name: 'by-user' });
  batch.collection('locked').create({ name: 'not allowed' });
  const err = await expectStatus(batch.send(), 400);
  assert.equal(err.response.data.requests['1'].response.status, 403);
  assert.equal((await names()).includes('by-user'), false);
  assert.equal((await srv.superuser.collection('locked').getList(1, 1)).totalItems, 0);
});

test('more requests than maxRequests is 400', async () => {
  const batch = srv.superuser.createBatch();
  for (let i = 0; i < 6; i++) batch.collection('items').create({ name: `over-${i}` });
  const err = await expectStatus(batch.send(), 400);
  assert.ok(err.response.data.requests, JSON.stringify(err.response.data));
  assert.equal((await names()).some((n) => n.startsWith('over-')), false);
});

test('an empty batch is 400', async () => {
  await expectStatus(srv.superuser.createBatch().send(), 400);
});

test('batch requests may carry files (multipart with @jsonPayload)', async () => {
  const batch = srv.client().createBatch();
  batch.collection('uploads').create({ label: 'first', doc: new File(['one'], 'one.txt', { type: 'text/plain' }) });
  batch.collection('uploads').create({ label: 'second', doc: new File(['two'], 'two.txt', { type: 'text/plain' }) });
  const res = await batch.send();
  assert.deepEqual(res.map((r) => r.status), [200, 200]);
  assert.deepEqual(res.map((r) => r.body.label), ['first', 'second']);
  assert.match(res[0].body.doc, /^one_[a-z0-9]{10}\.txt$/);
  const pb = srv.client();
  const text = await (await fetch(pb.files.getURL(res[1].body, res[1].body.doc))).text();
  assert.equal(text, 'two');
});

test('disabling batch again gives 403', async () => {
  await srv.superuser.settings.update({ batch: { enabled: false } });
  const batch = srv.superuser.createBatch();
  batch.collection('items').create({ name: 'after-disable' });
  await expectStatus(batch.send(), 403);
});
