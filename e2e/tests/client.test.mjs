// blogql through @urql/core, the way a frontend uses it. urql sends queries as GET (its default
// `preferGetMethod: 'within-url-limit'`) and mutations as POST, so both routes are exercised;
// cacheExchange adds `__typename` to every selection, as it does in an app.

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

const CREATE_USER = gql`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) { id }
  }
`;

const CREATE_POST = gql`
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) { id title }
  }
`;

/** Runs `fn(client)` against a fresh demo-seeded server, stopped afterwards whatever happens. */
async function withDemoClient(fn) {
  const server = await startBlogql({ seed: true });
  try {
    const client = new Client({
      url: `${server.url}/graphql`,
      exchanges: [cacheExchange, fetchExchange],
      requestPolicy: 'network-only',
    });
    await fn(client);
  } finally {
    await server.stop();
  }
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
      const input = { name, email: `${name.toLowerCase()}@example.com` };
      dataOf(await client.mutation(CREATE_USER, { input }).toPromise());
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

test('creates a post and reads it back through its author', async () => {
  await withDemoClient(async (client) => {
    const authorId = await userIdByName(client, 'admin');
    const input = { authorId, title: 'Watering Cacti', content: 'Rarely.' };
    const { createPost } = dataOf(await client.mutation(CREATE_POST, { input }).toPromise());
    assert.equal(createPost.title, 'Watering Cacti');

    const { user } = dataOf(await client.query(USER_POST_TITLES, { id: authorId }).toPromise());
    assert.deepEqual(
      user.posts.nodes.map((post) => post.title),
      ['The Life of Cactus', 'Watering Cacti'],
    );
  });
});

test('a duplicate post title is a CONFLICT on `title`', async () => {
  await withDemoClient(async (client) => {
    const authorId = await userIdByName(client, 'admin');
    const input = { authorId, title: 'First Post', content: 'Again.' };
    const result = await client.mutation(CREATE_POST, { input }).toPromise();

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
