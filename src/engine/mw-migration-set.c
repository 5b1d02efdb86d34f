/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-migrations"

#include "config.h"

#include <glib/gi18n.h>

#include <string.h>
#include <json-glib/json-glib.h>

#ifdef G_OS_WIN32
# include <windows.h>
#endif

#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-json-private.h"
#include "mw-migration-set.h"

/*
 * Reading a migrations folder exactly as drizzle-orm's readMigrationFiles() does.
 *
 * drizzle-orm (0.x) walks meta/_journal.json's entries in array order, reads
 * <tag>.sql, hashes the text with SHA-256 and splits it with a plain
 * String.split("--> statement-breakpoint"): no trimming, and the split also fires
 * inside comments and strings. Each piece is then prepared as ONE statement. The
 * v1 line (1.0) instead lists sub-folders holding migration.sql, sorted with
 * JavaScript's localeCompare, and takes the time from the first 14 characters of the
 * name with parseInt and Date.UTC (a name without one is applied with no time).
 *
 * Where drizzle-orm would fail at run time (a missing file, an empty piece) we fail
 * here, before the database is touched, with the file and entry named. Tags come
 * from a file, so they are checked to stay inside the folder.
 */

#define BREAKPOINT "--> statement-breakpoint"

struct _MwMigrationSet
{
  GObject         parent_instance;

  char           *folder;
  GPtrArray      *migrations;   /* (element-type MwMigration) */
  GHashTable     *by_tag;       /* tag -> MwMigration, borrowed */
  char           *table;        /* (nullable) the migrations table the app names */
  MwFolderFormat  format;
};

G_DEFINE_FINAL_TYPE (MwMigrationSet, mw_migration_set, G_TYPE_OBJECT)

G_DEFINE_QUARK (mw-engine-error-quark, mw_engine_error)

static void
mw_migration_free (MwMigration *migration)
{
  g_free (migration->tag);
  g_free (migration->hash);
  g_free (migration->path);
  g_clear_pointer (&migration->statements, g_ptr_array_unref);
  g_free (migration);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MwMigration, mw_migration_free)

static void
mw_migration_set_finalize (GObject *object)
{
  MwMigrationSet *self = MW_MIGRATION_SET (object);

  g_clear_pointer (&self->by_tag, g_hash_table_unref);
  g_clear_pointer (&self->migrations, g_ptr_array_unref);
  g_clear_pointer (&self->folder, g_free);
  g_clear_pointer (&self->table, g_free);

  G_OBJECT_CLASS (mw_migration_set_parent_class)->finalize (object);
}

static void
mw_migration_set_class_init (MwMigrationSetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = mw_migration_set_finalize;
}

static void
mw_migration_set_init (MwMigrationSet *self)
{
  self->migrations = g_ptr_array_new_with_free_func ((GDestroyNotify) mw_migration_free);
  self->by_tag = g_hash_table_new (g_str_hash, g_str_equal);
}

/* ---- text rules shared with drizzle-orm ------------------------------------------------ */

/**
 * mw_sha256_hex:
 *
 * Returns: (transfer full): the lower-case hex SHA-256 of @data, as node's
 * crypto.createHash("sha256").update(text).digest("hex") gives for valid UTF-8.
 */
