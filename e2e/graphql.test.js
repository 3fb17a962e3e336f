// GraphQL at /api/graphql (docs/graphql.md) with real clients: the `graphql` package builds a client
// schema from the introspection result and validates and runs queries against it; `graphql-ws` runs a
// subscription that receives a record created over REST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { buildClientSchema, getIntrospectionQuery, parse, validate, printSchema } from 'graphql';
import { createClient } from 'graphql-ws';
import { useServer } from './lib/server.js';
import { createUser } from './lib/util.js';

let ann;
let bob;

const srv = useServer(async () => {
  ann = await createUser(srv, { name: 'Ann' });
  bob = await createUser(srv, { name: 'Bob' });
  await srv.superuser.collection('users').update(ann.record.id, { emailVisibility: false });
  const users = await srv.superuser.collections.getOne('users');
  await srv.superuser.collections.update('users', { ...users, listRule: '', viewRule: '' });
  await srv.superuser.collections.create({
    name: 'gql_posts',
    type: 'base',
    listRule: 'published = true || author = @request.auth.id',
    viewRule: 'published = true || author = @request.auth.id',
    createRule: '@request.auth.id != "" && author = @request.auth.id',
    fields: [
      { name: 'title', type: 'text', required: true },
      { name: 'published', type: 'bool' },
      { name: 'views', type: 'number' },
      { name: 'author', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    ],
  });
  for (const [title, author, published] of [['one', ann, true], ['two', bob, true], ['draft', ann, false]]) {
    await srv.superuser.collection('gql_posts').create({ title, author: author.record.id, published, views: title.length });
  }
});

/** POSTs a GraphQL request with an optional token and returns the decoded answer. */
async function gql(query, variables = {}, token = '') {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = token;
  const res = await fetch(`${srv.url}/api/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  assert.equal(res.status, 200);
  return res.json();
}

test('the introspected schema builds a client schema that validates queries', async () => {
  const res = await gql(getIntrospectionQuery());
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  const schema = buildClientSchema(res.data);
  const sdl = printSchema(schema);
  assert.match(sdl, /type Gql_posts \{/);
  assert.match(sdl, /gql_postsList\(/);
  const create = schema.getMutationType().getFields().createGql_posts;
  assert.equal(String(create.type), 'Gql_posts');
  assert.equal(String(create.args[0].type), 'Gql_postsCreateInput!');
  assert.equal(String(schema.getType('Gql_posts').getFields().views.type), 'Float!');
  const userFields = Object.keys(schema.getType('Users').getFields());
  assert.ok(userFields.includes('email') && !userFields.includes('password') && !userFields.includes('tokenKey'),
    'secrets are not readable');
  // Superuser-only operations and collections are not in a guest's schema.
  assert.doesNotMatch(sdl, /deleteGql_posts|superusersList/);
  const ok = parse('{ gql_postsList(sort: "title") { items { title author { name } } } }');
  assert.deepEqual(validate(schema, ok), []);
  const bad = parse('{ gql_postsList { items { nope } } }');
  assert.equal(validate(schema, bad).length, 1);
});

test('queries follow the rules and nest relations', async () => {
  const q = `query($f: String) { gql_postsList(filter: $f, sort: "title") { totalItems items { title authorId author { name } } } }`;
  const guest = await gql(q, { f: 'views > 0' });
  assert.equal(guest.errors, undefined);
  assert.deepEqual(guest.data.gql_postsList.items.map((p) => [p.title, p.author.name]), [['one', 'Ann'], ['two', 'Bob']]);
  const asAnn = await gql(q, {}, ann.pb.authStore.token);
  assert.deepEqual(asAnn.data.gql_postsList.items.map((p) => p.title), ['draft', 'one', 'two']);
  const view = await gql('query($id: ID!) { users(id: $id) { name email gql_posts_via_author { title } } }', { id: ann.record.id });
  assert.equal(view.data.users.name, 'Ann');
  assert.equal(view.data.users.email, null, 'a hidden email reads as null');
  assert.deepEqual(view.data.users.gql_posts_via_author.map((p) => p.title).sort(), ['one']);
});

test('a mutation creates a record; field problems come in extensions', async () => {
  const m = `mutation($d: Gql_postsCreateInput!) { createGql_posts(data: $d) { id title author { name } } }`;
  const made = await gql(m, { d: { title: 'via graphql', author: bob.record.id } }, bob.pb.authStore.token);
  assert.equal(made.errors, undefined, JSON.stringify(made.errors));
  assert.equal(made.data.createGql_posts.author.name, 'Bob');
  const rest = await srv.superuser.collection('gql_posts').getOne(made.data.createGql_posts.id);
  assert.equal(rest.title, 'via graphql');
  const bad = await gql(m, { d: { author: bob.record.id } }, bob.pb.authStore.token);
  assert.equal(bad.errors[0].extensions.code, 'invalid');
  assert.equal(bad.errors[0].extensions.data.title.code, 'validation_required');
  const guest = await gql(m, { d: { title: 'x' } });
  assert.ok(['forbidden', 'invalid'].includes(guest.errors[0].extensions.code));
});

test('a graphql-ws subscription receives a create', async () => {
  const client = createClient({
    url: `${srv.url.replace(/^http/, 'ws')}/api/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: ann.pb.authStore.token },
    retryAttempts: 0,
  });
  try {
    const received = [];
    let release;
    const got = new Promise((r) => { release = r; });
    const done = new Promise((resolve, reject) => {
      client.subscribe(
        { query: 'subscription { gql_postsChanged { action record { title author { name } } } }' },
        {
          next: (v) => { received.push(v); release(); },
          error: reject,
          complete: resolve,
        },
      );
    });
    done.catch(() => {});
    // The feed starts once the server has subscribed: retry the create until an event arrives.
    const deadline = Date.now() + 5000;
    let n = 0;
    while (!received.length && Date.now() < deadline) {
      await ann.pb.collection('gql_posts').create({ title: `live ${n++}`, author: ann.record.id });
      await Promise.race([got, new Promise((r) => setTimeout(r, 300))]);
    }
    assert.ok(received.length > 0, 'no event within 5 s');
    const ev = received[0];
    assert.equal(ev.errors, undefined, JSON.stringify(ev.errors));
    assert.equal(ev.data.gql_postsChanged.action, 'create');
    assert.match(ev.data.gql_postsChanged.record.title, /^live /);
    assert.equal(ev.data.gql_postsChanged.record.author.name, 'Ann');
  } finally {
    await client.dispose();
  }
});

test('limits and errors use the service codes', async () => {
  const deep = await gql('{ gql_postsList { items { author { gql_posts_via_author { author { gql_posts_via_author { author { gql_posts_via_author { author { gql_posts_via_author { id } } } } } } } } } } }');
  assert.equal(deep.errors[0].extensions.code, 'too_large');
  const syntax = await gql('{ gql_postsList {');
  assert.equal(syntax.errors[0].extensions.code, 'invalid');
  assert.equal(syntax.data, undefined);
  const page = await fetch(`${srv.url}/api/graphql`, { headers: { Accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Basalt GraphQL/);
});
