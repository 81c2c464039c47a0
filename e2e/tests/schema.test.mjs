// schema.graphql and the live server's schema, checked with graphql-js, the reference
// implementation most GraphQL tooling (codegen, GraphiQL, linters) is built on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
  validateSchema,
} from 'graphql';
import { repoRoot, startBlogql } from '../support/server.mjs';

const REGENERATE = 'regenerate schema.graphql with `UPDATE_EXPECT=1 cargo test --test schema` and review the diff';

// What GraphiQL and codegen tools send.
const INTROSPECTION_QUERY = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true });

const fileSdl = readFileSync(join(repoRoot, 'schema.graphql'), 'utf8');

async function introspect(url) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: INTROSPECTION_QUERY }),
  });
  assert.equal(response.status, 200);
  const result = await response.json();
  assert.equal(result.errors, undefined, `introspection failed: ${JSON.stringify(result.errors)}`);
  return result.data;
}

// printSchema leaves out the spec's built-in directives (@include, @skip, @deprecated,
// @specifiedBy, @oneOf) on both sides: the file declares three of them and introspection lists
// five, which is how async-graphql exports SDL, not an API difference. Everything else is compared.
function printSorted(schema) {
  return printSchema(lexicographicSortSchema(schema));
}

/** Like assert.equal, keeping its line diff (a custom message would replace it) but saying what to do. */
function assertSameSdl(liveSdl, fileSdl) {
  try {
    assert.equal(liveSdl, fileSdl);
  } catch (error) {
    error.message = `the server's schema (+) differs from schema.graphql (-): ${REGENERATE}\n${error.message}`;
    throw error;
  }
}

test('schema.graphql is a valid schema', () => {
  const schema = buildSchema(fileSdl);
  assert.deepEqual(validateSchema(schema).map(String), []);
});

test('the live server serves exactly schema.graphql', async () => {
  // Default limits: the standard introspection query nests 15 levels deep (its TypeRef
  // fragment alone is 9 `ofType`s), and the server must take it as GraphiQL and codegen send it.
  const server = await startBlogql();
  try {
    const live = buildClientSchema(await introspect(server.url));
    assertSameSdl(printSorted(live), printSorted(buildSchema(fileSdl)));
  } finally {
    await server.stop();
  }
});