char *
mw_sha256_hex (const char *data,
               gsize       len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/**
 * mw_sql_split:
 *
 * Splits like JavaScript's String.prototype.split with a string separator: every
 * occurrence splits, adjacent separators give empty pieces, and no piece is trimmed.
 *
 * Returns: (transfer full) (element-type utf8): the pieces
 */
GPtrArray *
mw_sql_split (const char *text)
{
  GPtrArray *pieces = g_ptr_array_new_with_free_func (g_free);
  const gsize seplen = strlen (BREAKPOINT);
  const char *start = text;
  const char *hit;

  while ((hit = strstr (start, BREAKPOINT)) != NULL)
    {
      g_ptr_array_add (pieces, g_strndup (start, hit - start));
      start = hit + seplen;
    }
  g_ptr_array_add (pieces, g_strdup (start));

  return pieces;
}

/**
 * mw_sql_is_blank:
 *
 * Returns: %TRUE if @sql holds nothing SQLite would prepare: only white space,
 * `-- line` comments and `/ * block * /` comments.
 */
gboolean
mw_sql_is_blank (const char *sql)
{
  const char *p = sql;

  while (*p != '\0')
    {
      if (g_ascii_isspace (*p))
        p++;
      else if (p[0] == '-' && p[1] == '-')
        {
          while (*p != '\0' && *p != '\n')
            p++;
        }
      else if (p[0] == '/' && p[1] == '*')
        {
          const char *end = strstr (p + 2, "*/");

          /* SQLite treats an unterminated block comment as running to the end. */
          if (end == NULL)
            return TRUE;
          p = end + 2;
        }
      else if (*p == ';')
        p++;
      else
        return FALSE;
    }

  return TRUE;
}

static char *
replace_all (const char *text,
             const char *from,
             const char *to)
{
  g_auto(GStrv) parts = g_strsplit (text, from, -1);

  return g_strjoinv (to, parts);
}

/**
 * mw_migration_hash_differs_only_in_line_endings:
 * @hash: a hash recorded in the database
 *
 * Whether @hash is the hash of this migration's text with its line endings converted
 * (LF to CRLF or back): a file that only went through git's autocrlf is not a changed
 * migration. Computed on demand: it is only asked about a hash that did not match.
 */
gboolean
mw_migration_hash_differs_only_in_line_endings (const MwMigration *migration,
                                                const char        *hash)
{
  g_autoptr(GString) joined = NULL;
  g_autofree char *text = NULL;
  g_autofree char *lf = NULL;
  g_autofree char *crlf = NULL;

  g_return_val_if_fail (migration != NULL, FALSE);

  if (hash == NULL)
    return FALSE;

  /* The pieces joined again are the file's text, byte for byte. */
  joined = g_string_new (NULL);
  for (guint i = 0; i < migration->statements->len; i++)
    {
      if (i > 0)
        g_string_append (joined, BREAKPOINT);
      g_string_append (joined, g_ptr_array_index (migration->statements, i));
    }
  text = g_string_free (g_steal_pointer (&joined), FALSE);
  lf = replace_all (text, "\r\n", "\n");
  crlf = replace_all (lf, "\n", "\r\n");

  for (guint i = 0; i < 2; i++)
    {
      const char *variant = i == 0 ? lf : crlf;
      g_autofree char *variant_hash = NULL;

      if (strcmp (variant, text) == 0)
        continue;
      variant_hash = mw_sha256_hex (variant, strlen (variant));
      if (g_strcmp0 (variant_hash, hash) == 0)
        return TRUE;
    }
  return FALSE;
}

static guint
line_of_offset (const char *text,
                gsize       offset)
{
  guint line = 1;

  for (gsize i = 0; i < offset && text[i] != '\0'; i++)
    if (text[i] == '\n')
      line++;

  return line;
}

static MwMigration *
read_migration (const char  *folder,
                const char  *path,
                const char  *tag,
                gint64       when,
                guint        idx,
                GError     **error)
{
  g_autoptr(MwMigration) migration = g_new0 (MwMigration, 1);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  gsize offset = 0;

  /* A regular file inside the folder (symlinks resolved), of a sane size: never a
   * FIFO or a device to wait on or read forever, never a file elsewhere. */
  text = mw_fs_read_regular (path, folder, MW_FS_MAX_MIGRATION_SQL, &len, &local_error);
  if (text == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                   _("Migration “%s” cannot be read: %s. The app's installation is incomplete; "
                   "reinstall the app."),
                   tag, local_error->message);
      return NULL;
    }

  if (!g_utf8_validate_len (text, len, NULL))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                   _("Migration file %s is not valid UTF-8 text (damaged or binary). "
                   "The app's installation is damaged; reinstall the app."),
                   path);
      return NULL;
    }

  migration->idx = idx;
  migration->tag = g_strdup (tag);
  migration->when = when;
  migration->path = g_strdup (path);
  migration->hash = mw_sha256_hex (text, len);
  migration->statements = mw_sql_split (text);

  for (guint i = 0; i < migration->statements->len; i++)
    {
      const char *piece = g_ptr_array_index (migration->statements, i);

      if (mw_sql_is_blank (piece))
        {
          g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                       _("Migration file %s has an empty statement (piece %u of %u, from line %u): "
                         "drizzle-orm would fail on it too. Remove the stray “%s” or write the "
                         "statement."),
                       path, i + 1, migration->statements->len, line_of_offset (text, offset),
                       BREAKPOINT);
          return NULL;
        }
      offset += strlen (piece) + strlen (BREAKPOINT);
    }

  return g_steal_pointer (&migration);
}

