// A real OpenID Connect provider for the OAuth2 tests: fixtures/oidc-provider (zitadel/oidc's
// example provider) is built with `go build` from the repository (GO, default `go`) into a temporary
// directory, started on a free loopback port and stopped by its PID.
//
// browse() plays the user's browser against it: it opens an authorization URL, submits the login
// form and follows redirects until one points at stopAt (returned unfollowed) or the chain ends.

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const OIDC_PASSWORD = 'verysecure';

function build(out) {
  return new Promise((resolve, reject) => {
    execFile(process.env.GO || 'go', ['build', '-o', out, './e2e/fixtures/oidc-provider'],
      { cwd: repoDir, timeout: 600_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`building the OIDC provider fixture failed: ${err.message}\n${stderr}`));
        else resolve();
      });
  });
}

/** Builds and starts the provider; resolves to {issuer, stop()}. */
export async function startOIDCProvider(redirectURIs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'basalt-oidc-'));
  const bin = path.join(dir, 'oidc-provider');
  await build(bin);
  const child = spawn(bin, ['-redirect', redirectURIs.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const lines = readline.createInterface({ input: child.stdout });
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`OIDC provider did not start:\n${stderr}`)), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line).issuer);
      } catch (e) {
        reject(e);
      }
    });
    child.once('exit', (code) => reject(new Error(`OIDC provider exited with ${code}:\n${stderr}`)));
  });
  return {
    issuer,
    stop: async () => {
      if (child.exitCode === null) {
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens authURL, signs in as username and follows redirects; see the file comment. */
export async function browse(authURL, username, stopAt = '') {
  let res = await follow(authURL, stopAt);
  const page = await res.text();
  const id = /name="id" value="([^"]+)"/.exec(page)?.[1];
  if (!id) throw new Error(`no login form at ${res.url}: ${page.slice(0, 300)}`);
  const login = new URL('/login/username', res.url);
  res = await fetch(login, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id, username, password: OIDC_PASSWORD }),
  });
  if (res.status < 300 || res.status >= 400) {
    throw new Error(`login answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  return follow(new URL(res.headers.get('location'), login).toString(), stopAt);
}

// follow GETs url and its redirects; a redirect to stopAt is returned as a Response whose `url`
// is the redirect target.
async function follow(url, stopAt) {
  for (let i = 0; i < 20; i++) {
    if (stopAt && url.startsWith(stopAt)) return { url, status: 0, text: async () => '' };
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) {
      Object.defineProperty(res, 'url', { value: url });
      return res;
    }
    url = new URL(location, url).toString();
  }
  throw new Error('too many redirects');
}
