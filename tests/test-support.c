/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Support bundles, their redaction and the operation log: no planted secret leaves the
 * machine in a bundle, what a technician needs still does, and the log file is kept
 * safely (mode 0600, bounded, never written through a symlink).
 */

#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mw-test-util.h"

/* The secrets planted in the demo shop, each as it would be stored or sent. */
#define PIN            "7788"
#define PASSCODE       "246813"
#define ARGON2_SALT    "c2FsdHNhbHRzYWx0"
#define ARGON2_DIGEST  "ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGk"
#define ARGON2         "$argon2id$v=19$m=65536,t=3,p=4$" ARGON2_SALT "$" ARGON2_DIGEST
#define BCRYPT_TAIL    "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
#define BCRYPT         "$2b$12$" BCRYPT_TAIL
#define EMAIL          "jane.doe@example.com"
#define LICENCE_UPPER  "AURS-1234-ABCD-5678"
#define LICENCE_SHORT  "aurs-12ab-34cd"
#define BEARER         "mF_9.B5f-4.1JqM"
#define JWT            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0aWxsLTEifQ." \
                       "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define SK_LIVE        "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
#define SK_TEST        "sk_test_26PHem9AhJZvU623DfE1x4sd"
#define PK_LIVE        "pk_live_TYooMQauvdEDq54NiTphI7jx"
#define CARD_SPACED    "4111 1111 1111 1111"
#define CARD_DASHED    "5500-0000-0000-0004"
#define CARD_BARE      "378282246310005"
#define URL_PASSWORD   "hunter2sync"
#define PASSWORD       "Tr0ub4dor-3x"
#define API_KEY        "a1b2c3d4e5f6g7h8"
#define TOKEN          "tok_9f8e7d6c5b"
#define SECRET         "s3cr3t v4lue"

static const char * const planted[] = {
  PIN, PASSCODE, ARGON2_SALT, ARGON2_DIGEST, BCRYPT_TAIL, EMAIL, LICENCE_UPPER,
  LICENCE_SHORT, BEARER, JWT, "eyJhbGciOiJIUzI1NiJ9", SK_LIVE, SK_TEST, PK_LIVE,
  CARD_SPACED, CARD_DASHED, CARD_BARE, URL_PASSWORD, PASSWORD, API_KEY, TOKEN, SECRET,
  NULL
};

/* Fails when @secret is in @text. Short numbers (a PIN) only count where they stand
 * alone, so that a digest or a size that happens to hold the same digits does not
 * make the test flaky. */
static void
assert_no_secret (const char *text,
                  const char *secret,
                  const char *where)
{
  gsize len = strlen (secret);
  gboolean short_number = len <= 8 && strspn (secret, "0123456789") == len;

  for (const char *p = strstr (text, secret); p != NULL; p = strstr (p + 1, secret))
    {
      if (short_number && ((p > text && g_ascii_isalnum (p[-1])) || g_ascii_isalnum (p[len])))
        continue;
      g_test_message ("in %s: …%.*s…", where, (int) MIN (strlen (p), 120), p);
      g_test_fail_printf ("the secret “%s” survived in %s", secret, where);
      return;
    }
}

static void
assert_no_planted_secret (const char *text,
                          const char *where)
{
  for (guint i = 0; planted[i] != NULL; i++)
    assert_no_secret (text, planted[i], where);
}

/* The pure function, secret by secret. */

typedef struct
{
  const char *input;
  const char *secrets[4];  /* none may survive */
  const char *kept[4];     /* each must survive */
} RedactCase;