/* A tag names a file inside the folder; anything that could leave it is refused. */
static gboolean
tag_is_safe (const char *tag)
{
  if (tag[0] == '\0' || strcmp (tag, ".") == 0 || strcmp (tag, "..") == 0)
    return FALSE;
  if (g_path_is_absolute (tag))
    return FALSE;
  if (strchr (tag, '/') != NULL || strchr (tag, '\\') != NULL || strchr (tag, ':') != NULL)
    return FALSE;
  for (const char *p = tag; *p; p++)
    if ((guchar) *p < 0x20)
      return FALSE;
  return TRUE;
}

static gboolean
add_migration (MwMigrationSet  *self,
               MwMigration     *migration,
               GError         **error)
{
  if (g_hash_table_contains (self->by_tag, migration->tag))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                   _("The migrations folder %s lists “%s” twice (entries %u and %u). "
                   "The app's installation is damaged; reinstall the app."),
                   self->folder, migration->tag,
                   ((MwMigration *) g_hash_table_lookup (self->by_tag, migration->tag))->idx,
                   migration->idx);
      mw_migration_free (migration);
      return FALSE;
    }

  g_hash_table_insert (self->by_tag, migration->tag, migration);
  g_ptr_array_add (self->migrations, migration);
  return TRUE;
}

static gboolean
invalid_journal (GError     **error,
                 const char  *journal_path,
                 const char  *format,
                 ...) G_GNUC_PRINTF (3, 4);

static gboolean
invalid_journal (GError     **error,
                 const char  *journal_path,
                 const char  *format,
                 ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
               _("The migrations journal %s is malformed: %s. "
               "The app's installation is damaged; reinstall the app."),
               journal_path, what);
  return FALSE;
}

/* JSON.parse reads every number as a double; json-glib reads an integer as a gint64
 * and silently wraps one that does not fit. To read `when` exactly as drizzle-orm
 * does, each number of the journal reaches json-glib as a string that starts with
 * this mark (a private-use character no journal has) and is converted here. */
#define NUMBER_MARK "\xee\x80\x80"

/* JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static gboolean
json_number_is_valid (const char *p,
                      const char *end)
{
  if (p < end && *p == '-')
    p++;
  if (p < end && *p == '0')
    p++;
  else if (p < end && *p >= '1' && *p <= '9')
    while (p < end && g_ascii_isdigit (*p))
      p++;
  else
    return FALSE;
  if (p < end && *p == '.')
    {
      if (++p == end || !g_ascii_isdigit (*p))
        return FALSE;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p == end || !g_ascii_isdigit (*p))
        return FALSE;
      while (p < end && g_ascii_isdigit (*p))
        p++;
    }
  return p == end;
}

static char *
mark_numbers (const char *text,
              gsize       len)
{
  GString *out = g_string_sized_new (len + 64);
  gboolean in_string = FALSE;
  gsize i = 0;

  while (i < len)
    {
      char c = text[i];

      if (in_string)
        {
          g_string_append_c (out, c);
          if (c == '\\' && i + 1 < len)
            g_string_append_c (out, text[++i]);
          else if (c == '"')
            in_string = FALSE;
          i++;
        }
      else if (c == '-' || g_ascii_isdigit (c))
        {
          gsize end = i;

          while (end < len && text[end] != '\0' &&
                 (g_ascii_isdigit (text[end]) || strchr ("+-.eE", text[end]) != NULL))
            end++;
          /* Anything else is left as it is, for json-glib to report. */
          if (json_number_is_valid (text + i, text + end))
            {
              g_string_append (out, "\"" NUMBER_MARK);
              g_string_append_len (out, text + i, end - i);
              g_string_append_c (out, '"');
            }
          else
            g_string_append_len (out, text + i, end - i);
          i = end;
        }
      else
        {
          in_string = c == '"';
          g_string_append_c (out, c);
          i++;
        }
    }
  return g_string_free (out, FALSE);
}

