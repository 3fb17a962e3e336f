// OAuth2 sign-in through the SDK against a real OpenID Connect provider process
// (fixtures/oidc-provider, built from zitadel/oidc's example provider): authWithOAuth2Code after
// a browser-like code flow, the all-in-one popup flow authWithOAuth2({provider, urlCallback}) over
// the @oauth2 realtime topic, and listExternalAuths / unlinkExternalAuth.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { useServer } from './lib/server.js';
import { startOIDCProvider, browse } from './lib/oidc.js';
import { expectStatus } from './lib/util.js';

global.EventSource = EventSource;

let provider;
let redirectURL;

const srv = useServer(async () => {
  redirectURL = `${srv.url}/api/oauth2-redirect`;
  provider = await startOIDCProvider([redirectURL]);
  await srv.superuser.collections.update('users', {
    oauth2: {
      enabled: true,
      mappedFields: { name: 'name' },
      providers: [{ name: 'oidc', clientId: 'basalt', clientSecret: 'secret', displayName: 'Loopback SSO',
        extra: { issuer: provider.issuer } }],
    },
  });
});

after(async () => {
  if (provider) await provider.stop();
});

test('listAuthMethods shows the provider with PKCE and a nonce', async () => {
  const methods = await srv.client().collection('users').listAuthMethods();
  assert.equal(methods.oauth2.enabled, true);
  assert.equal(methods.oauth2.providers.length, 1);
  const p = methods.oauth2.providers[0];
  assert.equal(p.name, 'oidc');
  assert.equal(p.displayName, 'Loopback SSO');
  assert.equal(p.codeChallengeMethod, 'S256');
  assert.ok(p.codeVerifier.length >= 43);
  assert.ok(p.authURL.startsWith(provider.issuer));
  assert.ok(p.authURL.endsWith('&redirect_uri='));
  assert.ok(new URL(p.authURL).searchParams.get('nonce'));
  const collection = await srv.superuser.collections.getOne('users');
  assert.equal(collection.oauth2.providers[0].clientSecret, undefined, 'the client secret is never sent');
});

test('authWithOAuth2Code signs up; the link is listed and unlinked', async () => {
  const pb = srv.client();
  const p = (await pb.collection('users').listAuthMethods()).oauth2.providers[0];
  const back = await browse(p.authURL + encodeURIComponent(redirectURL), 'test-user@127.0.0.1', srv.url);
  const params = new URL(back.url).searchParams;
  assert.equal(params.get('state'), p.state);
  const auth = await pb.collection('users').authWithOAuth2Code('oidc', params.get('code'), p.codeVerifier, redirectURL,
    { emailVisibility: true });
  assert.ok(pb.authStore.isValid);
  assert.equal(auth.record.email, 'test-user@zitadel.ch');
  assert.equal(auth.record.verified, true);
  assert.equal(auth.record.name, 'Test User');
  assert.equal(auth.meta.isNew, true);
  assert.equal(auth.meta.id, 'id1');
  assert.ok(auth.meta.accessToken);

  // The same code again is refused by the provider.
  await expectStatus(
    srv.client().collection('users').authWithOAuth2Code('oidc', params.get('code'), p.codeVerifier, redirectURL), 400);

  await pb.collection('users').authRefresh();
  const links = await pb.collection('users').listExternalAuths(auth.record.id);
  assert.equal(links.length, 1);
  assert.equal(links[0].provider, 'oidc');
  assert.equal(links[0].providerId, 'id1');

  // A wrong code verifier fails the PKCE check at the provider.
  const p2 = (await pb.collection('users').listAuthMethods()).oauth2.providers[0];
  const back2 = await browse(p2.authURL + encodeURIComponent(redirectURL), 'test-user@127.0.0.1', srv.url);
  await expectStatus(srv.client().collection('users').authWithOAuth2Code('oidc',
    new URL(back2.url).searchParams.get('code'), p.codeVerifier, redirectURL), 400);

  assert.equal(await pb.collection('users').unlinkExternalAuth(auth.record.id, 'oidc'), true);
  assert.equal((await pb.collection('users').listExternalAuths(auth.record.id)).length, 0);
});

test('authWithOAuth2 popup flow delivers the code over realtime', async () => {
  const pb = srv.client();
  let page;
  const auth = await pb.collection('users').authWithOAuth2({
    provider: 'oidc',
    urlCallback: async (url) => {
      // The SDK put its (own, separate) realtime client id into state and the redirect page into
      // redirect_uri.
      const u = new URL(url);
      assert.ok(u.searchParams.get('state'));
      assert.equal(u.searchParams.get('redirect_uri'), redirectURL);
      const res = await browse(url, 'test-user2');
      page = await res.text();
    },
  });
  assert.match(page, /Auth completed/);
  assert.equal(auth.record.email, 'test-user2@zitadel.ch');
  assert.equal(auth.meta.isNew, true);
  assert.ok(pb.authStore.isValid);
});

test('oauth2-redirect with an unknown state publishes nothing', async () => {
  const res = await fetch(`${srv.url}/api/oauth2-redirect?state=nobody&code=abc`);
  assert.match(await res.text(), /Failed to authenticate/);
});
