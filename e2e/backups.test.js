// Backups through the SDK (pb.backups.*): create, list, download with a superuser file token, upload,
// hostile uploads refused, delete, and a restore after which the server serves the restored data.
// On PostgreSQL, backups answer 400 (they are made with PostgreSQL's tools, docs/backups.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, engine } from './lib/server.js';
import { expectStatus, DATE_RE, eventually } from './lib/util.js';

const srv = useServer(async () => {
  await srv.superuser.collections.create({
    name: 'notes',
    type: 'base',
    listRule: '',
    viewRule: '',
    fields: [{ name: 'title', type: 'text' }],
  });
  await srv.superuser.collection('notes').create({ title: 'before backup' });
});

const onPostgres = engine() === 'postgres';

test('backups on PostgreSQL answer 400 with a pointer to its tools', { skip: !onPostgres }, async () => {
  const err = await expectStatus(srv.superuser.backups.create('x.zip'), 400);
  assert.match(err.response.message, /PostgreSQL/);
});

test('anonymous callers cannot list or create backups', async () => {
  await expectStatus(srv.client().backups.getFullList(), 401);
  await expectStatus(srv.client().backups.create('anon.zip'), 401);
});

test('create, list, download with a file token, upload and delete', { skip: onPostgres }, async () => {
  const pb = srv.superuser;
  await pb.backups.create('sdk_one.zip');
  await pb.backups.create(''); // default name
  const list = await pb.backups.getFullList();
  const keys = list.map((b) => b.key).sort();
  assert.ok(keys.includes('sdk_one.zip'), `keys: ${keys}`);
  assert.ok(keys.some((k) => /^pb_backup_.+_\d{14}\.zip$/.test(k)), `keys: ${keys}`);
  for (const b of list) {
    assert.ok(b.size > 0, `size of ${b.key}`);
    assert.match(b.modified, DATE_RE);
  }

  // A taken or malformed name is refused.
  await expectStatus(pb.backups.create('sdk_one.zip'), 400);
  await expectStatus(pb.backups.create('../escape.zip'), 400);

  // Download: the SDK builds the URL from a superuser file token.
  const token = await pb.files.getToken();
  const url = pb.backups.getDownloadURL(token, 'sdk_one.zip');
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const zip = Buffer.from(await res.arrayBuffer());
  assert.equal(zip.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'a zip file');
  assert.ok(zip.includes(Buffer.from('data.db')), 'the zip holds data.db');
  assert.equal((await fetch(pb.backups.getDownloadURL('', 'sdk_one.zip'))).status, 403);
  assert.equal((await fetch(pb.backups.getDownloadURL('bogus', 'sdk_one.zip'))).status, 403);

  // Upload the downloaded backup under another name.
  await pb.backups.upload({ file: new File([zip], 'sdk_copy.zip', { type: 'application/zip' }) });
  assert.ok((await pb.backups.getFullList()).some((b) => b.key === 'sdk_copy.zip'));

  // Hostile uploads: 400 and nothing stored.
  const before = (await pb.backups.getFullList()).length;
  await expectStatus(pb.backups.upload({ file: new File([Buffer.from('not a zip')], 'junk.zip') }), 400);
  await expectStatus(pb.backups.upload({ file: new File([zip], 'Bad Name.zip') }), 400);
  assert.equal((await pb.backups.getFullList()).length, before);

  await pb.backups.delete('sdk_copy.zip');
  await expectStatus(pb.backups.delete('sdk_copy.zip'), 404);
});

test('restore replaces the data and the server serves it after restarting', { skip: onPostgres }, async () => {
  const pb = srv.superuser;
  await pb.backups.create('sdk_restore.zip');
  await pb.collection('notes').create({ title: 'after backup' });
  assert.equal((await srv.client().collection('notes').getList(1, 10)).totalItems, 2);

  await expectStatus(pb.backups.restore('missing.zip'), 404);
  await pb.backups.restore('sdk_restore.zip');
  // The server is briefly away while it swaps the backup in.
  const page = await eventually(async () => {
    try {
      const p = await srv.client().collection('notes').getList(1, 10);
      return p.totalItems === 1 ? p : null;
    } catch {
      return null;
    }
  }, 20_000);
  assert.ok(page, 'the restored data is served');
  assert.equal(page.items[0].title, 'before backup');
  // The superuser's session is in the restored data too.
  assert.ok((await pb.backups.getFullList()).some((b) => b.key === 'sdk_restore.zip'));
});
