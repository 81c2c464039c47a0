// blogql through @urql/core, the way a frontend uses it. urql sends queries as GET (its default
// `preferGetMethod: 'within-url-limit'`) and mutations as POST, so both routes are exercised;
// cacheExchange adds `__typename` to every selection, as it does in an app. Writes need an
// account: the client logs in (or signs up) and sends the token as `Authorization: Bearer`,
// through urql's `fetchOptions`, as an app does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, CombinedError, cacheExchange, fetchExchange, gql } from '@urql/core';
import { startBlogql } from '../support/server.mjs';

const USERS_WITH_POSTS = gql`
  query UsersWithPosts {
    users {
      nodes { name posts { nodes { title author { name } } } }
    }
  }
`;

const USERS_PAGE = gql`
  query UsersPage($after: String) {
    users(first: 2, after: $after) {
      nodes { name }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

const USER_IDS = gql`
  query UserIds {
    users { nodes { id name } }
  }
`;

const USER_POST_TITLES = gql`
  query UserPostTitles($id: ID!) {
    user(id: $id) { posts { nodes { title } } }
  }
`;

const SIGN_UP = gql`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { token user { id } }
  }
`;

const LOG_IN = gql`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) { token expiresAt user { id name email } }
  }
`;

const VIEWER = gql`
  query Viewer {
    viewer { name email }
  }
`;

const CREATE_POST = gql`
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) { id title }
  }
`;

/** An urql client for `url`; with `token`, every request carries it as a bearer token. */
function clientFor(url, token) {
  return new Client({
    url: `${url}/graphql`,
    exchanges: [cacheExchange, fetchExchange],
    requestPolicy: 'network-only',
    fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
}

/**
 * Runs `fn(client, connect)` against a fresh demo-seeded server, stopped afterwards whatever
 * happens; `client` is anonymous, `connect(token)` makes a client that sends `token`.
 */
async function withDemoClient(fn) {
  const server = await startBlogql({ seed: true });
  try {
    await fn(clientFor(server.url), (token) => clientFor(server.url, token));
  } finally {
    await server.stop();
  }
}

/** Logs in with a demo account (its password is printed by `blogql seed-demo`). */
async function logIn(client, email, password) {
  const { logIn } = dataOf(await client.mutation(LOG_IN, { input: { email, password } }).toPromise());
  return logIn;
}

/** A successful result's data; a failed one fails the test with urql's combined message. */
function dataOf(result) {
  assert.equal(result.error, undefined, `unexpected error: ${result.error?.message}`);
  return result.data;
}

/** The single GraphQL error of a failed result, read as a frontend does: through CombinedError. */
function graphQLErrorOf(result) {
  assert.ok(result.error instanceof CombinedError, 'result.error is a CombinedError');
  assert.equal(result.error.networkError, undefined, 'a GraphQL error, not a network error');
  assert.equal(result.error.graphQLErrors.length, 1, result.error.message);
  return result.error.graphQLErrors[0];
}

async function userIdByName(client, name) {
  const { users } = dataOf(await client.query(USER_IDS, {}).toPromise());
  const user = users.nodes.find((node) => node.name === name);
  assert.ok(user, `demo user ${name} exists`);
  return user.id;
}

test('lists users with their posts and each post’s author', async () => {
  await withDemoClient(async (client) => {
    const { users } = dataOf(await client.query(USERS_WITH_POSTS, {}).toPromise());
    const summary = users.nodes.map((user) => ({
      name: user.name,
      posts: user.posts.nodes.map((post) => [post.title, post.author.name]),
    }));
    assert.deepEqual(summary, [
      { name: 'admin', posts: [['The Life of Cactus', 'admin']] },
      { name: 'John', posts: [['First Post', 'John'], ['Second Post', 'John']] },
    ]);
  });
});

test('walks every page of users with cursors', async () => {
  await withDemoClient(async (client) => {
    for (const name of ['Ann', 'Bob', 'Cleo']) {
      const input = { name, email: `${name.toLowerCase()}@example.com`, password: `${name} has a passphrase` };
      dataOf(await client.mutation(SIGN_UP, { input }).toPromise());
    }

    const names = [];
    let pages = 0;
    let after = null;
    for (;;) {
      const { users } = dataOf(await client.query(USERS_PAGE, { after }).toPromise());
      pages += 1;
      names.push(...users.nodes.map((user) => user.name));
      if (!users.pageInfo.hasNextPage) break;
      after = users.pageInfo.endCursor;
      assert.ok(pages < 10, 'pagination terminates');
    }

    assert.deepEqual(names, ['admin', 'John', 'Ann', 'Bob', 'Cleo']);
    assert.equal(pages, 3);
  });
});

test('logs in and creates a post with its token', async () => {
  await withDemoClient(async (client, connect) => {
    // Without a token, writing is refused.
    const input = { title: 'Watering Cacti', content: 'Rarely.' };
    const refused = graphQLErrorOf(await client.mutation(CREATE_POST, { input }).toPromise());
    assert.equal(refused.extensions.code, 'UNAUTHENTICATED');

    const session = await logIn(client, 'john@example.com', 'john-demo-password');
    assert.equal(session.user.name, 'John');
    assert.equal(session.user.email, 'john@example.com');
    assert.ok(new Date(session.expiresAt) > new Date(), session.expiresAt);
    const john = connect(session.token);
    const { viewer } = dataOf(await john.query(VIEWER, {}).toPromise());
    assert.deepEqual(viewer, { __typename: 'User', name: 'John', email: 'john@example.com' });

    const { createPost } = dataOf(await john.mutation(CREATE_POST, { input }).toPromise());
    assert.equal(createPost.title, 'Watering Cacti');
    const { user } = dataOf(await client.query(USER_POST_TITLES, { id: session.user.id }).toPromise());
    assert.deepEqual(
      user.posts.nodes.map((post) => post.title),
      ['First Post', 'Second Post', 'Watering Cacti'],
    );

    // Someone else's user is not John's to change.
    const adminId = await userIdByName(client, 'admin');
    const forbidden = graphQLErrorOf(
      await john.mutation(CREATE_POST, { input: { ...input, title: 'As admin', authorId: adminId } }).toPromise(),
    );
    assert.equal(forbidden.extensions.code, 'FORBIDDEN');
  });
});

test('a bad token is UNAUTHENTICATED, for the whole request', async () => {
  await withDemoClient(async (_client, connect) => {
    const result = await connect('not-a-token').query(VIEWER, {}).toPromise();
    const error = graphQLErrorOf(result);
    assert.equal(error.extensions.code, 'UNAUTHENTICATED');
  });
});

test('a duplicate post title is a CONFLICT on `title`', async () => {
  await withDemoClient(async (client, connect) => {
    const { token } = await logIn(client, 'john@example.com', 'john-demo-password');
    const input = { title: 'First Post', content: 'Again.' };
    const result = await connect(token).mutation(CREATE_POST, { input }).toPromise();

    const error = graphQLErrorOf(result);
    assert.equal(error.extensions.code, 'CONFLICT');
    assert.equal(error.extensions.field, 'title');
    assert.deepEqual(error.path, ['createPost']);
    assert.equal(result.data ?? null, null);
  });
});

test('a page size over 100 is BAD_USER_INPUT on `first`', async () => {
  await withDemoClient(async (client) => {
    const query = gql`{ users(first: 101) { nodes { name } } }`;
    const error = graphQLErrorOf(await client.query(query, {}).toPromise());
    assert.equal(error.extensions.code, 'BAD_USER_INPUT');
    assert.equal(error.extensions.field, 'first');
  });
});
