// File fields: multipart upload on create and update, serving with the right headers, size and type
// limits, and removal of replaced, deleted and orphaned files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer } from './lib/server.js';
import { expectStatus, assertFieldError, createUser, eventually } from './lib/util.js';

let pb; // anonymous client: docs is public

const srv = useServer(async () => {
  await srv.superuser.collections.create({
    name: 'docs',
    type: 'base',
    listRule: '',
    viewRule: '',
    createRule: '',
    updateRule: '',
    deleteRule: '',
    fields: [
      { name: 'title', type: 'text' },
      { name: 'attachment', type: 'file', maxSelect: 1, maxSize: 1000, mimeTypes: ['text/plain', 'image/png'] },
      { name: 'gallery', type: 'file', maxSelect: 5, maxSize: 100000 },
    ],
  });
  await srv.superuser.collections.create({
    name: 'vault',
    type: 'base',
    listRule: 'owner = @request.auth.id',
    viewRule: 'owner = @request.auth.id',
    createRule: '@request.auth.id != ""',
    fields: [
      { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
      { name: 'secret', type: 'file', maxSelect: 1, maxSize: 100000, protected: true },
    ],
  });
  pb = srv.client();
});

// A valid 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');

const fetchFile = (record, filename, opts) => fetch(pb.files.getURL(record, filename, opts));

test('upload with FormData on create; the file is served with its bytes and content type', async () => {
  const fd = new FormData();
  fd.append('title', 'with text');
  fd.append('attachment', new Blob(['hello world'], { type: 'text/plain' }), 'hello.txt');
  const rec = await pb.collection('docs').create(fd);
  assert.equal(rec.title, 'with text');
  assert.match(rec.attachment, /^hello_[a-z0-9]{10}\.txt$/, `stored name ${rec.attachment}`);
  assert.deepEqual(rec.gallery, []);

  const url = pb.files.getURL(rec, rec.attachment);
  assert.equal(url, `${srv.url}/api/files/${rec.collectionId}/${rec.id}/${rec.attachment}`);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'hello world');
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.match(res.headers.get('content-disposition') || '', /^attachment/, 'text is never served inline');
});

test('upload with a plain object holding File values (the SDK builds the multipart body)', async () => {
  const rec = await pb.collection('docs').create({
    title: 'with png',
    attachment: new File([PNG], 'pixel.png', { type: 'image/png' }),
    gallery: [new File(['one'], 'one.txt'), new File(['two'], 'two.txt')],
  });
  assert.match(rec.attachment, /^pixel_[a-z0-9]{10}\.png$/);
  assert.equal(rec.gallery.length, 2);
  assert.match(rec.gallery[0], /^one_[a-z0-9]{10}\.txt$/);
  assert.match(rec.gallery[1], /^two_[a-z0-9]{10}\.txt$/);

  const res = await fetchFile(rec, rec.attachment);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG);
  assert.match(res.headers.get('content-disposition') || '', /^inline/, 'images are served inline');

  const dl = await fetchFile(rec, rec.attachment, { download: true });
  assert.equal(dl.status, 200);
  assert.match(dl.headers.get('content-disposition') || '', /^attachment/, '?download=1 forces an attachment');
  assert.match(dl.headers.get('content-disposition') || '', new RegExp(rec.attachment.replace('.', '\\.')));
  assert.deepEqual(Buffer.from(await dl.arrayBuffer()), PNG);

  const two = await fetchFile(rec, rec.gallery[1]);
  assert.equal(await two.text(), 'two');
});

test('?thumb=100x100 serves a 100x100 thumbnail of an image; unknown sizes serve the original', async () => {
  const rec = await pb.collection('docs').create({ attachment: new File([PNG], 'pixel.png', { type: 'image/png' }) });
  const pngSize = (buf) => [buf.readUInt32BE(16), buf.readUInt32BE(20)];
  const thumb = await fetchFile(rec, rec.attachment, { thumb: '100x100' });
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/png');
  assert.deepEqual(pngSize(Buffer.from(await thumb.arrayBuffer())), [100, 100]);
  const other = await fetchFile(rec, rec.attachment, { thumb: '37x37' });
  assert.equal(other.status, 200);
  assert.deepEqual(Buffer.from(await other.arrayBuffer()), PNG, 'a size not in thumbs serves the original');
});

test('a file over maxSize is 400 and nothing is created', async () => {
  const before = (await pb.collection('docs').getList(1, 1)).totalItems;
  const err = await expectStatus(
    pb.collection('docs').create({ title: 'too big', attachment: new File(['x'.repeat(2000)], 'big.txt', { type: 'text/plain' }) }),
    400,
  );
  assertFieldError(err, 'attachment', 'validation_file_size_limit');
  assert.equal((await pb.collection('docs').getList(1, 1)).totalItems, before);
});

test('a file with a disallowed mime type is 400', async () => {
  const err = await expectStatus(
    pb.collection('docs').create({ title: 'pdf', attachment: new File([PDF], 'doc.pdf', { type: 'application/pdf' }) }),
    400,
  );
  assertFieldError(err, 'attachment', 'validation_invalid_mime_type');
});

