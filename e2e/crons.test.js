// Cron jobs and the job queue through the SDK: pb.crons.getFullList() lists the built-in entries in
// PocketBase's [{id, expression}] shape, pb.crons.run(id) runs one now, the automatic backup entry
// follows settings.backups.cron (SQLite), and /api/jobs answers superusers with a page of jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, engine } from './lib/server.js';
import { expectStatus, eventually } from './lib/util.js';

const srv = useServer();
const onPostgres = engine() === 'postgres';

test('only superusers list and run cron jobs', async () => {
  await expectStatus(srv.client().crons.getFullList(), 401);
  await expectStatus(srv.client().crons.run('__basaltJobsCleanup__'), 401);
  await expectStatus(srv.client().send('/api/jobs', {}), 401);
});

test('the built-in entries are listed and run on demand', async () => {
  const pb = srv.superuser;
  const list = await pb.crons.getFullList();
  assert.ok(Array.isArray(list), 'an array');
  assert.deepEqual(list.find((c) => c.id === '__basaltJobsCleanup__'), { id: '__basaltJobsCleanup__', expression: '@hourly' });
  for (const id of ['__pbOTPCleanup__', '__pbMFACleanup__']) {
    assert.deepEqual(list.find((c) => c.id === id), { id, expression: '0 * * * *' });
  }
  assert.equal(await pb.crons.run('__pbOTPCleanup__'), true);
  for (const c of list) assert.deepEqual(Object.keys(c).sort(), ['expression', 'id']);
  assert.equal(await pb.crons.run('__basaltJobsCleanup__'), true);
  const err = await expectStatus(pb.crons.run('missing'), 404);
  assert.equal(err.response.status, 404);
});

test('the automatic backup entry follows settings.backups.cron', { skip: onPostgres }, async () => {
  const pb = srv.superuser;
  await pb.settings.update({ backups: { cron: '0 3 * * *', cronMaxKeep: 2 } });
  const auto = await eventually(async () => (await pb.crons.getFullList()).find((c) => c.id === '__pbAutoBackup__'), 10_000);
  assert.deepEqual(auto, { id: '__pbAutoBackup__', expression: '0 3 * * *' });
  assert.equal(await pb.crons.run('__pbAutoBackup__'), true);
  const made = await eventually(async () => (await pb.backups.getFullList()).some((b) => b.key.startsWith('@auto_pb_backup_')), 10_000);
  assert.ok(made, 'an automatic backup was made');
  await pb.settings.update({ backups: { cron: '' } });
  const gone = await eventually(async () => !(await pb.crons.getFullList()).some((c) => c.id === '__pbAutoBackup__'), 10_000);
  assert.ok(gone, 'the entry is removed with the setting');
});

test('superusers page through jobs', async () => {
  const pb = srv.superuser;
  const page = await pb.send('/api/jobs', { query: { perPage: 10, state: 'dead' } });
  assert.deepEqual(Object.keys(page).sort(), ['items', 'page', 'perPage', 'totalItems', 'totalPages']);
  assert.equal(page.perPage, 10);
  const err = await expectStatus(pb.send('/api/jobs', { query: { state: 'bogus' } }), 400);
  assert.ok(err.response.data.state, 'a state problem');
  await expectStatus(pb.send('/api/jobs/missing', {}), 404);
});
