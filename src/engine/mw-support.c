/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-support"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "mw-backup.h"
#include "mw-db-private.h"
#include "mw-fs-private.h"
#include "mw-support.h"

/*
 * Diagnostics for technicians: database facts, the text copied to the clipboard and
 * the support bundle, for both fronts. A bundle holds no customer rows (no table is
 * ever read but the schema's pragmas and __drizzle_migrations, through the
 * diagnosis), and every text in it, down to the paths, goes through
 * mw_support_redact(): a failed statement or an error can quote a PIN, a password
 * hash or a licence key, and a path names the user.
 */

void
mw_database_facts_free (MwDatabaseFacts *facts)
{
  if (facts == NULL)
    return;
  g_free (facts->path);
  g_free (facts->journal_mode);
  g_free (facts->encoding);
  g_free (facts->error);
  g_free (facts);
}

static goffset
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (goffset) st.st_size : -1;
}

static gint64
pragma_int (sqlite3    *db,
            const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value = -1;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

static char *
pragma_text (sqlite3    *db,
             const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return value;
}

/**
 * mw_database_facts_read:
 *
 * Reads the file's sizes and header facts through SQLite, read-only (a missing
 * file is not created). Blocks for at most a second when another program holds
 * the database.
 */
MwDatabaseFacts *
mw_database_facts_read (const char *database_path)
{
  MwDatabaseFacts *facts;
  g_autofree char *wal = NULL;
  g_autoptr(GError) open_error = NULL;
  sqlite3 *db = NULL;

  g_return_val_if_fail (database_path != NULL, NULL);

  facts = g_new0 (MwDatabaseFacts, 1);
  wal = g_strconcat (database_path, "-wal", NULL);
  facts->path = g_strdup (database_path);
  facts->size = file_size (database_path);
  facts->wal_size = MAX (file_size (wal), 0);
  facts->page_size = facts->page_count = facts->freelist_count = -1;

  if (facts->size < 0)
    {
      facts->error = g_strdup (_("The file does not exist."));
      return facts;
    }
  /* Read without changing anything: not a FIFO SQLite would wait on, not a set SQLite
   * would rewrite just by opening it. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *why = mw_set_sqlite_would_modify (database_path);

    if (!mw_fs_check_database_file (database_path, &error))
      {
        facts->error = g_strdup (error->message);
        return facts;
      }
    if (why != NULL)
      {
        facts->error = g_strdup (why);
        return facts;
      }
  }
  db = mw_db_open (database_path, SQLITE_OPEN_READONLY, 1000, &open_error);
  if (db == NULL)
    {
      facts->error = g_strdup (open_error->message);
      return facts;
    }
  facts->page_size = pragma_int (db, "PRAGMA page_size");
  facts->page_count = pragma_int (db, "PRAGMA page_count");
  facts->freelist_count = pragma_int (db, "PRAGMA freelist_count");
  facts->journal_mode = pragma_text (db, "PRAGMA journal_mode");
  facts->encoding = pragma_text (db, "PRAGMA encoding");
  if (facts->page_count < 0)
    facts->error = g_strdup (sqlite3_errmsg (db));
  sqlite3_close (db);
  return facts;
}

static void
facts_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  g_task_return_pointer (task, mw_database_facts_read (task_data),
                         (GDestroyNotify) mw_database_facts_free);
}

void
mw_database_facts_read_async (const char          *database_path,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, mw_database_facts_read_async);
  g_task_set_task_data (task, g_strdup (database_path), g_free);
  g_task_run_in_thread (task, facts_thread);
}

MwDatabaseFacts *
mw_database_facts_read_finish (GAsyncResult  *result,
                               GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/*
 * Redaction.
 *
 * Every free text that leaves the machine in a bundle, or outlives the run in the log
 * file, goes through mw_support_redact(): log lines, error messages, failed SQL, paths,
 * the command to run after an update. The rules are ordered from the most specific
 * (a URL's password, a bearer token, a password hash) to the most general (anything
 * named like a secret, long random-looking runs), so that each sees what the ones
 * before left; each match becomes "[redacted]". Then the home folder becomes "~" and
 * the user's name "<user>". Wrongly masking a harmless word costs a technician a
 * question; letting a PIN through costs the shop. When in doubt, a rule masks.
 */

#define REDACTED "[redacted]"
#define REDACTION_FAILED "[redacted: this text could not be checked]"

typedef enum
{
  RULE_REPLACE,      /* the whole match */
  RULE_KEEP_AROUND,  /* all but groups 1 and 2 (either may be empty) */
  RULE_VALUES,       /* SQL VALUES (...) lists: every literal */
  RULE_NAMED,        /* name = value: the value, when the name is a secret's */
  RULE_LICENCE,      /* groups of 4-6 letters and digits, when they look like a key */
  RULE_CARD,         /* 13-19 digits, when not a timestamp in milliseconds */
  RULE_RANDOM,       /* a long run of base64 that mixes cases and digits */
} RuleKind;

typedef struct
{
  RuleKind    kind;
  const char *pattern;
} Rule;

static const Rule rules[] = {
  /* https://user:password@host */
  { RULE_KEEP_AROUND,
    "(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://[^\\s/?#@:]*+:)[^\\s/?#@]*+(@)" },
  /* Authorization: Bearer …, "authorization": "Basic …" */
  { RULE_KEEP_AROUND,
    "(?i)((?<![A-Za-z0-9_-])(?:proxy-)?authorization\\\\?[\"']?\\s*+[:=]\\s*+\\\\?[\"']?)"
    "(?:(?:bearer|basic|digest|negotiate|token)\\s++)?[^\\s\"'\\\\,;]++()" },
  { RULE_KEEP_AROUND, "(?i)(\\bbearer\\s++)[A-Za-z0-9._~+/=-]++()" },
  /* JSON web tokens, even cut short: a header always starts with eyJ ('{"') */
  { RULE_REPLACE, "(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}+(?:\\.[A-Za-z0-9_-]*+){0,2}+" },
  /* payment and platform API keys */
  { RULE_REPLACE,
    "(?<![A-Za-z0-9])(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9_]*+|whsec_[A-Za-z0-9]++"
    "|gh[pousr]_[A-Za-z0-9]{8,}+|github_pat_[A-Za-z0-9_]++|xox[abprs]-[A-Za-z0-9-]++"
    "|AKIA[0-9A-Z]{16})" },
  /* password hashes: Django's and Werkzeug's forms, then modular crypt (bcrypt, argon2
   * with its parameters, salt and digest, scrypt, pbkdf2, sha-crypt) */
  { RULE_REPLACE,
    "(?<![A-Za-z0-9_])(?:pbkdf2_sha(?:1|256|512)|bcrypt_sha256|argon2|bcrypt|scrypt)"
    "\\$[A-Za-z0-9./+=,$_-]++" },
  { RULE_REPLACE, "(?<![A-Za-z0-9_])(?:pbkdf2|scrypt):[A-Za-z0-9:]++\\$[A-Za-z0-9./+=$_-]++" },
  { RULE_REPLACE,
    "\\$(?:2[abxy]?|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha(?:1|256|512))?|sha1|md5|[156]|y|gy|7)"
    "\\$[A-Za-z0-9./+=,$_-]*+" },
  /* e-mail addresses */
  { RULE_REPLACE, "[A-Za-z0-9._%+-]++@(?:[A-Za-z0-9-]++\\.)++[A-Za-z]{2,}+" },
  /* INSERT … VALUES (…), (…): a failed insert quotes a customer's row */
  { RULE_VALUES,
    "(?i)(\\bvalues\\s*+)\\((?:'(?:[^']++|'')*+'?|\"[^\"]*+\"?|[^'\")]++)*+\\)?"
    "(?:\\s*+,\\s*+\\((?:'(?:[^']++|'')*+'?|\"[^\"]*+\"?|[^'\")]++)*+\\)?)*+" },
  /* name = value, name: value, "name": "value", `name` = 'value', name LIKE '…',
   * JSON quoted inside a string (\"name\":\"value\"), a value that is an object or a
   * list; the name decides (is_secret_name) */
  { RULE_NAMED,
    "(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_.-]*+)"
    "(\\\\?[\"'`\\]]?(?:\\s*+(?:==|!=|<>|[:=])|\\s++(?i:like|glob)(?=\\s))\\s*+)"
    "(\\\\\"[^\"\\\\\\n]*+(?:\\\\\")?|\"(?:[^\"\\\\\\n]++|\\\\.)*+\"?|'(?:[^'\\n]++|'')*+'?"
    "|`[^`\\n]*+`?|\\{[^{}\\n]*+\\}?|\\[[^\\[\\]\\n]*+\\]?|[^\\s,;)}\\]\\[&'\"`\\\\]++)" },
  /* licence keys, any case, short forms too (not UUIDs: their first group has 8) */
  { RULE_LICENCE,
    "(?<![A-Za-z0-9])(?<![0-9A-Fa-f]{8}-)[A-Za-z0-9]{4,6}(?:-[A-Za-z0-9]{4,6}){2,}"
    "(?![A-Za-z0-9])" },
  /* card numbers, bare or in groups */
  { RULE_CARD,
    "(?<![A-Za-z0-9.])(?:[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{2,6}){2,4})(?![A-Za-z0-9])" },
  /* long hex: digests, keys, session ids */
  { RULE_REPLACE, "(?<![A-Za-z0-9])[0-9a-fA-F]{32,}+(?![A-Za-z0-9])" },
  /* long base64 / base64url runs: keys, tokens */
  { RULE_RANDOM, "(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{40,}+={0,2}" },
};

static GRegex **
redact_regexes (void)
{
  static GRegex *regexes[G_N_ELEMENTS (rules)];
  static gsize compiled = 0;

  if (g_once_init_enter (&compiled))
    {
      for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
        /* NULL only for a mistake in the table above, which the tests catch; the
         * redaction then fails closed. No logging here: the log redacts too. Not
         * JIT-compiled (G_REGEX_OPTIMIZE): compiling costs more than the log lines of
         * a run take to match, and every run writes one. */
        regexes[i] = g_regex_new (rules[i].pattern, 0, 0, NULL);
      g_once_init_leave (&compiled, 1);
    }
  return regexes;
}

/* Whether a name, split into words (at punctuation and at camelCase), has a word
 * that names a secret: pin_code, pinCode, PASSWORD_HASH, x-api-key, licenceKey. */
static gboolean
is_secret_name (const char *name)
{
  static const char * const words[] = {
    "password", "passwd", "pwd", "pass", "passphrase", "passcode", "pin", "pincode",
    "pinhash", "token", "secret", "key", "apikey", "hash", "salt", "otp", "credential",
    "credentials", "auth", "authorization", "cookie", "cvv", "cvc", NULL
  };
  static const char * const endings[] = {
    "password", "passwd", "passcode", "token", "secret", "key", "hash", "salt", NULL
  };
  const char *p = name;

  while (*p != '\0')
    {
      g_autofree char *word = NULL;
      const char *start;

      while (*p != '\0' && !g_ascii_isalnum (*p))
        p++;
      start = p;
      while (g_ascii_isalnum (*p) &&
             !(p > start && g_ascii_islower (p[-1]) && g_ascii_isupper (*p)))
        p++;
      if (p == start)
        break;
      word = g_ascii_strdown (start, p - start);
      if (g_strv_contains (words, word))
        return TRUE;
      for (guint i = 0; endings[i] != NULL; i++)
        if (g_str_has_suffix (word, endings[i]))
          return TRUE;
    }
  return FALSE;
}

/* The value replaced, its quotes kept so that JSON and SQL still read as such. */
static void
append_redacted_value (GString    *out,
                       const char *value)
{
  gsize len = strlen (value);

  if (g_str_has_prefix (value, "\\\""))
    g_string_append (out, len >= 4 && g_str_has_suffix (value, "\\\"")
                          ? "\\\"" REDACTED "\\\"" : "\\\"" REDACTED);
  else if (value[0] == '"' || value[0] == '\'' || value[0] == '`')
    {
      g_string_append_c (out, value[0]);
      g_string_append (out, REDACTED);
      if (len >= 2 && value[len - 1] == value[0])
        g_string_append_c (out, value[0]);
    }
  else
    g_string_append (out, REDACTED);
}

/* Groups of 4-6 with a digit (AURS-1234-ABCD-5678, aurs-12ab-34cd), or four or more
 * groups of capitals; not words joined by dashes (fresh-start-done). */
static gboolean
looks_like_licence (const char *text)
{
  gboolean digit = FALSE, lower = FALSE;
  guint groups = 1;

  for (const char *p = text; *p != '\0'; p++)
    {
      digit |= g_ascii_isdigit (*p);
      lower |= g_ascii_islower (*p);
      groups += *p == '-';
    }
  return digit || (!lower && groups >= 4);
}

/* 13-19 digits; bare, 13 digits from a 1 are a time in milliseconds (2001-2033),
 * which the wizard prints for migrations, not a card (no card scheme starts so). */
static gboolean
looks_like_card (const char *text)
{
  guint digits = 0;
  gboolean grouped = FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      digits += g_ascii_isdigit (*p);
      grouped |= !g_ascii_isdigit (*p);
    }
  if (grouped)
    return digits >= 13;
  return digits >= 13 && digits <= 19 && !(digits == 13 && text[0] == '1');
}

/* Random-looking: mixes capitals, small letters and digits; not a path. */
static gboolean
looks_random (const char *text)
{
  gboolean digit = FALSE, lower = FALSE, upper = FALSE;

  if (text[0] == '/')
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    {
      digit |= g_ascii_isdigit (*p);
      lower |= g_ascii_islower (*p);
      upper |= g_ascii_isupper (*p);
    }
  return digit && lower && upper;
}

static gboolean
redact_cb (const GMatchInfo *info,
           GString          *out,
           gpointer          user_data)
{
  RuleKind kind = GPOINTER_TO_INT (user_data);
  g_autofree char *whole = g_match_info_fetch (info, 0);

  switch (kind)
    {
    case RULE_REPLACE:
      g_string_append (out, REDACTED);
      break;

    case RULE_KEEP_AROUND:
      {
        g_autofree char *before = g_match_info_fetch (info, 1);
        g_autofree char *after = g_match_info_fetch (info, 2);

        g_string_append (out, before ? before : "");
        g_string_append (out, REDACTED);
        g_string_append (out, after ? after : "");
      }
      break;

    case RULE_VALUES:
      {
        g_autofree char *keyword = g_match_info_fetch (info, 1);

        g_string_append (out, keyword ? keyword : "");
        g_string_append (out, "(" REDACTED ")");
      }
      break;

    case RULE_LICENCE:
      g_string_append (out, looks_like_licence (whole) ? REDACTED : whole);
      break;

    case RULE_CARD:
      g_string_append (out, looks_like_card (whole) ? REDACTED : whole);
      break;

    case RULE_RANDOM:
      g_string_append (out, looks_random (whole) ? REDACTED : whole);
      break;

    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

static gboolean
is_sql_parameter (const char *value)
{
  return value[0] == '?' && strspn (value + 1, "0123456789") == strlen (value + 1);
}

/* name = value: the value goes when the name is a secret's. Otherwise only the name
 * and the separator are passed over, and the value is searched again, as it may be or
 * hold a name and value itself: "login: passcode: 1234", data='{"pin": "7788"}'. */
static char *
redact_named (GRegex     *regex,
              const char *text)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gsize len = strlen (text);
  gsize pos = 0;

  while (pos < len)
    {
      g_autoptr(GMatchInfo) info = NULL;
      g_autofree char *name = NULL;
      g_autofree char *value = NULL;
      int start, name_end, value_start, end;

      if (!g_regex_match_full (regex, text, len, pos, 0, &info, &error))
        break;
      g_match_info_fetch_pos (info, 0, &start, &end);
      g_match_info_fetch_pos (info, 1, NULL, &name_end);
      g_match_info_fetch_pos (info, 3, &value_start, NULL);
      g_assert ((gsize) start >= pos && name_end > start && value_start >= name_end);
      name = g_match_info_fetch (info, 1);
      value = g_match_info_fetch (info, 3);

      g_string_append_len (out, text + pos, value_start - pos);
      /* A bound parameter (pin_code = ?) is no value: the SQL stays readable. */
      if (is_secret_name (name) && !is_sql_parameter (value))
        {
          append_redacted_value (out, value);
          pos = end;
        }
      else
        pos = value_start;
    }
  if (error != NULL)
    return NULL;
  g_string_append (out, text + pos);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Replaces @needle where it stands alone: neither side touches a letter or a digit,
 * nor, with @path, a character that continues a file name (so that a home of
 * /home/al leaves /home/alice alone). */
static void
replace_standalone (GString    *text,
                    const char *needle,
                    const char *with,
                    gboolean    path)
{
  gsize len = strlen (needle);
  gsize i = 0;

  while (len > 0 && i + len <= text->len)
    {
      char before = i > 0 ? text->str[i - 1] : ' ';
      char after = text->str[i + len];
      gboolean name_before = g_ascii_isalnum (before) ||
                             (path && strchr ("._-", before) != NULL && before != '\0');
      gboolean name_after = g_ascii_isalnum (after) ||
                            (path && after != '\0' && strchr ("._-", after) != NULL);
      gboolean same = path ? strncmp (text->str + i, needle, len) == 0
                           : g_ascii_strncasecmp (text->str + i, needle, len) == 0;

      if (same && !name_before && !name_after)
        {
          g_string_erase (text, i, len);
          g_string_insert (text, i, with);
          i += strlen (with);
        }
      else
        i++;
    }
}

/**
 * mw_support_redact_for:
 * @text: (nullable): any text: log lines, error messages, failed SQL, paths
 * @home_dir: (nullable): the home folder, shown as "~"
 * @user_name: (nullable): the user's login name, shown as "<user>"
 *
 * Masks what may be a secret or personal: passwords and PINs stored as SQL or JSON
 * values, anything named like a password, PIN, passcode, token, secret or key,
 * password hashes (bcrypt, argon2 with salt and digest, scrypt, pbkdf2, sha-crypt),
 * licence keys, bearer tokens and Authorization headers, JSON web tokens, API keys
 * (sk_live_…), card numbers, e-mail addresses, passwords in URLs, the literals of
 * SQL VALUES lists, long hex and base64 runs. A pure function of its arguments.
 *
 * Returns: (transfer full): the text with each such value replaced by [redacted]
 */
char *
mw_support_redact_for (const char *text,
                       const char *home_dir,
                       const char *user_name)
{
  GRegex **regexes = redact_regexes ();
  g_autofree char *result = g_utf8_make_valid (text ? text : "", -1);
  GString *out;

  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      char *next;

      if (regexes[i] == NULL)
        return g_strdup (REDACTION_FAILED);
      if (rules[i].kind == RULE_NAMED)
        next = redact_named (regexes[i], result);
      else
        next = g_regex_replace_eval (regexes[i], result, -1, 0, 0, redact_cb,
                                     GINT_TO_POINTER (rules[i].kind), NULL);
      /* A match that gives up (PCRE's limits) must not let the text through. */
      if (next == NULL)
        return g_strdup (REDACTION_FAILED);
      g_free (result);
      result = next;
    }

  out = g_string_new (result);
  if (home_dir != NULL && home_dir[0] != '\0')
    {
      g_autofree char *home = g_strdup (home_dir);
      gsize len = strlen (home);

      while (len > 1 && home[len - 1] == G_DIR_SEPARATOR)
        home[--len] = '\0';
      if (len > 1)
        replace_standalone (out, home, "~", TRUE);
    }
  if (user_name != NULL && user_name[0] != '\0')
    replace_standalone (out, user_name, "<user>", FALSE);
  return g_string_free (out, FALSE);
}

/**
 * mw_support_redact:
 * @text: (nullable)
 *
 * mw_support_redact_for() with this user's home folder and name.
 *
 * Returns: (transfer full): the text with secrets replaced by [redacted]
 */
char *
mw_support_redact (const char *text)
{
  return mw_support_redact_for (text, g_get_home_dir (), g_get_user_name ());
}

static void
append_size (GString    *out,
             const char *name,
             goffset     bytes)
{
  g_string_append_printf (out, "%s: %" G_GOFFSET_FORMAT " bytes (%.1f MB)\n", name, bytes,
                          (double) bytes / (1024.0 * 1024.0));
}

static const char *
or_unknown (const char *text)
{
  return text != NULL ? text : "?";
}

/**
 * mw_support_diagnostics_text:
 * @diagnosis: (nullable)
 * @facts: (nullable)
 *
 * Returns: (transfer full): a plain-text summary a technician can paste into a
 *   ticket: versions, paths, state, migration table, database facts; redacted
 */
char *
mw_support_diagnostics_text (MwDiagnosis      *diagnosis,
                             const MwSettings *settings,
                             MwDatabaseFacts  *facts)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_return_val_if_fail (settings != NULL, NULL);

  g_string_append_printf (out, "Migration Wizard %s, SQLite %s, GLib %u.%u.%u\n",
                          PACKAGE_VERSION, sqlite3_libversion (), glib_major_version,
                          glib_minor_version, glib_micro_version);
  g_string_append_printf (out, "Database: %s\n", or_unknown (settings->database));
  g_string_append_printf (out, "Backups: %s\n", or_unknown (settings->backup_dir));
  if (settings->config_path != NULL)
    g_string_append_printf (out, "Configuration: %s\n", settings->config_path);
  if (diagnosis != NULL)
    {
      g_string_append_printf (out, "State: %s\n", mw_state_to_string (diagnosis->state));
      g_string_append_printf (out, "Message: %s\n", or_unknown (diagnosis->message));
      if (diagnosis->detail != NULL)
        g_string_append_printf (out, "Detail: %s\n", diagnosis->detail);
      if (diagnosis->set != NULL)
        g_string_append_printf (out, "Migrations: %s\n",
                                mw_migration_set_get_folder (diagnosis->set));
      g_string_append_printf (out, "Applied: %u, pending: %u (out of order: %u), modified: %u\n",
                              diagnosis->n_applied, diagnosis->n_pending,
                              diagnosis->n_out_of_order, diagnosis->n_modified);
      if (diagnosis->lock_pid > 0)
        g_string_append_printf (out, "Held by: %s (pid %d)\n",
                                or_unknown (diagnosis->lock_process), diagnosis->lock_pid);
      for (guint i = 0; diagnosis->migrations && i < diagnosis->migrations->len; i++)
        {
          MwMigrationState *m = &g_array_index (diagnosis->migrations, MwMigrationState, i);

          g_string_append_printf (out, "  %-40s %13" G_GINT64_FORMAT " %.12s %s\n",
                                  m->migration->tag, m->migration->when, m->migration->hash,
                                  mw_migration_status_to_string (m->status));
        }
      for (guint i = 0; diagnosis->unknown && i < diagnosis->unknown->len; i++)
        {
          MwAppliedRow *row = g_ptr_array_index (diagnosis->unknown, i);

          g_string_append_printf (out,
                                  "  unknown row: hash %.12s created_at %" G_GINT64_FORMAT "\n",
                                  row->hash ? row->hash : "", row->created_at);
        }
      /* The tables against the app's schema (untracked, unknown history, changed
       * migrations): what keeping the data would do, difference by difference. */
      if (diagnosis->schema != NULL)
        {
          g_autofree char *schema = mw_schema_check_to_text (diagnosis->schema, diagnosis->set);

          g_string_append_printf (out, "Schema: %s", schema);
        }
    }
  if (facts != NULL)
    {
      append_size (out, "Size", facts->size);
      append_size (out, "WAL size", facts->wal_size);
      g_string_append_printf (out, "Page size: %" G_GINT64_FORMAT ", pages: %" G_GINT64_FORMAT
                              ", free pages: %" G_GINT64_FORMAT "\n",
                              facts->page_size, facts->page_count, facts->freelist_count);
      g_string_append_printf (out, "Journal mode: %s, encoding: %s\n",
                              or_unknown (facts->journal_mode), or_unknown (facts->encoding));
      if (facts->error != NULL)
        g_string_append_printf (out, "Could not read: %s\n", facts->error);
    }

  /* All of it, paths and the engine's messages included: an error quotes what it
   * failed on. The migrations' times and 12-digit hash prefixes pass. */
  return mw_support_redact (out->str);
}

static void
add_string_or_null (JsonBuilder *builder,
                    const char  *name,
                    const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

/* The SHA-256 of a migration file or a backup, which the engine computed itself: kept,
 * so that a technician can compare them; any other value under these names is not. */
static gboolean
is_own_digest (const char *member,
               const char *value)
{
  static const char * const digests[] = { "hash", "applied_hash", "sha256", NULL };

  if (member == NULL || !g_strv_contains (digests, member) || strlen (value) != 64)
    return FALSE;
  for (const char *p = value; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  return TRUE;
}

/* Redacts every string in the tree, whatever put it there. */
static void
redact_json (JsonNode   *node,
             const char *member)
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
          redact_json (child, name);
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          redact_json (json_array_get_element (array, i), member);
      }
      break;

    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        {
          const char *value = json_node_get_string (node);

          if (value != NULL && !is_own_digest (member, value))
            {
              g_autofree char *redacted = mw_support_redact (value);

              json_node_set_string (node, redacted);
            }
        }
      break;

    case JSON_NODE_NULL:
    default:
      break;
    }
}

