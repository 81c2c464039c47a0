// The playground as a person uses it: headless Debian Chromium, driven by playwright-core, opens
// GraphiQL on a blogql with demo data, runs a query, logs in, puts the token in the headers
// editor, runs a mutation with it, and reads the results on the page. Every request the page makes must stay on blogql's own origin: the playground has to
// work behind a firewall or on a plane. A screenshot lands in target/playground.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { repoRoot, startBlogql } from '../support/server.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = join(repoRoot, 'target', 'playground.png');

// Flags for a closed network: without the background-networking ones Chromium keeps trying to
// reach Google's services, which would also count as requests leaving the origin.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const USERS_WITH_POSTS = `{
  users {
    nodes {
      name
      posts { nodes { title } }
    }
  }
}`;

const CREATE_POST = `mutation CreatePost($input: CreatePostInput!) {
  createPost(input: $input) { title author { name } }
}`;

// A demo account, as the README shows it (the password is printed by `blogql seed-demo`).
const LOG_IN = `mutation {
  logIn(input: { email: "john@example.com", password: "john-demo-password" }) { token }
}`;

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing) {
  if (process.env.CI) {
    throw new Error(`${CHROMIUM} is missing under CI: the browser test cannot run`);
  }
  console.error(`\n!!! SKIPPED: the browser test needs Debian's chromium at ${CHROMIUM} (apt-get install chromium).\n`);
}

let server;
let browser;

before(async () => {
  if (chromiumMissing) return;
  server = await startBlogql({ seed: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Opens the playground in a fresh browser context (no stored editor state) with `query` and
 * `variables` in the URL; returns the page and the list of requests that left the origin.
 */
async function openPlayground({ query, variables }) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const origin = new URL(server.url).origin;
  const outside = [];
  const pageErrors = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) outside.push(url);
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const params = new URLSearchParams({ query });
  if (variables) params.set('variables', JSON.stringify(variables));
  await page.goto(`${server.url}/?${params}`, { waitUntil: 'networkidle' });
  await page.waitForSelector('.graphiql-container');
  return { page, context, outside, pageErrors };
}

/** Clicks GraphiQL's run button and waits until the result pane shows `expected`. */
async function runAndWaitFor(page, expected) {
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    (text) => document.querySelector('.result-window')?.textContent.includes(text),
    expected,
    { timeout: 15_000 },
  );
  return page.textContent('.result-window');
}

test('the playground lists users with their posts', { skip: chromiumMissing }, async () => {
  const { page, context, outside, pageErrors } = await openPlayground({ query: USERS_WITH_POSTS });
  try {
    // Act
    const result = await runAndWaitFor(page, 'The Life of Cactus');

    // Assert: what the page shows is the server's answer.
    for (const expected of ['"admin"', '"John"', '"The Life of Cactus"', '"First Post"', '"Second Post"']) {
      assert.ok(result.includes(expected), `the result pane lacks ${expected}: ${result}`);
    }
    assert.ok(
      result.indexOf('"admin"') < result.indexOf('"The Life of Cactus"') &&
        result.indexOf('"John"') < result.indexOf('"First Post"'),
      `posts are not shown under their authors: ${result}`,
    );
    mkdirSync(join(repoRoot, 'target'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    assert.deepEqual(outside, [], 'the page made requests outside the server origin');
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});

test('the playground has the docs explorer and the variables and headers editors', { skip: chromiumMissing }, async () => {
  const { page, context, outside } = await openPlayground({ query: USERS_WITH_POSTS });
  try {
    // Docs explorer: the schema, as the server describes it.
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForSelector('.graphiql-doc-explorer');
    await page.click('.graphiql-doc-explorer a:has-text("Query")');
    await page.waitForFunction(() =>
      document.querySelector('.graphiql-doc-explorer')?.textContent.includes('users'),
    );

    // Variables and headers editors.
    await page.click('.graphiql-editor-tools button:has-text("Variables")');
    await page.waitForSelector('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    await page.click('.graphiql-editor-tools button:has-text("Headers")');
    await page.waitForSelector('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    assert.deepEqual(outside, []);
  } finally {
    await context.close();
  }
});

test('the playground logs in and runs a mutation with the token in the headers editor', { skip: chromiumMissing }, async () => {
  // Log in: the token is in the result pane.
  const login = await openPlayground({ query: LOG_IN });
  let token;
  try {
    const answer = await runAndWaitFor(login.page, '"token"');
    token = answer.match(/"token":\s*"([^"]+)"/)?.[1];
    assert.ok(token, `no token in ${answer}`);
  } finally {
    await login.context.close();
  }

  const variables = { input: { title: 'Written in the playground', content: 'Hello' } };
  const { page, context, outside } = await openPlayground({ query: CREATE_POST, variables });
  try {
    // Without the token, the write is refused.
    await runAndWaitFor(page, 'UNAUTHENTICATED');

    // The headers editor, as a person fills it in.
    await page.click('.graphiql-editor-tools button:has-text("Headers")');
    await page.click('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${token}` }));

    const result = await runAndWaitFor(page, 'Written in the playground');
    assert.ok(result.includes('"John"'), `the new post's author is not shown: ${result}`);
    // Running it again is a duplicate title: the error and its code are shown.
    const again = await runAndWaitFor(page, 'CONFLICT');
    assert.ok(again.includes('"title"'), again);
    assert.deepEqual(outside, []);
  } finally {
    await context.close();
  }
});

test('the playground runs a subscription over its WebSocket', { skip: chromiumMissing }, async () => {
  const { page, context, outside, pageErrors } = await openPlayground({
    query: 'subscription { postCreated { title author { name } } }',
  });
  try {
    // Act: subscribe in the page, then write posts (as John) until one shows up.
    await page.click('.graphiql-execute-button');
    const login = await (await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LOG_IN }),
    })).json();
    const token = login.data.logIn.token;
    let shown = false;
    for (let n = 0; n < 50 && !shown; n += 1) {
      const created = await (await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: `mutation { createPost(input: { title: "Live ${n}", content: "" }) { id } } ` }),
      })).json();
      assert.equal(created.errors, undefined, JSON.stringify(created));
      shown = await page
        .waitForFunction(() => document.querySelector('.result-window')?.textContent.includes('Live '), null, { timeout: 300 })
        .then(() => true, () => false);
    }

    // Assert
    assert.ok(shown, 'a new post appeared in the result pane');
    const result = await page.textContent('.result-window');
    assert.ok(result.includes('"John"'), result);
    assert.deepEqual(outside, [], 'the page made requests outside the server origin');
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
});