static const RedactCase secret_cases[] = {
  /* PINs as JSON and SQL values */
  { "{\"id\":\"u1\",\"pin_code\": \"" PIN "\",\"role\":\"cashier\"}",
    { PIN }, { "\"pin_code\": \"", "\"role\":\"cashier\"" } },
  { "UPDATE users SET pin = '" PIN "' WHERE id = 'u1'",
    { PIN }, { "UPDATE users SET pin = '", "WHERE id = 'u1'" } },
  { "UPDATE `users` SET `pin_code` = '" PIN "'", { PIN }, { "UPDATE `users` SET `pin_code`" } },
  { "SELECT * FROM users WHERE pinCode == " PIN, { PIN }, { "FROM users WHERE pinCode" } },
  { "UPDATE users SET pin_code = ?1, email = '" EMAIL "' WHERE pin_code = '" PIN "'",
    { PIN, EMAIL }, { "SET pin_code = ?1, email = '", "WHERE pin_code = '" } },
  { "staff login {\\\"pin_code\\\":\\\"" PIN "\\\"}", { PIN }, { "staff login" } },
  { "passcode: " PASSCODE, { PASSCODE }, { "passcode:" } },
  { "PIN=" PIN "; retries=3", { PIN }, { "retries=3" } },
  { "{\"pin_hash\":\"" BCRYPT "\"}", { BCRYPT_TAIL, "$2b$" }, { "pin_hash" } },
  /* password hashes, bare or named, whole or cut short */
  { "password_hash = '" ARGON2 "'", { ARGON2_SALT, ARGON2_DIGEST }, { "password_hash" } },
  { "stored hash " ARGON2 " does not verify", { ARGON2_SALT, ARGON2_DIGEST },
    { "stored hash ", " does not verify" } },
  { "UPDATE users SET password_hash = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNh…",
    { "c2FsdHNh" }, { "UPDATE users SET password_hash" } },
  { "hash " BCRYPT " rejected", { BCRYPT_TAIL }, { " rejected" } },
  { "argon2$argon2id$v=19$m=102400,t=2,p=8$" ARGON2_SALT "$" ARGON2_DIGEST,
    { ARGON2_SALT, ARGON2_DIGEST }, { NULL } },
  /* licence keys */
  { "Licence " LICENCE_UPPER " rejected by the server", { LICENCE_UPPER, "1234-ABCD" },
    { "Licence ", " rejected by the server" } },
  { "key " LICENCE_SHORT " expired", { LICENCE_SHORT, "12ab" }, { " expired" } },
  { "licence_key=" LICENCE_SHORT, { LICENCE_SHORT }, { "licence_key=" } },
  { "ABCDE-12345-FGHIJ-67890", { "ABCDE-12345" }, { NULL } },
  /* tokens */
  { "Authorization: Bearer " BEARER, { BEARER }, { "Authorization:" } },
  { "{\"authorization\": \"Basic dXNlcjpwYXNzd29yZA==\"}", { "dXNlcjpwYXNzd29yZA" },
    { "authorization" } },
  { "sent with bearer " BEARER " to the licence server", { BEARER },
    { " to the licence server" } },
  { "session " JWT " expired", { JWT, "eyJhbGciOiJIUzI1NiJ9", "dBjftJeZ4CVP" },
    { "session ", " expired" } },
  { "keys " SK_LIVE ", " SK_TEST " and " PK_LIVE, { SK_LIVE, SK_TEST, PK_LIVE }, { "keys " } },
  { "--sync-token=" SK_LIVE, { SK_LIVE, "4eC39HqLyjWDarjtT1zdp7dc" }, { "--sync-token=" } },
  /* cards */
  { "card " CARD_SPACED " declined", { CARD_SPACED, "1111 1111" }, { "card ", " declined" } },
  { "card " CARD_DASHED " declined", { CARD_DASHED }, { " declined" } },
  { "card " CARD_BARE " declined", { CARD_BARE }, { " declined" } },
  { "card 4111111111111111, expiry 12/27", { "4111111111111111" }, { "expiry 12/27" } },
  /* people and places */
  { "receipt sent to " EMAIL, { EMAIL, "jane.doe" }, { "receipt sent to " } },
  { "sync https://pos:" URL_PASSWORD "@sync.example.com/v1/till failed", { URL_PASSWORD },
    { "https://pos:", "@sync.example.com/v1/till failed" } },
  /* anything named like a secret */
  { "password=" PASSWORD, { PASSWORD }, { "password=" } },
  { "passwd: '" PASSWORD "'", { PASSWORD }, { "passwd:" } },
  { "pwd=\"" PASSWORD "\" user=admin", { PASSWORD }, { "user=admin" } },
  { "api_key: " API_KEY, { API_KEY }, { "api_key:" } },
  { "apiKey=" API_KEY "&shop=12", { API_KEY }, { "&shop=12" } },
  { "X-Api-Key: " API_KEY, { API_KEY }, { "X-Api-Key:" } },
  { "token = " TOKEN, { TOKEN }, { "token =" } },
  { "{\"secret\": \"" SECRET "\"}", { SECRET, "v4lue" }, { "secret" } },
  { "licenceKey: '" LICENCE_SHORT "'", { LICENCE_SHORT }, { "licenceKey:" } },
  { "key=" API_KEY, { API_KEY }, { "key=" } },
  { "settings='{\"pin\": \"" PIN "\"}'", { PIN }, { "settings=" } },
  /* a failed insert quotes a whole row */
  { "INSERT INTO users (id, email, pin_code) VALUES ('u1', '" EMAIL "', '" PIN "'), "
    "('u2', 'o''brien', '4321')",
    { PIN, EMAIL, "brien", "4321" }, { "INSERT INTO users (id, email, pin_code) VALUES (" } },
};