/* The member as a JSON string (not a number), or NULL. */
static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *member = json_object_get_member (object, name);
  const char *value;

  if (member == NULL || json_node_get_value_type (member) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (member);
  return g_str_has_prefix (value, NUMBER_MARK) ? NULL : value;
}

/* The member as a number, with the text it was written with. */
static const char *
member_number (JsonObject *object,
               const char *name)
{
  JsonNode *member = json_object_get_member (object, name);
  const char *value;

  if (member == NULL || json_node_get_value_type (member) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (member);
  return g_str_has_prefix (value, NUMBER_MARK) ? value + strlen (NUMBER_MARK) : NULL;
}

static gboolean
load_journal (MwMigrationSet  *self,
              const char      *journal_path,
              GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(JsonNode) parsed = NULL;
  g_autofree char *text = NULL;
  g_autofree char *marked = NULL;
  JsonObject *root;
  JsonArray *entries;
  JsonNode *node;
  gsize len = 0;

  /* Size and nesting bounded before json-glib sees it: it parses by recursion. */
  text = mw_fs_read_regular (journal_path, self->folder, MW_FS_MAX_JOURNAL_JSON, &len,
                             &local_error);
  if (text != NULL)
    {
      marked = mark_numbers (text, len);
      parsed = mw_json_parse_bounded (marked, strlen (marked), MW_JSON_MAX_DEPTH, &local_error);
    }
  if (parsed == NULL)
    return invalid_journal (error, journal_path, "%s", local_error->message);

  node = parsed;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return invalid_journal (error, journal_path, "it is not a JSON object");
  root = json_node_get_object (node);

  if (json_object_has_member (root, "dialect"))
    {
      const char *dialect = member_string (root, "dialect");

      if (g_strcmp0 (dialect, "sqlite") != 0 && g_strcmp0 (dialect, "turso") != 0)
        return invalid_journal (error, journal_path,
                                "its dialect is “%s”, not “sqlite”", dialect ? dialect : "?");
    }

  node = json_object_get_member (root, "entries");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return invalid_journal (error, journal_path, "it has no “entries” array");
  entries = json_node_get_array (node);

  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *entry_node = json_array_get_element (entries, i);
      g_autofree char *sql_path = NULL;
      g_autofree char *file_name = NULL;
      MwMigration *migration;
      JsonObject *entry;
      const char *tag;
      const char *number;
      double when;

      if (!JSON_NODE_HOLDS_OBJECT (entry_node))
        return invalid_journal (error, journal_path, "entry %u is not an object", i);
      entry = json_node_get_object (entry_node);

      tag = member_string (entry, "tag");
      if (tag == NULL)
        return invalid_journal (error, journal_path, "entry %u has no “tag” string", i);
      if (!tag_is_safe (tag))
        return invalid_journal (error, journal_path,
                                "entry %u has the tag “%s”, which would point outside the "
                                "migrations folder", i, tag);

      /* drizzle-orm uses the double JSON.parse makes of it: a value beyond 2^53 is
       * rounded the same way here; one a 64-bit created_at cannot hold is refused
       * (drizzle-orm would store a REAL nobody could match again). */
      number = member_number (entry, "when");
      if (number == NULL)
        return invalid_journal (error, journal_path,
                                "entry %u (“%s”) has no whole-number “when” timestamp", i, tag);
      when = g_ascii_strtod (number, NULL);
      if (!(when > -9223372036854775808.0 && when < 9223372036854775808.0))
        return invalid_journal (error, journal_path,
                                "entry %u (“%s”) has the “when” %s, beyond what a 64-bit "
                                "timestamp holds", i, tag, number);
      if (when != (double) (gint64) when)
        return invalid_journal (error, journal_path,
                                "entry %u (“%s”) has no whole-number “when” timestamp", i, tag);

      file_name = g_strconcat (tag, ".sql", NULL);
      sql_path = g_build_filename (self->folder, file_name, NULL);
      migration = read_migration (self->folder, sql_path, tag, (gint64) when, i, error);
      if (migration == NULL)
        return FALSE;
      if (!add_migration (self, migration, error))
        return FALSE;
    }

  return TRUE;
}

