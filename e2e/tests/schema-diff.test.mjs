// schema-diff.mjs: what graphql-js classifies as breaking or dangerous, and the CLI's output and
// exit status against a throwaway git repository (so the results never depend on this repo's state).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BreakingChangeType, DangerousChangeType } from 'graphql';
import { diffSchemas } from '../schema-diff.mjs';
import { repoRoot } from '../support/server.mjs';

const CLI = join(repoRoot, 'e2e', 'schema-diff.mjs');

const BASE = `
type Query { user(id: ID!): User, users(first: Int): [User!]! }
type User { id: ID!, name: String!, role: Role! }
enum Role { ADMIN AUTHOR }
input NewUser { name: String! }
type Mutation { createUser(input: NewUser!): User! }
`;

/** `sdl` with one edit; fails loudly if the edit no longer applies, so no case silently compares a schema to itself. */
function edited(from, to, sdl = BASE) {
  assert.ok(sdl.includes(from), `the schema contains ${from}`);
  return sdl.replace(from, to);
}

const types = (changes) => changes.map((change) => change.type);

describe('diffSchemas', () => {
  test('removing a field is breaking', () => {
    const { breaking, dangerous } = diffSchemas(BASE, edited('name: String!, ', ''));
    assert.deepEqual(types(breaking), [BreakingChangeType.FIELD_REMOVED]);
    assert.equal(breaking[0].description, 'User.name was removed.');
    assert.deepEqual(dangerous, []);
  });

  test('adding a required input field is breaking', () => {
    const { breaking } = diffSchemas(BASE, edited('{ name: String! }', '{ name: String!, email: String! }'));
    assert.deepEqual(types(breaking), [BreakingChangeType.REQUIRED_INPUT_FIELD_ADDED]);
  });

  test('a printed built-in directive is no change', () => {
    const printed = `${BASE}\ndirective @deprecated(reason: String = "No longer supported") on FIELD_DEFINITION | ENUM_VALUE\n`;
    assert.deepEqual(diffSchemas(BASE, printed), { breaking: [], dangerous: [] });
  });

  test('adding an output field is neither breaking nor dangerous', () => {
    const changes = diffSchemas(BASE, edited('role: Role! }', 'role: Role!, email: String }'));
    assert.deepEqual(changes, { breaking: [], dangerous: [] });
  });

  // graphql-js calls these dangerous: old clients keep working, but one that enumerates
  // arguments, enum values or input fields may meet something it does not know.
  test('adding an optional argument is dangerous, not breaking', () => {
    const { breaking, dangerous } = diffSchemas(BASE, edited('users(first: Int)', 'users(first: Int, after: String)'));
    assert.deepEqual(breaking, []);
    assert.deepEqual(types(dangerous), [DangerousChangeType.OPTIONAL_ARG_ADDED]);
  });

  test('adding an enum value is dangerous, not breaking', () => {
    const { breaking, dangerous } = diffSchemas(BASE, edited('ADMIN AUTHOR', 'ADMIN AUTHOR READER'));
    assert.deepEqual(breaking, []);
    assert.deepEqual(types(dangerous), [DangerousChangeType.VALUE_ADDED_TO_ENUM]);
  });

  test('adding a non-null input field with a default is dangerous, not breaking', () => {
    const { breaking, dangerous } = diffSchemas(BASE, edited('{ name: String! }', '{ name: String!, tags: [String!]! = [] }'));
    assert.deepEqual(breaking, []);
    assert.deepEqual(types(dangerous), [DangerousChangeType.OPTIONAL_INPUT_FIELD_ADDED]);
  });

  test('schema.graphql compared with itself has no changes', () => {
    const sdl = readFileSync(join(repoRoot, 'schema.graphql'), 'utf8');
    assert.deepEqual(diffSchemas(sdl, sdl), { breaking: [], dangerous: [] });
  });
});

function run(command, args, cwd) {
  return spawnSync(command, args, { cwd, encoding: 'utf8' });
}

/** Runs the CLI from outside `repo` so that only --repo can point it there. */
function schemaDiff(repo, ...args) {
  return run(process.execPath, [CLI, '--repo', repo, ...args], tmpdir());
}

function git(repo, ...args) {
  const result = run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', '-c', 'commit.gpgsign=false', ...args], repo);
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
}

function commit(repo, file, content, message) {
  writeFileSync(join(repo, file), content);
  git(repo, 'add', file);
  git(repo, 'commit', '-q', '-m', message);
}

describe('schema-diff CLI', () => {
  // History: HEAD~2 has no schema.graphql, HEAD~1 has BASE, HEAD removes User.name (breaking)
  // and adds an optional argument (dangerous). The working tree is HEAD.
  let repo;

  before(() => {
    repo = mkdtempSync(join(tmpdir(), 'blogql-schema-diff-'));
    git(repo, 'init', '-q');
    commit(repo, 'README', 'no schema yet\n', 'start');
    commit(repo, 'schema.graphql', BASE, 'schema v1');
    const v2 = edited('users(first: Int)', 'users(first: Int, after: String)', edited('name: String!, ', ''));
    commit(repo, 'schema.graphql', v2, 'schema v2');
  });

  after(() => {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  test('no changes against HEAD: exit 0 and a summary', () => {
    const result = schemaDiff(repo, 'HEAD');
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '0 breaking, 0 dangerous change(s) in schema.graphql between HEAD and the working tree\n');
  });

  test('a breaking change: every change printed, exit 1', () => {
    const result = schemaDiff(repo, 'HEAD~1');
    assert.equal(result.status, 1, result.stderr);
    assert.deepEqual(result.stdout.trimEnd().split('\n'), [
      'BREAKING FIELD_REMOVED: User.name was removed.',
      'DANGEROUS OPTIONAL_ARG_ADDED: An optional arg after on Query.users was added.',
      '1 breaking, 1 dangerous change(s) in schema.graphql between HEAD~1 and the working tree',
    ]);
  });

  test('--accept-breaking still prints the breaking change but exits 0', () => {
    const result = schemaDiff(repo, '--accept-breaking', 'HEAD~1');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^BREAKING FIELD_REMOVED: User\.name was removed\.$/m);
    assert.match(result.stdout, /breaking changes accepted: say "BREAKING API CHANGE:" in the commit message/);
  });

  test('an unknown ref is a usage error: exit 2', () => {
    const result = schemaDiff(repo, 'no-such-ref');
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /cannot read schema\.graphql at no-such-ref/);
  });

  test('a ref without schema.graphql is a usage error: exit 2', () => {
    const result = schemaDiff(repo, 'HEAD~2');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /cannot read schema\.graphql at HEAD~2/);
  });

  test('a missing ref is a usage error: exit 2 with usage', () => {
    const result = schemaDiff(repo);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /expected exactly one git ref/);
    assert.match(result.stderr, /^usage: /m);
  });

  test('without --repo it compares this repository', (t) => {
    // Deterministic only while schema.graphql is unmodified: a pending API change may be breaking.
    const pending = run('git', ['status', '--porcelain', '--', 'schema.graphql'], repoRoot).stdout;
    if (pending !== '') {
      t.skip('schema.graphql has uncommitted changes');
      return;
    }
    const result = run(process.execPath, [CLI, 'HEAD'], tmpdir());
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^0 breaking, 0 dangerous change\(s\)/);
  });
});