static void
test_redact_each_secret (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (secret_cases); i++)
    {
      const RedactCase *c = &secret_cases[i];
      g_autofree char *out = mw_support_redact_for (c->input, "/home/alice", "alice");

      g_test_message ("%s\n  -> %s", c->input, out);
      for (guint j = 0; j < G_N_ELEMENTS (c->secrets) && c->secrets[j] != NULL; j++)
        assert_no_secret (out, c->secrets[j], c->input);
      for (guint j = 0; j < G_N_ELEMENTS (c->kept) && c->kept[j] != NULL; j++)
        mw_test_assert_mentions (out, c->kept[j]);
      mw_test_assert_mentions (out, "[redacted]");
    }
}

/* What a technician needs reads exactly as it was. */
static void
test_redact_keeps_useful_text (void)
{
  static const char * const useful[] = {
    "Migration Wizard 0.1.0, SQLite 3.40.1, GLib 2.74.6",
    "State: pending",
    "Update “0007_add_licence_key”, statement 2, failed: no such table: transaction_items",
    "UNIQUE constraint failed: users.email",
    "FOREIGN KEY constraint failed",
    "  0001_tills                                 1700000100000 3a4f5e6d7c8b applied",
    "Applied: 3, pending: 1 (out of order: 0), modified: 0",
    "Journal mode: wal, encoding: UTF-8",
    "Page size: 4096, pages: 1234, free pages: 0",
    "Backups: /srv/pos/backups/aurswift-backup-20240115-103000.db",
    "Kept the failed database as /srv/pos/pos_system.db.old.20240115-103000",
    "row 550e8400-e29b-41d4-a716-446655440000 missing from index sqlite_autoindex_users_1",
    "2024-01-15 10:30:00  Applied 3 updates",
    "2024-01-15T10:30:00.123456+00:00",
    "Held by: aurswift (pid 4242)",
    "fresh-start-done",
    "Size: 226492416 bytes (216.0 MB)",
  };

  for (guint i = 0; i < G_N_ELEMENTS (useful); i++)
    {
      g_autofree char *out = mw_support_redact_for (useful[i], "/home/alice", "alice");

      g_assert_cmpstr (out, ==, useful[i]);
    }
}