/* JavaScript's StrWhiteSpaceChar, which parseInt skips. */
static gboolean
js_is_white_space (gunichar2 u)
{
  return u == 0x09 || u == 0x0a || u == 0x0b || u == 0x0c || u == 0x0d || u == 0x20 ||
         u == 0xa0 || u == 0x1680 || (u >= 0x2000 && u <= 0x200a) || u == 0x2028 ||
         u == 0x2029 || u == 0x202f || u == 0x205f || u == 0x3000 || u == 0xfeff;
}

/* parseInt(text, 10) for a short text (at most 4 UTF-16 units); FALSE for NaN. */
static gboolean
js_parse_int (const gunichar2 *text,
              glong            n,
              gint64          *out)
{
  gint64 sign = 1, value = 0;
  glong i = 0, start;

  while (i < n && js_is_white_space (text[i]))
    i++;
  if (i < n && (text[i] == '+' || text[i] == '-'))
    sign = text[i++] == '-' ? -1 : 1;
  for (start = i; i < n && text[i] >= '0' && text[i] <= '9'; i++)
    value = value * 10 + (text[i] - '0');
  if (i == start)
    return FALSE;
  *out = sign * value;
  return TRUE;
}

static gint64
floor_div (gint64 a,
           gint64 b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to the given proleptic Gregorian date (month 1..12). */
static gint64
days_from_civil (gint64 y,
                 gint64 m,
                 gint64 d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = floor_div (y, 400);
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/**
 * mw_v1_name_to_millis:
 *
 * The time drizzle-orm 1.x gives a migration folder: its name's first 14 characters
 * (UTF-16 units) cut into YYYY MM DD HH MM SS, each read with parseInt(x, 10) and given to
 * Date.UTC() — so a month 13 is January of the next year, a year 0–99 is 19xx, and
 * a piece that is not a number makes no time at all (created_at NULL).
 *
 * Returns: %FALSE when drizzle-orm gets no time (NaN) from @name
 */
gboolean
mw_v1_name_to_millis (const char *name,
                      gint64     *out_millis)
{
  static const glong starts[6] = { 0, 4, 6, 8, 10, 12 };
  static const glong ends[6] = { 4, 6, 8, 10, 12, 14 };
  g_autofree gunichar2 *units = NULL;
  gint64 f[6], year, month, day;
  glong n = 0;
  double millis;

  units = g_utf8_to_utf16 (name, -1, NULL, &n, NULL);
  if (units == NULL)
    return FALSE;
  n = MIN (n, 14);

  for (guint i = 0; i < 6; i++)
    {
      glong from = MIN (starts[i], n), to = MIN (ends[i], n);

      if (!js_parse_int (units + from, to - from, &f[i]))
        return FALSE;
    }

  year = f[0] >= 0 && f[0] <= 99 ? 1900 + f[0] : f[0];
  month = f[1] - 1;
  day = days_from_civil (year + floor_div (month, 12), month - floor_div (month, 12) * 12 + 1, 1)
        + f[2] - 1;
  millis = (double) day * 86400000.0 + (double) f[3] * 3600000.0 + (double) f[4] * 60000.0 +
           (double) f[5] * 1000.0;
  /* TimeClip */
  if (millis > 8.64e15 || millis < -8.64e15)
    return FALSE;

  *out_millis = (gint64) millis;
  return TRUE;
}

/* ICU's root collation, which JavaScript's localeCompare uses, on the characters folder
 * names are made of. Printable ASCII has its exact order: white space, punctuation and
 * symbols, digits, then letters with upper and lower case equal at the first level and
 * lower case first at the third; control characters are ignored. Beyond ASCII it is an
 * approximation: accents (after NFD) count at the second level, other characters sort
 * after the Latin letters by code point. */
static const char collation_order[] =
  "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789";

typedef struct
{
  GArray *primary;     /* (element-type guint32) */
  GArray *secondary;
  GArray *tertiary;
} CollationKey;

static void
collation_key_init (CollationKey *key,
                    const char   *text)
{
  g_autofree char *nfd = g_utf8_normalize (text, -1, G_NORMALIZE_NFD);
  const char *p = nfd != NULL ? nfd : "";

  key->primary = g_array_new (FALSE, FALSE, sizeof (guint32));
  key->secondary = g_array_new (FALSE, FALSE, sizeof (guint32));
  key->tertiary = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType type = g_unichar_type (c);
      guint32 primary, secondary = 0, tertiary = 0;

      if (type == G_UNICODE_NON_SPACING_MARK || type == G_UNICODE_SPACING_MARK ||
          type == G_UNICODE_ENCLOSING_MARK)
        {
          /* An accent: weighs on the character before it. */
          if (key->secondary->len > 0)
            {
              guint32 *last = &g_array_index (key->secondary, guint32, key->secondary->len - 1);

              if (*last == 0)
                *last = c;
            }
          continue;
        }
      if (type == G_UNICODE_CONTROL || type == G_UNICODE_FORMAT)
        continue;

      if (c < 0x80 && g_ascii_isalpha (c))
        {
          primary = sizeof collation_order + (g_ascii_tolower (c) - 'a');
          tertiary = g_ascii_isupper (c);
        }
      else if (c < 0x80)
        {
          const char *at = strchr (collation_order, (int) c);

          primary = at != NULL ? (guint32) (at - collation_order) + 1 : 0x80 + c;
        }
      else
        {
          primary = 0x100 + g_unichar_tolower (c);
          tertiary = g_unichar_isupper (c);
        }
      g_array_append_val (key->primary, primary);
      g_array_append_val (key->secondary, secondary);
      g_array_append_val (key->tertiary, tertiary);
    }
}

static void
collation_key_clear (CollationKey *key)
{
  g_array_unref (key->primary);
  g_array_unref (key->secondary);
  g_array_unref (key->tertiary);
}

static int
compare_weights (GArray *a,
                 GArray *b)
{
  for (guint i = 0; i < a->len && i < b->len; i++)
    {
      guint32 x = g_array_index (a, guint32, i), y = g_array_index (b, guint32, i);

      if (x != y)
        return x < y ? -1 : 1;
    }
  return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

/**
 * mw_locale_compare:
 *
 * @a.localeCompare(@b), as drizzle-orm 1.x sorts migration folders with it: `x_a`
 * before `x1`, `alpha` before `Beta`, `a` before `A`. Names it finds equal (they
 * differ only in ignored characters) are ordered by their bytes, where JavaScript
 * would keep the order the folder was listed in.
 *
 * Returns: <0, 0 or >0
 */
int
mw_locale_compare (const char *a,
                   const char *b)
{
  CollationKey ka, kb;
  int result;

  collation_key_init (&ka, a);
  collation_key_init (&kb, b);
  result = compare_weights (ka.primary, kb.primary);
  if (result == 0)
    result = compare_weights (ka.secondary, kb.secondary);
  if (result == 0)
    result = compare_weights (ka.tertiary, kb.tertiary);
  if (result == 0)
    result = strcmp (a, b);
  collation_key_clear (&ka);
  collation_key_clear (&kb);
  return result;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return mw_locale_compare (*(const char **) a, *(const char **) b);
}

static gboolean
load_v1 (MwMigrationSet  *self,
         GError         **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  dir = g_dir_open (self->folder, 0, &local_error);
  if (dir == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_INVALID,
                   _("The migrations folder %s cannot be read: %s"),
                   self->folder, local_error->message);
      return FALSE;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *sql_path = g_build_filename (self->folder, name, "migration.sql", NULL);

      if (g_file_test (sql_path, G_FILE_TEST_EXISTS))
        g_ptr_array_add (names, g_strdup (name));
    }

  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      const char *dir_name = g_ptr_array_index (names, i);
      g_autofree char *sql_path = g_build_filename (self->folder, dir_name, "migration.sql", NULL);
      MwMigration *migration;
      gint64 when;

      /* A name without a time is applied all the same, recorded with none. */
      if (!mw_v1_name_to_millis (dir_name, &when))
        when = MW_MIGRATION_NO_TIME;

      migration = read_migration (self->folder, sql_path, dir_name, when, i, error);
      if (migration == NULL || !add_migration (self, migration, error))
        return FALSE;
    }

  if (names->len == 0)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND,
                   _("The folder %s holds no migrations (no meta/_journal.json and no "
                   "*/migration.sql). The app's installation is incomplete; reinstall the app."),
                   self->folder);
      return FALSE;
    }

  return TRUE;
}

