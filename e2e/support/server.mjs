// Starts the real blogql binary for a test: a fresh SQLite file, port 0, optionally demo data.
// The binary is BLOGQL_BIN, or target/debug/blogql (built by `cargo test`/`cargo build`).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const blogqlBin =
  process.env.BLOGQL_BIN ?? join(repoRoot, 'target', 'debug', 'blogql');

function blogqlEnv() {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.BLOGQL_BIND;
  return env;
}

/**
 * Starts blogql; resolves to { url, stop } once it listens. `seed` loads the demo data first;
 * `databaseUrl` is a database to use (a fresh SQLite file by default); `args` are more flags.
 */
export async function startBlogql({ seed = false, databaseUrl: given, args = [] } = {}) {
  if (!existsSync(blogqlBin)) {
    throw new Error(`${blogqlBin} does not exist: run \`cargo build\` first (or set BLOGQL_BIN)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'blogql-e2e-'));
  const databaseUrl = given ?? `sqlite://${join(dir, 'e2e.db')}?mode=rwc`;
  const common = ['--database-url', databaseUrl, '--log', 'info', ...args];
  if (seed) {
    const seeded = spawnSync(blogqlBin, [...common, 'seed-demo'], { env: blogqlEnv(), encoding: 'utf8' });
    if (seeded.status !== 0) {
      throw new Error(`blogql seed-demo failed: ${seeded.stderr}`);
    }
  }
  const child = spawn(blogqlBin, [...common, '--bind', '127.0.0.1:0', '--workers', '2'], {
    env: blogqlEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('blogql did not print "listening on" within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`blogql exited early with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = line.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const POSTGRES_URL = process.env.BLOGQL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function psql(sql) {
  return spawnSync('psql', [POSTGRES_URL, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
}

/**
 * A fresh PostgreSQL database for one test: { url, drop }, or null (with a loud message)
 * outside CI when PostgreSQL cannot be reached. Under CI an unreachable server fails.
 */
export function createPostgresDatabase() {
  const name = `e2e_${process.pid}_${Date.now()}`;
  const created = psql(`CREATE DATABASE ${name}`);
  if (created.status !== 0) {
    const why = `PostgreSQL at ${POSTGRES_URL} is unreachable: ${created.stderr || created.error}`;
    if (process.env.CI) throw new Error(why);
    console.error(`\n!!! SKIPPED: ${why}\n`);
    return null;
  }
  return {
    url: POSTGRES_URL.replace(/\/[^/]*$/, `/${name}`),
    drop() {
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Restarts the local PostgreSQL cluster (as root, as CI runs); false if it cannot here. */
export function restartPostgres() {
  if (process.getuid?.() !== 0) return false;
  const versions = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n');
  const restarted = spawnSync(
    'pg_ctlcluster',
    ['--skip-systemctl-redirect', versions[0], 'main', 'restart'],
    { encoding: 'utf8' },
  );
  return restarted.status === 0;
}
