// Checks the test harness itself against a fake binary, so a broken server or a wrong BASALT_BIN
// gives a clear message rather than a hang or a cryptic failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.js';

const fake = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fake-basalt');
const env = (mode, bin = fake) => ({ ...process.env, BASALT_BIN: bin, FAKE_BASALT_MODE: mode });

test('harness: a missing binary says where it looked and how to build it', async () => {
  const missing = path.join(os.tmpdir(), 'no-such-basalt-binary');
  await assert.rejects(startServer({ env: env('ok', missing) }), (err) => {
    assert.match(err.message, /Basalt binary not found at .*no-such-basalt-binary/);
    assert.match(err.message, /make build/);
    return true;
  });
});

test('harness: a non-executable binary is reported as such', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-e2e-')), 'basalt');
  fs.writeFileSync(file, 'not a program', { mode: 0o644 });
  await assert.rejects(startServer({ env: env('ok', file) }), /is not executable/);
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('harness: a failing `superuser upsert` shows its exit code and stderr', async () => {
  await assert.rejects(startServer({ env: env('upsert-fails') }), (err) => {
    assert.match(err.message, /basalt superuser upsert .* exited with 3/);
    assert.match(err.message, /fake: cannot open database in --dir/);
    return true;
  });
});

test('harness: a server that exits at start shows its output', async () => {
  await assert.rejects(startServer({ env: env('serve-exits') }), (err) => {
    assert.match(err.message, /basalt serve --http 127\.0\.0\.1:\d+ --dir .* exited before it became healthy \(code 1/);
    assert.match(err.message, /address already in use/);
    return true;
  });
});

test('harness: a server that never becomes healthy times out with the last answer', async () => {
  await assert.rejects(startServer({ env: env('never-healthy'), healthTimeoutMs: 5000 }), (err) => {
    assert.match(err.message, /did not answer GET http:\/\/127\.0\.0\.1:\d+\/api\/health with 200 within 5000 ms/);
    assert.match(err.message, /last: status 503/);
    assert.match(err.message, /fake: serving on 127\.0\.0\.1:\d+/);
    return true;
  });
});

test('harness: a healthy server is reachable, then stopped by PID and its --dir removed', async () => {
  const srv = await startServer({ env: env('ok') });
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${srv.url}/api/health`);
  assert.equal(res.status, 200);
  assert.equal(fs.existsSync(srv.dir), true);
  const exit = await srv.stop();
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  assert.throws(() => process.kill(srv.pid, 0), { code: 'ESRCH' });
  assert.equal(fs.existsSync(srv.dir), false);
});