/**
 * mw_migration_set_load:
 * @folder: a drizzle-kit output folder
 *
 * Reads every migration of @folder, in the order drizzle-orm applies them.
 *
 * Returns: (transfer full): the set, or %NULL with @error set
 *   (%MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND or %MW_ENGINE_ERROR_MIGRATIONS_INVALID)
 */
MwMigrationSet *
mw_migration_set_load (const char  *folder,
                       GError     **error)
{
  g_autoptr(MwMigrationSet) self = NULL;
  g_autofree char *journal = NULL;

  g_return_val_if_fail (folder != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_test (folder, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND,
                   _("The migrations folder %s does not exist. The app's installation is "
                   "incomplete; reinstall the app."), folder);
      return NULL;
    }

  self = g_object_new (MW_TYPE_MIGRATION_SET, NULL);
  self->folder = g_canonicalize_filename (folder, NULL);

  journal = g_build_filename (self->folder, "meta", "_journal.json", NULL);
  if (g_file_test (journal, G_FILE_TEST_EXISTS))
    {
      self->format = MW_FOLDER_FORMAT_JOURNAL;
      if (!load_journal (self, journal, error))
        return NULL;
    }
  else
    {
      self->format = MW_FOLDER_FORMAT_V1;
      if (!load_v1 (self, error))
        return NULL;
    }

  return g_steal_pointer (&self);
}