static void
test_redact_home_and_user (void)
{
  static const struct
  {
    const char *input;
    const char *expected;
  } cases[] = {
    { "/home/alice/.config/aurswift/pos_system.db", "~/.config/aurswift/pos_system.db" },
    { "Database: /home/alice", "Database: ~" },
    { "copied /srv/alice/pos.db to /mnt/usb/ALICE-backups/x.db",
      "copied /srv/<user>/pos.db to /mnt/usb/<user>-backups/x.db" },
    /* not the home (another folder), but still the name */
    { "/home/alicia/x and /home/alice.old/y and malice",
      "/home/alicia/x and /home/<user>.old/y and malice" },
    { "C:\\Users\\alice\\AppData", "C:\\Users\\<user>\\AppData" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = mw_support_redact_for (cases[i].input, "/home/alice/", "alice");

      g_assert_cmpstr (out, ==, cases[i].expected);
    }

  /* Without a home or a name, nothing of the kind is replaced; and the real ones. */
  {
    g_autofree char *out = mw_support_redact_for ("/home/alice/x", NULL, NULL);
    g_autofree char *path = g_build_filename (g_get_home_dir (), "pos_system.db", NULL);
    g_autofree char *real = mw_support_redact (path);

    g_assert_cmpstr (out, ==, "/home/alice/x");
    g_assert_cmpstr (real, ==, "~/pos_system.db");
  }
}

/* Invalid UTF-8 and large inputs are redacted, not passed through or dropped. */
static void
test_redact_odd_input (void)
{
  g_autofree char *null_text = mw_support_redact_for (NULL, NULL, NULL);
  g_autofree char *invalid = mw_support_redact_for ("pin = '" PIN "' \xff\xfe path", NULL, NULL);
  g_autoptr(GString) big = g_string_new (NULL);
  g_autofree char *big_out = NULL;

  g_assert_cmpstr (null_text, ==, "");
  assert_no_secret (invalid, PIN, "invalid UTF-8");
  g_assert_true (g_utf8_validate (invalid, -1, NULL));
  mw_test_assert_mentions (invalid, "path");

  for (guint i = 0; i < 2000; i++)
    g_string_append_printf (big, "2024-01-15 10:30:%02u  Step %u: pin = '%s', 'unterminated\n",
                            i % 60, i, PIN);
  g_string_append (big, "INSERT INTO t VALUES ('");
  for (guint i = 0; i < 50000; i++)
    g_string_append_c (big, 'a' + i % 26);
  big_out = mw_support_redact_for (big->str, NULL, NULL);
  assert_no_secret (big_out, PIN, "a large log");
  assert_no_secret (big_out, "abcdefghijklmnopqrstuvwxyz", "a large log");
  mw_test_assert_mentions (big_out, "Step 1999: pin = '[redacted]'");
}

/* The demo shop: a database named after its user, secrets in its rows, a migration
 * that fails on a statement quoting them, a log that mentions the rest. */

typedef struct
{
  char        *dir;
  char        *folder;
  char        *db;
  char        *backups;
  char        *bundle;
  MwSettings  *settings;
  MwDiagnosis *diagnosis;
  char        *failed_sql;
} Shop;

static const MwTestMigration shop_migrations[] = {
  { "0000_init", 1700000000000,
    "CREATE TABLE `users` (`id` text PRIMARY KEY NOT NULL, `username` text NOT NULL, "
    "`email` text NOT NULL, `pin_code` text, `password_hash` text);\n"
    "--> statement-breakpoint\n"
    "CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);\n"
    "--> statement-breakpoint\n"
    "CREATE TABLE `licences` (`id` text PRIMARY KEY NOT NULL, `licence_key` text NOT NULL, "
    "`activated_at` integer);" },
  { "0001_backfill_pins", 1700000100000,
    "UPDATE `users` SET `pin_code` = '" PIN "', `password_hash` = '" ARGON2 "' "
    "WHERE `email` = '" EMAIL "' AND abs(-9223372036854775807 - 1) > 0;" },
  { NULL }
};

static void
shop_set_up (Shop          *s,
             gconstpointer  data)
{
  g_autoptr(MwMigrationSet) set = NULL;
  g_autoptr(MwMigrator) migrator = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *detail = NULL;

  /* The shop keeps its database in a folder named after the user, its backups in
   * the home folder (the test's own). */
  s->dir = mw_test_make_tmp_dir (g_get_user_name ());
  s->folder = g_build_filename (s->dir, "migrations", NULL);
  s->db = g_build_filename (s->dir, "aurswift", "pos_system.db", NULL);
  s->backups = g_build_filename (g_get_home_dir (), ".config", "aurswift", "backups", NULL);
  s->bundle = g_build_filename (s->dir, "support-bundle.json", NULL);
  g_assert_cmpint (g_mkdir_with_parents (s->backups, 0700), ==, 0);
  {
    g_autofree char *db_dir = g_path_get_dirname (s->db);

    g_assert_cmpint (g_mkdir_with_parents (db_dir, 0700), ==, 0);
  }

  mw_test_write_migrations (s->folder, shop_migrations);
  set = mw_migration_set_load (s->folder, &error);
  g_assert_no_error (error);

  migrator = mw_migrator_new (s->db, set);
  mw_migrator_set_target (migrator, "0000_init");
  g_assert_true (mw_migrator_run (migrator, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&migrator);

  mw_test_sql_exec (s->db,
                    "INSERT INTO users VALUES ('u1', 'jane', '" EMAIL "', '" PIN "', '" ARGON2 "');"
                    "INSERT INTO users VALUES ('u2', 'sam', 'sam@example.com', '" PASSCODE "', '"
                    BCRYPT "');"
                    "INSERT INTO licences VALUES ('l1', '" LICENCE_SHORT "', 1700000000);");
  {
    g_autofree char *pin = mw_test_sql_text (s->db, "SELECT pin_code FROM users WHERE id = 'u1'");
    g_autofree char *key = mw_test_sql_text (s->db, "SELECT licence_key FROM licences");

    g_assert_cmpstr (pin, ==, PIN);
    g_assert_cmpstr (key, ==, LICENCE_SHORT);
  }

  /* The update fails on a statement that quotes a PIN, a hash and an e-mail; it
   * made its backup first. */
  migrator = mw_migrator_new (s->db, set);
  mw_migrator_set_backup (migrator, TRUE, s->backups);
  g_assert_false (mw_migrator_run (migrator, NULL, &error));
  g_assert_nonnull (error);
  s->failed_sql = g_strdup (mw_migrator_get_failed_sql (migrator));
  g_assert_nonnull (s->failed_sql);
  mw_test_assert_mentions (s->failed_sql, PIN);
  mw_test_assert_mentions (s->failed_sql, ARGON2_DIGEST);
  mw_test_assert_mentions (s->failed_sql, EMAIL);

  /* What a front logs of it, and what else a day at the till leaves in the log. */
  mw_log_add ("Update failed: %s", error->message);
  mw_log_add ("Failed statement: %s", s->failed_sql);
  mw_log_add ("Licence server: POST https://pos:" URL_PASSWORD "@licensing.example.com/activate "
              "{\"licence_key\":\"" LICENCE_SHORT "\",\"key\":\"" LICENCE_UPPER "\"} "
              "Authorization: Bearer " BEARER);
  mw_log_add ("Session token " JWT " refreshed");
  mw_log_add ("Payment terminal: card " CARD_SPACED " declined; earlier " CARD_DASHED
              " and " CARD_BARE);
  mw_log_add ("Payments configured with " SK_LIVE ", " SK_TEST " and " PK_LIVE);
  mw_log_add ("Staff login: passcode: " PASSCODE ", pin_hash = '" BCRYPT "'");
  mw_log_add ("Sync settings: password=" PASSWORD ", api_key: " API_KEY ", token=" TOKEN
              ", secret: \"" SECRET "\"");
  mw_log_add ("Receipt e-mailed to " EMAIL);
  g_log ("mw-test", G_LOG_LEVEL_INFO, "Opened %s for %s", s->db, g_get_user_name ());

  s->diagnosis = mw_diagnose (s->db, set, NULL);
  g_assert_cmpint (s->diagnosis->state, ==, MW_STATE_PENDING);
  /* A front shows the failure with the diagnosis. */
  detail = g_strdup_printf ("%s\nFailed statement: %s", error->message, s->failed_sql);
  g_free (s->diagnosis->detail);
  s->diagnosis->detail = g_steal_pointer (&detail);

  s->settings = mw_settings_new ();
  s->settings->database = g_strdup (s->db);
  s->settings->backup_dir = g_strdup (s->backups);
  s->settings->migrations = g_strdup (s->folder);
  s->settings->then_run = g_strdup ("/opt/aurswift/aurswift --licence-key=" LICENCE_UPPER
                                    " --sync-token=" SK_LIVE);
}

static void
remove_folder (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      g_assert_cmpint (g_unlink (child), ==, 0);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
shop_tear_down (Shop          *s,
                gconstpointer  data)
{
  remove_folder (s->backups);
  g_clear_pointer (&s->diagnosis, mw_diagnosis_unref);
  g_clear_pointer (&s->settings, mw_settings_free);
  mw_test_remove_tree (s->dir);
  g_free (s->dir);
  g_free (s->folder);
  g_free (s->db);
  g_free (s->backups);
  g_free (s->bundle);
  g_free (s->failed_sql);
}

/* Every string of a JSON document, decoded, one per line. */
static void
collect_strings (JsonNode *node,
                 GString  *out)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *child;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &child))
          {
            g_string_append_printf (out, "%s\n", name);
            collect_strings (child, out);
          }
      }
      break;
    case JSON_NODE_ARRAY:
      for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
        collect_strings (json_array_get_element (json_node_get_array (node), i), out);
      break;
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        g_string_append_printf (out, "%s\n", json_node_get_string (node));
      break;
    case JSON_NODE_NULL:
    default:
      break;
    }
}

