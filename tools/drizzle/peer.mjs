#!/usr/bin/env node
// Real drizzle-orm, as the reference Migration Wizard is compared with.
//
//   node peer.mjs migrate --db PATH --migrations DIR [--driver sqljs|better-sqlite3]
//                         [--upto K] [--foreign-keys on|off] [--verbose]
//
// Runs drizzle-orm's own migrate() on the database file (created if missing):
// - better-sqlite3 (the POS's driver, default): directly on the file; foreign keys on
//   unless --foreign-keys off (better-sqlite3 turns them on by default);
// - sqljs: the file is loaded into sql.js, migrated, and written back atomically
//   (temp file + rename); foreign keys off unless --foreign-keys on.
// --upto K uses only the first K journal entries (an app release K migrations old).
// Exit 0 on success; on failure the error on stderr and exit 1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function usage(message) {
  if (message) console.error(message);
  console.error('usage: peer.mjs migrate --db PATH --migrations DIR [--driver sqljs|better-sqlite3] ' +
                '[--upto K] [--foreign-keys on|off] [--verbose]');
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
const opts = { driver: 'better-sqlite3' };
for (let i = 0; i < rest.length; i++) {
  const key = rest[i];
  const value = rest[i + 1];
  switch (key) {
    case '--db': opts.db = value; i++; break;
    case '--migrations': opts.migrations = value; i++; break;
    case '--driver': opts.driver = value; i++; break;
    case '--upto': opts.upto = Number(value); i++; break;
    case '--foreign-keys': opts.foreignKeys = value; i++; break;
    case '--verbose': opts.verbose = true; break;
    default: usage(`unknown option ${key}`);
  }
}
if (command !== 'migrate' && command !== 'noop') usage();
if (!opts.db || !opts.migrations) usage('--db and --migrations are required');

// --upto: a copy of the folder whose journal lists only the first K entries.
function truncatedFolder(folder, k) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-peer-'));
  fs.cpSync(folder, tmp, { recursive: true });
  const journalPath = path.join(tmp, 'meta', '_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalPath, 'utf8'));
  journal.entries = journal.entries.slice(0, k);
  fs.writeFileSync(journalPath, JSON.stringify(journal, null, 2));
  return tmp;
}

let folder = opts.migrations;
let tmpFolder = null;
if (Number.isInteger(opts.upto)) {
  tmpFolder = truncatedFolder(opts.migrations, opts.upto);
  folder = tmpFolder;
}

try {
  if (opts.driver === 'better-sqlite3') {
    const Database = require('better-sqlite3');
    const { drizzle } = await import('drizzle-orm/better-sqlite3');
    const { migrate } = await import('drizzle-orm/better-sqlite3/migrator');
    const sqlite = new Database(opts.db);
    if (opts.foreignKeys === 'off') sqlite.pragma('foreign_keys = OFF');
    if (opts.foreignKeys === 'on') sqlite.pragma('foreign_keys = ON');
    migrate(drizzle(sqlite), { migrationsFolder: folder });
    sqlite.close();
  } else if (opts.driver === 'sqljs') {
    const initSqlJs = require('sql.js');
    const { drizzle } = await import('drizzle-orm/sql-js');
    const { migrate } = await import('drizzle-orm/sql-js/migrator');
    const SQL = await initSqlJs();
    const data = fs.existsSync(opts.db) ? fs.readFileSync(opts.db) : undefined;
    const sqlite = new SQL.Database(data);
    if (opts.foreignKeys === 'on') sqlite.run('PRAGMA foreign_keys = ON');
    migrate(drizzle(sqlite), { migrationsFolder: folder });
    const out = `${opts.db}.peer-tmp`;
    fs.writeFileSync(out, Buffer.from(sqlite.export()));
    fs.renameSync(out, opts.db);
    sqlite.close();
  } else {
    usage(`unknown driver ${opts.driver}`);
  }
  if (opts.verbose) console.error(`drizzle-orm migrate() done on ${opts.db}`);
} catch (error) {
  console.error(`drizzle-orm migrate() failed: ${error?.message ?? error}`);
  process.exitCode = 1;
} finally {
  if (tmpFolder) fs.rmSync(tmpFolder, { recursive: true, force: true });
}