const char *
mw_migration_set_get_folder (MwMigrationSet *self)
{
  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), NULL);
  return self->folder;
}

MwFolderFormat
mw_migration_set_get_format (MwMigrationSet *self)
{
  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), MW_FOLDER_FORMAT_JOURNAL);
  return self->format;
}

guint
mw_migration_set_get_n_migrations (MwMigrationSet *self)
{
  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), 0);
  return self->migrations->len;
}

/**
 * mw_migration_set_get_migration:
 *
 * Returns: (transfer none): the @idx-th migration in application order
 */
const MwMigration *
mw_migration_set_get_migration (MwMigrationSet *self,
                                guint           idx)
{
  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), NULL);
  g_return_val_if_fail (idx < self->migrations->len, NULL);
  return g_ptr_array_index (self->migrations, idx);
}

/**
 * mw_migration_set_lookup_tag:
 *
 * Returns: (transfer none) (nullable): the migration with @tag
 */
const MwMigration *
mw_migration_set_lookup_tag (MwMigrationSet *self,
                             const char     *tag)
{
  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), NULL);
  return g_hash_table_lookup (self->by_tag, tag);
}

/**
 * mw_migration_set_get_newest_when:
 *
 * Returns: the largest `when` of the set, or 0 when it is empty
 */
gint64
mw_migration_set_get_newest_when (MwMigrationSet *self)
{
  gint64 newest = 0;

  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), 0);

  for (guint i = 0; i < self->migrations->len; i++)
    newest = MAX (newest, ((MwMigration *) g_ptr_array_index (self->migrations, i))->when);

  return newest;
}

/**
 * mw_migration_set_get_table:
 *
 * Returns: (nullable): the migrations table the app names (`migrate(db, {
 *   migrationsTable })`), or %NULL for drizzle-orm's default, `__drizzle_migrations`
 *   (and a look for a table of its shape when there is none)
 */
const char *
mw_migration_set_get_table (MwMigrationSet *self)
{
  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), NULL);
  return self->table;
}

/**
 * mw_migration_set_set_table:
 * @table: (nullable): the name, or %NULL for the default
 *
 * The app keeps its migration history in @table: read and written there, never
 * anywhere else.
 */
void
mw_migration_set_set_table (MwMigrationSet *self,
                            const char     *table)
{
  g_return_if_fail (MW_IS_MIGRATION_SET (self));
  g_free (self->table);
  self->table = table != NULL && *table != '\0' ? g_strdup (table) : NULL;
}

