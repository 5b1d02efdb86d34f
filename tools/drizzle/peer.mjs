#!/usr/bin/env node
// Real drizzle-orm, as the reference Migration Wizard is compared with.
//
//   node peer.mjs migrate --db PATH --migrations DIR [--driver sqljs|better-sqlite3]
//                         [--orm 0.45|0.44|1] [--migrations-table NAME]
//                         [--upto K] [--foreign-keys on|off] [--verbose]
//
// Runs drizzle-orm's own migrate() on the database file (created if missing), with
// drizzle-orm 0.45.4 (default), 0.44.7 (the AurSwift app's) or 1.0.0-rc.5 (from v1/;
// better-sqlite3 only), and migrate(db, { migrationsTable }) when a table is named:
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
                '[--orm 0.45|0.44|1] [--migrations-table NAME] [--upto K] [--foreign-keys on|off] ' +
                '[--verbose]');
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
const opts = { driver: 'better-sqlite3', orm: '0.45' };
for (let i = 0; i < rest.length; i++) {
  const key = rest[i];
  const value = rest[i + 1];
  switch (key) {
    case '--db': opts.db = value; i++; break;
    case '--migrations': opts.migrations = value; i++; break;
    case '--driver': opts.driver = value; i++; break;
    case '--upto': opts.upto = Number(value); i++; break;
    case '--foreign-keys': opts.foreignKeys = value; i++; break;
    case '--orm': opts.orm = value; i++; break;
    case '--migrations-table': opts.migrationsTable = value; i++; break;
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

// Each drizzle-orm as its own package: the npm alias drizzle-orm-044 here, and the
// 1.0 release candidate from v1/ (which needs a drizzle-orm of its own for drizzle-kit).
const orms = {
  '0.45': { require, name: 'drizzle-orm' },
  '0.44': { require, name: 'drizzle-orm-044' },
  '1': { require: createRequire(new URL('./v1/package.json', import.meta.url)), name: 'drizzle-orm' },
};
const orm = orms[opts.orm];
if (!orm) usage(`unknown drizzle-orm ${opts.orm}`);
const config = { migrationsFolder: folder };
if (opts.migrationsTable) config.migrationsTable = opts.migrationsTable;

try {
  if (opts.driver === 'better-sqlite3') {
    const Database = require('better-sqlite3');
    const { drizzle } = orm.require(`${orm.name}/better-sqlite3`);
    const { migrate } = orm.require(`${orm.name}/better-sqlite3/migrator`);
    const sqlite = new Database(opts.db);
    if (opts.foreignKeys === 'off') sqlite.pragma('foreign_keys = OFF');
    if (opts.foreignKeys === 'on') sqlite.pragma('foreign_keys = ON');
    migrate(opts.orm === '1' ? drizzle({ client: sqlite }) : drizzle(sqlite), config);
    sqlite.close();
  } else if (opts.driver === 'sqljs') {
    if (opts.orm === '1') usage('drizzle-orm 1 is run with better-sqlite3 only');
    const initSqlJs = require('sql.js');
    const { drizzle } = orm.require(`${orm.name}/sql-js`);
    const { migrate } = orm.require(`${orm.name}/sql-js/migrator`);
    const SQL = await initSqlJs();
    const data = fs.existsSync(opts.db) ? fs.readFileSync(opts.db) : undefined;
    const sqlite = new SQL.Database(data);
    if (opts.foreignKeys === 'on') sqlite.run('PRAGMA foreign_keys = ON');
    migrate(drizzle(sqlite), config);
    const out = `${opts.db}.peer-tmp`;
    fs.writeFileSync(out, Buffer.from(sqlite.export()));
    fs.renameSync(out, opts.db);
    sqlite.close();
  } else {
    usage(`unknown driver ${opts.driver}`);
  }
  if (opts.verbose) console.error(`drizzle-orm migrate() done on ${opts.db}`);
} catch (error) {
  // drizzle-orm wraps the driver's error: say SQLite's words too.
  const cause = error?.cause?.message ? ` (${error.cause.message})` : '';
  console.error(`drizzle-orm migrate() failed: ${error?.message ?? error}${cause}`);
  process.exitCode = 1;
} finally {
  if (tmpFolder) fs.rmSync(tmpFolder, { recursive: true, force: true });
}