/* Paths and names that say who the user is. */
static void
assert_no_person (const char *text,
                  Shop       *s,
                  const char *where)
{
  g_autofree char *named = g_strdup_printf ("/%s/", g_get_user_name ());

  assert_no_secret (text, g_get_home_dir (), where);
  assert_no_secret (text, s->db, where);
  assert_no_secret (text, s->dir, where);
  assert_no_secret (text, named, where);
}

static void
test_bundle_keeps_no_secret (Shop          *s,
                             gconstpointer  data)
{
  g_autoptr(MwDatabaseFacts) facts = mw_database_facts_read (s->db);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) strings = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *log = mw_log_dup_text ();
  g_autofree char *contents = NULL;
  g_autofree char *redacted_log = NULL;
  g_autofree char *sqlite_line = g_strdup_printf ("\"%s\"", sqlite3_libversion ());
  JsonObject *root, *diagnosis;
  JsonArray *backups;
  GStatBuf st;

  /* The planted values really are in what the bundle is made from. */
  g_assert_null (facts->error);
  mw_test_assert_mentions (log, LICENCE_SHORT);
  mw_test_assert_mentions (log, s->db);
  mw_test_assert_mentions (s->diagnosis->detail, ARGON2_SALT);

  g_assert_true (mw_support_write_bundle (s->bundle, s->diagnosis, s->settings, facts, log,
                                          &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (s->bundle, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* As text, as written … */
  g_assert_true (g_file_get_contents (s->bundle, &contents, NULL, NULL));
  assert_no_planted_secret (contents, "the bundle");
  assert_no_person (contents, s, "the bundle");

  /* … and decoded, every string of it. */
  g_assert_true (json_parser_load_from_data (parser, contents, -1, &error));
  g_assert_no_error (error);
  collect_strings (json_parser_get_root (parser), strings);
  assert_no_planted_secret (strings->str, "the bundle's strings");
  assert_no_person (strings->str, s, "the bundle's strings");

  /* What a technician needs is still there. */
  root = json_node_get_object (json_parser_get_root (parser));
  diagnosis = json_object_get_object_member (root, "diagnosis");
  g_assert_cmpstr (json_object_get_string_member (diagnosis, "state"), ==, "pending");
  g_assert_cmpstr (json_object_get_string_member (root, "sqlite_version"), ==,
                   sqlite3_libversion ());
  mw_test_assert_mentions (contents, sqlite_line);
  g_assert_cmpstr (json_object_get_string_member (diagnosis, "last_applied"), ==, "0000_init");
  mw_test_assert_mentions (json_object_get_string_member (diagnosis, "detail"),
                           "0001_backfill_pins");
  mw_test_assert_mentions (json_object_get_string_member (diagnosis, "detail"),
                           "UPDATE `users` SET `pin_code` = '[redacted]'");
  mw_test_assert_mentions (json_object_get_string_member (root, "database"),
                           "/<user>/aurswift/pos_system.db");
  g_assert_cmpstr (json_object_get_string_member (root, "backup_dir"), ==,
                   "~/.config/aurswift/backups");
  mw_test_assert_mentions (json_object_get_string_member (root, "then_run"),
                           "/opt/aurswift/aurswift --licence-key=");
  mw_test_assert_mentions (json_object_get_string_member (root, "log"), "users");
  mw_test_assert_mentions (json_object_get_string_member (root, "log"), "licensing.example.com");
  mw_test_assert_mentions (json_object_get_string_member (root, "log"), "Payment terminal: card");
  {
    JsonArray *migrations = json_object_get_array_member (diagnosis, "migrations");
    JsonObject *first = json_array_get_object_element (migrations, 0);

    g_assert_cmpuint (json_array_get_length (migrations), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (first, "tag"), ==, "0000_init");
    /* the migration's own digest stays comparable */
    g_assert_cmpuint (strlen (json_object_get_string_member (first, "hash")), ==, 64);
  }
  backups = json_object_get_array_member (root, "backups");
  g_assert_cmpuint (json_array_get_length (backups), ==, 1);
  {
    JsonObject *backup = json_array_get_object_element (backups, 0);

    mw_test_assert_mentions (json_object_get_string_member (backup, "file"),
                             "~/.config/aurswift/backups/aurswift-backup-");
    mw_test_assert_mentions (json_object_get_string_member (backup, "source"),
                             "/<user>/aurswift/pos_system.db");
    g_assert_cmpuint (strlen (json_object_get_string_member (backup, "sha256")), ==, 64);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (backup, "level"),
                                                    "tag"), ==, "0000_init");
  }

  /* The function on its own says the same of the raw log. */
  redacted_log = mw_support_redact (log);
  assert_no_planted_secret (redacted_log, "the redacted log");
  assert_no_person (redacted_log, s, "the redacted log");
  mw_test_assert_mentions (redacted_log, "Update failed: Update “0001_backfill_pins”");
}