/**
 * mw_support_write_bundle:
 * @diagnosis: (nullable)
 * @facts: (nullable)
 * @log: (nullable): the operation log
 *
 * Writes one JSON file (mode 0600) with everything a support technician needs:
 * versions, settings, the diagnosis (migration table, unknown rows), database facts,
 * the backups' descriptions and the operation log. No table rows; every string in it
 * redacted, paths included.
 */
gboolean
mw_support_write_bundle (const char        *path,
                         MwDiagnosis       *diagnosis,
                         const MwSettings  *settings,
                         MwDatabaseFacts   *facts,
                         const char        *log,
                         GError           **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) backups = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *created = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (settings->backup_dir != NULL)
    backups = mw_backup_list (settings->backup_dir, NULL);

  json_builder_begin_object (builder);
  add_string_or_null (builder, "bundle", "migration-wizard support bundle");
  add_string_or_null (builder, "created", created);
  add_string_or_null (builder, "version", PACKAGE_VERSION);
  add_string_or_null (builder, "sqlite_version", sqlite3_libversion ());
  add_string_or_null (builder, "database", settings->database);
  add_string_or_null (builder, "backup_dir", settings->backup_dir);
  add_string_or_null (builder, "migrations",
                      settings->migrations ? settings->migrations : settings->config_migrations);
  add_string_or_null (builder, "config", settings->config_path);
  add_string_or_null (builder, "then_run", settings->then_run);
  json_builder_set_member_name (builder, "after_update");
  json_builder_add_boolean_value (builder, settings->after_update);

  if (diagnosis != NULL)
    {
      json_builder_set_member_name (builder, "diagnosis");
      mw_diagnosis_to_json (diagnosis, builder);
    }

  if (facts != NULL)
    {
      json_builder_set_member_name (builder, "facts");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, facts->size);
      json_builder_set_member_name (builder, "wal_size");
      json_builder_add_int_value (builder, facts->wal_size);
      json_builder_set_member_name (builder, "page_size");
      json_builder_add_int_value (builder, facts->page_size);
      json_builder_set_member_name (builder, "page_count");
      json_builder_add_int_value (builder, facts->page_count);
      json_builder_set_member_name (builder, "freelist_count");
      json_builder_add_int_value (builder, facts->freelist_count);
      add_string_or_null (builder, "journal_mode", facts->journal_mode);
      add_string_or_null (builder, "encoding", facts->encoding);
      add_string_or_null (builder, "error", facts->error);
      json_builder_end_object (builder);
    }

  json_builder_set_member_name (builder, "backups");
  json_builder_begin_array (builder);
  for (guint i = 0; backups != NULL && i < backups->len; i++)
    mw_backup_to_json (g_ptr_array_index (backups, i), builder);
  json_builder_end_array (builder);

  add_string_or_null (builder, "log", log ? log : "");
  json_builder_end_object (builder);

  /* One pass over the finished tree rather than at each member: nothing added here
   * or in the engine's own _to_json later can slip through unredacted. */
  root = json_builder_get_root (builder);
  redact_json (root, NULL);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