guint
mw_migration_set_get_n_statements (MwMigrationSet *self)
{
  guint n = 0;

  g_return_val_if_fail (MW_IS_MIGRATION_SET (self), 0);

  for (guint i = 0; i < self->migrations->len; i++)
    n += ((MwMigration *) g_ptr_array_index (self->migrations, i))->statements->len;

  return n;
}

/* ---- finding the folder ---------------------------------------------------------------- */

static char *
get_executable_dir (void)
{
#if defined(G_OS_WIN32)
  return g_win32_get_package_installation_directory_of_module (NULL);
#elif defined(__linux__)
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL ? g_path_get_dirname (exe) : NULL;
#else
  return NULL;
#endif
}

/**
 * mw_migrations_search_list:
 *
 * The places a migrations folder is looked for when neither the command line nor the
 * configuration names one: the installed data folder, next to the program, and the
 * layouts an Electron app is packaged in (resources/migrations; on macOS
 * Contents/Resources/migrations).
 *
 * Returns: (transfer full): the folders, most preferred first
 */
GStrv
mw_migrations_search_list (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *exe_dir = get_executable_dir ();

  g_strv_builder_add (builder, MW_PKGDATADIR G_DIR_SEPARATOR_S "migrations");
  if (exe_dir != NULL)
    {
      g_autofree char *a = g_build_filename (exe_dir, "migrations", NULL);
      g_autofree char *b = g_build_filename (exe_dir, "resources", "migrations", NULL);
      g_autofree char *c = g_build_filename (exe_dir, "..", "resources", "migrations", NULL);
      g_autofree char *d = g_build_filename (exe_dir, "..", "Resources", "migrations", NULL);
      g_autofree char *e = g_build_filename (exe_dir, "..", "share", "migration-wizard",
                                             "migrations", NULL);

      g_strv_builder_add_many (builder, a, b, c, d, e, NULL);
    }

  return g_strv_builder_end (builder);
}

static gboolean
looks_like_migrations (const char *folder)
{
  g_autofree char *journal = g_build_filename (folder, "meta", "_journal.json", NULL);
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (journal, G_FILE_TEST_IS_REGULAR))
    return TRUE;

  dir = g_dir_open (folder, 0, NULL);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *sql = g_build_filename (folder, name, "migration.sql", NULL);

      if (g_file_test (sql, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    }
  return FALSE;
}

/**
 * mw_migrations_locate:
 * @explicit_folder: (nullable): from the command line
 * @configured_folder: (nullable): from the configuration file
 *
 * Finds the migrations folder. A folder named explicitly must be right: it is never
 * replaced by a guess. Not finding one is a packaging fault, reported as such with
 * every place tried, never as a problem with the database.
 *
 * Returns: (transfer full): the folder, or %NULL with
 *   %MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND
 */
char *
mw_migrations_locate (const char  *explicit_folder,
                      const char  *configured_folder,
                      GError     **error)
{
  g_autoptr(GString) tried = NULL;
  g_auto(GStrv) list = NULL;
  const char *given = explicit_folder != NULL ? explicit_folder : configured_folder;

  if (given != NULL)
    {
      if (looks_like_migrations (given))
        return g_canonicalize_filename (given, NULL);

      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND,
                   _("No migrations were found in %s (%s): it has neither meta/_journal.json "
                   "nor */migration.sql. Check the path, or reinstall the app."),
                   given,
                   explicit_folder != NULL ? "given with --migrations" : "from the configuration");
      return NULL;
    }

  tried = g_string_new (NULL);
  list = mw_migrations_search_list ();
  for (guint i = 0; list[i] != NULL; i++)
    {
      g_autofree char *canonical = g_canonicalize_filename (list[i], NULL);

      if (looks_like_migrations (canonical))
        return g_steal_pointer (&canonical);
      g_string_append_printf (tried, "\n  %s", canonical);
    }

  g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_MIGRATIONS_NOT_FOUND,
               _("The app's database migrations were not found. This is a packaging fault, not a "
               "problem with your data: reinstall the app, or give the folder with "
               "--migrations. Places tried:%s"),
               tried->str);
  return NULL;
}
