#!/usr/bin/env node
// Compares schema.graphql at a git ref with the working tree's, using graphql-js's own
// findBreakingChanges/findDangerousChanges.
//
//   node e2e/schema-diff.mjs [--repo DIR] [--accept-breaking] <git-ref>
//   (from e2e/: npm run schema:diff -- <git-ref>)
//
// Policy: clients in the field break when a type, field, argument or enum value they use goes
// away or changes type, so a breaking change is made in two steps: first deprecate
// (`@deprecated(reason: "use X")`) and ship, then remove once clients have moved. A deliberate
// break is run with --accept-breaking (it still prints every breaking change, but exits 0) and
// is called out in the commit message with a line starting "BREAKING API CHANGE:".
//
// Exit status: 0 no breaking changes (or accepted), 1 breaking changes, 2 usage error.

import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  Kind,
  buildASTSchema,
  findBreakingChanges,
  findDangerousChanges,
  parse,
  specifiedDirectives,
} from 'graphql';

const BUILT_IN_DIRECTIVES = new Set(specifiedDirectives.map((directive) => directive.name));

/**
 * The schema `sdl` describes, with graphql-js's own definitions of the built-in directives:
 * servers print those (async-graphql prints `@deprecated` once something is deprecated) with
 * locations of their GraphQL version, which are no change to the API.
 */
function buildSchema(sdl) {
  const document = parse(sdl);
  return buildASTSchema({
    ...document,
    definitions: document.definitions.filter(
      (definition) =>
        !(definition.kind === Kind.DIRECTIVE_DEFINITION && BUILT_IN_DIRECTIVES.has(definition.name.value)),
    ),
  });
}

const USAGE = 'usage: node e2e/schema-diff.mjs [--repo DIR] [--accept-breaking] <git-ref>';
const SCHEMA_PATH = 'schema.graphql';
const defaultRepo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Anything that stops the comparison (bad arguments, no such ref or file, bad SDL): exit status 2. */
class UsageError extends Error {}

function badArguments(message) {
  return new UsageError(`${message}\n${USAGE}`);
}

/** The breaking and dangerous changes from `oldSdl` to `newSdl`, as graphql-js reports them. */
export function diffSchemas(oldSdl, newSdl) {
  return compareSchemas(buildSchema(oldSdl), buildSchema(newSdl));
}

function compareSchemas(oldSchema, newSchema) {
  return {
    breaking: findBreakingChanges(oldSchema, newSchema),
    dangerous: findDangerousChanges(oldSchema, newSchema),
  };
}

function parseCli(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        repo: { type: 'string', default: defaultRepo },
        'accept-breaking': { type: 'boolean', default: false },
      },
      allowPositionals: true,
    });
  } catch (error) {
    throw badArguments(error.message);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) {
    throw badArguments('expected exactly one git ref to compare the working tree with');
  }
  const [ref] = positionals;
  // `git show -x:schema.graphql` would be read as an option.
  if (ref.startsWith('-')) {
    throw badArguments(`not a git ref: ${ref}`);
  }
  return { ref, repo: values.repo, acceptBreaking: values['accept-breaking'] };
}

function schemaAtRef(repo, ref) {
  const shown = spawnSync('git', ['show', `${ref}:${SCHEMA_PATH}`], { cwd: repo, encoding: 'utf8' });
  if (shown.error) {
    throw new UsageError(`cannot run git in ${repo}: ${shown.error.message}`);
  }
  if (shown.status !== 0) {
    const reason = shown.stderr.trim().replace(/^fatal: /, '');
    throw new UsageError(`cannot read ${SCHEMA_PATH} at ${ref} in ${repo}: ${reason}`);
  }
  return shown.stdout;
}

function workingTreeSchema(repo) {
  try {
    return readFileSync(join(repo, SCHEMA_PATH), 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the working tree's ${SCHEMA_PATH}: ${error.message}`);
  }
}

/** buildSchema, failing with a message that says which side of the comparison is broken. */
function buildNamed(sdl, where) {
  try {
    return buildSchema(sdl);
  } catch (error) {
    throw new UsageError(`${where} is not a schema graphql-js can build: ${error.message}`);
  }
}

/** The report's lines: one per change, then a summary. */
function formatReport({ breaking, dangerous }, { ref, acceptBreaking = false }) {
  const lines = [
    ...breaking.map((change) => `BREAKING ${change.type}: ${change.description}`),
    ...dangerous.map((change) => `DANGEROUS ${change.type}: ${change.description}`),
  ];
  const counts = `${breaking.length} breaking, ${dangerous.length} dangerous`;
  let summary = `${counts} change(s) in ${SCHEMA_PATH} between ${ref} and the working tree`;
  if (breaking.length > 0 && acceptBreaking) {
    summary += ' (breaking changes accepted: say "BREAKING API CHANGE:" in the commit message)';
  }
  return [...lines, summary];
}

function main(argv) {
  const { ref, repo, acceptBreaking } = parseCli(argv);
  const changes = compareSchemas(
    buildNamed(schemaAtRef(repo, ref), `${SCHEMA_PATH} at ${ref}`),
    buildNamed(workingTreeSchema(repo), `the working tree's ${SCHEMA_PATH}`),
  );
  console.log(formatReport(changes, { ref, acceptBreaking }).join('\n'));
  return changes.breaking.length > 0 && !acceptBreaking ? 1 : 0;
}

function isEntryPoint() {
  return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
}

if (isEntryPoint()) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`schema-diff: ${error.message}`);
    process.exitCode = 2;
  }
}