test('more files than maxSelect is 400; a single file field keeps the last of several uploads', async () => {
  const many = Array.from({ length: 6 }, (_, i) => new File([`g${i}`], `g${i}.txt`));
  const err = await expectStatus(pb.collection('docs').create({ title: 'many', gallery: many }), 400);
  assertFieldError(err, 'gallery', 'validation_too_many_files');

  // PocketBase normalizes a non-multiple file field to the last submitted file
  const rec = await pb.collection('docs').create({
    title: 'two for one',
    attachment: [new File(['first'], 'first.txt', { type: 'text/plain' }), new File(['last'], 'last.txt', { type: 'text/plain' })],
  });
  assert.match(rec.attachment, /^last_[a-z0-9]{10}\.txt$/);
  assert.equal(await (await fetchFile(rec, rec.attachment)).text(), 'last');
});

test('replacing a file on update removes the old one', async () => {
  const rec = await pb.collection('docs').create({ attachment: new File(['first'], 'first.txt', { type: 'text/plain' }) });
  const oldName = rec.attachment;
  const fd = new FormData();
  fd.append('attachment', new Blob(['second'], { type: 'text/plain' }), 'second.txt');
  const upd = await pb.collection('docs').update(rec.id, fd);
  assert.match(upd.attachment, /^second_[a-z0-9]{10}\.txt$/);
  assert.equal(await (await fetchFile(upd, upd.attachment)).text(), 'second');
  const gone = await eventually(async () => (await fetchFile(rec, oldName)).status === 404);
  assert.equal(gone, true, 'old file URL is 404');
});

test('deleting a file by setting the field empty removes it', async () => {
  const rec = await pb.collection('docs').create({ attachment: new File(['bye'], 'bye.txt', { type: 'text/plain' }) });
  assert.equal((await fetchFile(rec, rec.attachment)).status, 200);
  const upd = await pb.collection('docs').update(rec.id, { attachment: null });
  assert.equal(upd.attachment, '');
  assert.equal(await eventually(async () => (await fetchFile(rec, rec.attachment)).status === 404), true);
});

test('gallery+ appends files and gallery- removes one by name', async () => {
  const rec = await pb.collection('docs').create({ gallery: [new File(['a'], 'a.txt')] });
  const upd = await pb.collection('docs').update(rec.id, { 'gallery+': new File(['b'], 'b.txt') });
  assert.equal(upd.gallery.length, 2);
  assert.equal(upd.gallery[0], rec.gallery[0]);
  // names shorter than 3 characters get 10 extra random characters, as in PocketBase
  assert.match(upd.gallery[1], /^b[a-z0-9]{10}_[a-z0-9]{10}\.txt$/);
  const removed = upd.gallery[0];
  const upd2 = await pb.collection('docs').update(rec.id, { 'gallery-': [removed] });
  assert.deepEqual(upd2.gallery, [upd.gallery[1]]);
  assert.equal(await eventually(async () => (await fetchFile(rec, removed)).status === 404), true);
  assert.equal(await (await fetchFile(rec, upd.gallery[1])).text(), 'b');
});

test('deleting the record removes its files', async () => {
  const rec = await pb.collection('docs').create({
    attachment: new File(['doomed'], 'doomed.txt', { type: 'text/plain' }),
    gallery: [new File(['g'], 'g.txt')],
  });
  assert.equal((await fetchFile(rec, rec.attachment)).status, 200);
  await pb.collection('docs').delete(rec.id);
  assert.equal(await eventually(async () => (await fetchFile(rec, rec.attachment)).status === 404), true);
  assert.equal((await fetchFile(rec, rec.gallery[0])).status, 404);
});

test('unknown file, record or collection is 404', async () => {
  const rec = await pb.collection('docs').create({ attachment: new File(['x'], 'x.txt', { type: 'text/plain' }) });
  assert.equal((await fetch(`${srv.url}/api/files/${rec.collectionId}/${rec.id}/nope_0000000000.txt`)).status, 404);
  assert.equal((await fetch(`${srv.url}/api/files/${rec.collectionId}/aaaaaaaaaaaaaaa/${rec.attachment}`)).status, 404);
  assert.equal((await fetch(`${srv.url}/api/files/no_such_collection/${rec.id}/${rec.attachment}`)).status, 404);
  assert.equal((await fetch(`${srv.url}/api/files/${rec.collectionId}/${rec.id}/..%2F..%2Fdata.db`)).status, 404);
});

test('protected files need a file token that passes the viewRule', async () => {
  const owner = await createUser(srv);
  const other = await createUser(srv);
  const rec = await owner.pb.collection('vault').create({
    owner: owner.record.id,
    secret: new File(['top secret'], 'secret.txt', { type: 'text/plain' }),
  });
  const bare = await fetch(owner.pb.files.getURL(rec, rec.secret));
  assert.ok([403, 404].includes(bare.status), `no token: got ${bare.status}`);

  const token = await owner.pb.files.getToken();
  assert.equal(typeof token, 'string');
  const ok = await fetch(owner.pb.files.getURL(rec, rec.secret, { token }));
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'top secret');

  const otherToken = await other.pb.files.getToken();
  const denied = await fetch(other.pb.files.getURL(rec, rec.secret, { token: otherToken }));
  assert.ok([403, 404].includes(denied.status), `other user's token: got ${denied.status}`);

  await expectStatus(srv.client().files.getToken(), 401);
});