static void
test_diagnostics_text_keeps_no_secret (Shop          *s,
                                       gconstpointer  data)
{
  g_autoptr(MwDatabaseFacts) facts = mw_database_facts_read (s->db);
  g_autofree char *text = mw_support_diagnostics_text (s->diagnosis, s->settings, facts);

  assert_no_planted_secret (text, "the diagnostics text");
  assert_no_person (text, s, "the diagnostics text");
  mw_test_assert_mentions (text, "State: pending");
  mw_test_assert_mentions (text, sqlite3_libversion ());
  mw_test_assert_mentions (text, "0001_backfill_pins");
  mw_test_assert_mentions (text, "1700000100000");
  mw_test_assert_mentions (text, "Backups: ~/.config/aurswift/backups");
  mw_test_assert_mentions (text, "/<user>/aurswift/pos_system.db");
  mw_test_assert_mentions (text, "Journal mode: ");
}

/* The persistent log. The log is one per process: each test uses its own file. */

static char *
log_dir_make (void)
{
  return mw_test_make_tmp_dir ("logs");
}

static void
test_log_file_appends (void)
{
  g_autofree char *dir = log_dir_make ();
  g_autofree char *path = g_build_filename (dir, "migration-wizard.log", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *text = NULL;
  g_autofree char *home_path = g_build_filename (g_get_home_dir (), "pos_system.db", NULL);
  GStatBuf st;

  /* Lines logged before the file is known reach it too. */
  mw_log_add ("Before the file: %u", 1);
  mw_log_set_file (path);
  mw_log_add ("Opened %s", home_path);
  mw_log_add ("Update failed: UPDATE users SET pin_code = '%s'", PIN);
  g_log ("mw-test", G_LOG_LEVEL_INFO, "An engine message from domain mw-test");
  g_log ("other", G_LOG_LEVEL_INFO, "A message from another library");
  mw_log_set_file (NULL);
  mw_log_add ("After the file");

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  mw_test_assert_mentions (contents, "  Before the file: 1\n");
  mw_test_assert_mentions (contents, "  Opened ~/pos_system.db\n");
  mw_test_assert_mentions (contents, "  Update failed: UPDATE users SET pin_code = '[redacted]'\n");
  mw_test_assert_mentions (contents, "  An engine message from domain mw-test\n");
  g_assert_null (strstr (contents, "another library"));
  g_assert_null (strstr (contents, "After the file"));
  assert_no_secret (contents, PIN, "the log file");

  /* This run's lines, as logged, still come from memory. */
  text = mw_log_dup_text ();
  mw_test_assert_mentions (text, "Before the file: 1");
  mw_test_assert_mentions (text, home_path);
  mw_test_assert_mentions (text, "After the file");

  /* A later run appends; a file left readable by others is made private again. */
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  mw_log_set_file (path);
  mw_log_add ("Second run");
  mw_log_set_file (NULL);
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  mw_test_assert_mentions (contents, "Before the file: 1");
  mw_test_assert_mentions (contents, "  Second run\n");
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  mw_test_remove_tree (dir);
}

/* A log file goes to .1 before it would grow past the bound; one old part is kept. */
static void
test_log_file_rotates (void)
{
  g_autofree char *dir = log_dir_make ();
  g_autofree char *path = g_build_filename (dir, "migration-wizard.log", NULL);
  g_autofree char *old = g_strconcat (path, ".1", NULL);
  g_autofree char *old2 = g_strconcat (path, ".2", NULL);
  g_autofree char *filler = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *old_contents = NULL;
  GString *words = g_string_new (NULL);
  guint lines = 0;
  GStatBuf st;

  while (words->len < 8000)
    g_string_append (words, "lorem ipsum dolor sit amet ");
  filler = g_string_free (words, FALSE);

  mw_log_set_file (path);
  /* Past the bound once: the first lines move to .1. */
  while (lines * 8000 < MW_LOG_FILE_MAX_SIZE + 100000)
    {
      mw_log_add ("Line %u %s", lines, filler);
      lines++;
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_size, <=, MW_LOG_FILE_MAX_SIZE);
    }
  g_assert_true (g_file_test (old, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (old, &old_contents, NULL, NULL));
  mw_test_assert_mentions (old_contents, "  Line 0 lorem");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_null (strstr (contents, "  Line 0 lorem"));
  {
    g_autofree char *last = g_strdup_printf ("  Line %u lorem", lines - 1);

    mw_test_assert_mentions (contents, last);
  }
  g_assert_cmpint (g_stat (old, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Past it again: the previous .1 is replaced, not kept as .2. */
  for (guint i = 0; i * 8000 < MW_LOG_FILE_MAX_SIZE; i++)
    mw_log_add ("Again %u %s", i, filler);
  mw_log_set_file (NULL);
  g_clear_pointer (&old_contents, g_free);
  g_assert_true (g_file_get_contents (old, &old_contents, NULL, NULL));
  g_assert_null (strstr (old_contents, "  Line 0 lorem"));
  g_assert_false (g_file_test (old2, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_size, <=, MW_LOG_FILE_MAX_SIZE);

  mw_test_remove_tree (dir);
}

/* A symlink planted at the log's path is not followed: nothing is written, the
 * wizard carries on, and what the link points to is unchanged. */
static void
test_log_file_refuses_symlink (void)
{
  g_autofree char *dir = log_dir_make ();
  g_autofree char *path = g_build_filename (dir, "migration-wizard.log", NULL);
  g_autofree char *target = g_build_filename (dir, "shop-data.txt", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *text = NULL;

  mw_test_write_file (target, "precious\n");
  g_assert_cmpint (chmod (target, 0644), ==, 0);
  g_assert_cmpint (symlink (target, path), ==, 0);

  mw_log_set_file (path);
  mw_log_add ("Through the link?");
  mw_log_set_file (NULL);

  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious\n");
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_SYMLINK));
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (target, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0644);
  }
  text = mw_log_dup_text ();
  mw_test_assert_mentions (text, "Through the link?");

  mw_test_remove_tree (dir);
}

/* A folder that does not exist yet: lines wait for it (the backups folder is made by
 * the first backup). */
static void
test_log_file_waits_for_its_folder (void)
{
  g_autofree char *dir = log_dir_make ();
  g_autofree char *backups = g_build_filename (dir, "backups", NULL);
  g_autofree char *path = g_build_filename (backups, "migration-wizard.log", NULL);
  g_autofree char *contents = NULL;

  mw_log_set_file (path);
  mw_log_add ("Diagnosis: pending");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_mkdir (backups, 0700), ==, 0);
  mw_log_add ("Backup made");
  mw_log_set_file (NULL);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  mw_test_assert_mentions (contents, "  Diagnosis: pending\n");
  mw_test_assert_mentions (contents, "  Backup made\n");

  mw_test_remove_tree (dir);
}

static gpointer
log_from_thread (gpointer data)
{
  for (guint i = 0; i < 200; i++)
    mw_log_add ("Worker %u step %u", GPOINTER_TO_UINT (data), i);
  return NULL;
}

/* Engine workers log from their threads: every line reaches the file whole, once. */
static void
test_log_file_threads (void)
{
  g_autofree char *dir = log_dir_make ();
  g_autofree char *path = g_build_filename (dir, "migration-wizard.log", NULL);
  g_autofree char *contents = NULL;
  GThread *threads[4];

  mw_log_set_file (path);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    threads[t] = g_thread_new ("mw-test-log", log_from_thread, GUINT_TO_POINTER (t));
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
  mw_log_set_file (NULL);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    for (guint i = 0; i < 200; i++)
      {
        g_autofree char *line = g_strdup_printf ("  Worker %u step %u\n", t, i);
        const char *first = strstr (contents, line);

        g_assert_nonnull (first);
        g_assert_null (strstr (first + 1, line));
      }

  mw_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = mw_test_make_tmp_dir ("home");
  int status;

  /* A home folder of our own (the bundle's backups live there), set before anything
   * asks for it; GTest's isolated folders would leak under LeakSanitizer. */
  g_setenv ("HOME", home, TRUE);
  g_assert_cmpstr (g_get_home_dir (), ==, home);

  g_test_init (&argc, &argv, NULL);
  mw_log_install ();

  g_test_add_func ("/mw/engine/support/redact/each-secret", test_redact_each_secret);
  g_test_add_func ("/mw/engine/support/redact/keeps-useful-text", test_redact_keeps_useful_text);
  g_test_add_func ("/mw/engine/support/redact/home-and-user", test_redact_home_and_user);
  g_test_add_func ("/mw/engine/support/redact/odd-input", test_redact_odd_input);
  g_test_add ("/mw/engine/support/bundle/no-secret-survives", Shop, NULL,
              shop_set_up, test_bundle_keeps_no_secret, shop_tear_down);
  g_test_add ("/mw/engine/support/diagnostics-text/no-secret-survives", Shop, NULL,
              shop_set_up, test_diagnostics_text_keeps_no_secret, shop_tear_down);
  g_test_add_func ("/mw/engine/log/file/appends", test_log_file_appends);
  g_test_add_func ("/mw/engine/log/file/rotates", test_log_file_rotates);
  g_test_add_func ("/mw/engine/log/file/refuses-symlink", test_log_file_refuses_symlink);
  g_test_add_func ("/mw/engine/log/file/waits-for-its-folder", test_log_file_waits_for_its_folder);
  g_test_add_func ("/mw/engine/log/file/threads", test_log_file_threads);

  status = g_test_run ();
  mw_test_remove_tree (home);
  return status;
}
