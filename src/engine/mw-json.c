/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mw-json"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "mw-error.h"
#include "mw-fs-private.h"
#include "mw-json-private.h"

/*
 * Bounded JSON. Drizzle's `meta/_journal.json`, backup sidecars and the operation
 * journal can be written by anyone who can write to their folders; json-glib parses
 * nested arrays and objects by recursion, so a file of a few hundred kilobytes of `[`
 * crashes the process with a stack overflow before any check of ours could run. The
 * size is bounded when the file is read (mw_fs_read_regular()), the nesting here, by
 * one pass over the text, before json-glib sees it.
 */

/* The deepest nesting of arrays and objects in @text, strings skipped; stops counting
 * as soon as it passes @max_depth. */
static guint
nesting_depth (const char *text,
               gsize       len,
               guint       max_depth)
{
  guint depth = 0, deepest = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > deepest)
            deepest = depth;
          if (deepest > max_depth)
            return deepest;
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return deepest;
}

/**
 * mw_json_parse_bounded:
 * @max_depth: the deepest nesting accepted (e.g. %MW_JSON_MAX_DEPTH)
 *
 * Parses @text once its nesting is known to be at most @max_depth.
 *
 * Returns: (transfer full): the root, or %NULL with @error set (an #MwEngineError,
 *   %MW_ENGINE_ERROR_UNREADABLE, whose message says what is wrong)
 */
JsonNode *
mw_json_parse_bounded (const char  *text,
                       gsize        len,
                       guint        max_depth,
                       GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;

  if (nesting_depth (text, len, max_depth) > max_depth)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                   _("it nests more than %u levels deep, which no such file does"), max_depth);
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local_error))
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE, "%s",
                   local_error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE, _("it is empty"));
      return NULL;
    }
  return json_parser_steal_root (parser);
}

/**
 * mw_json_load_file:
 * @max_size: the largest file accepted
 *
 * Reads @path (a regular file, never through a symlink, at most @max_size bytes) and
 * parses it with mw_json_parse_bounded().
 *
 * Returns: (transfer full): the root, or %NULL with @error set; the message names
 *   the file
 */
JsonNode *
mw_json_load_file (const char  *path,
                   gsize        max_size,
                   GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  JsonNode *root;

  text = mw_fs_read_regular (path, NULL, max_size, &len, error);
  if (text == NULL)
    return NULL;
  root = mw_json_parse_bounded (text, len, MW_JSON_MAX_DEPTH, &local_error);
  if (root == NULL)
    g_set_error (error, MW_ENGINE_ERROR, MW_ENGINE_ERROR_UNREADABLE,
                 _("%s is malformed: %s"), path, local_error->message);
  return root;
}

/* ---- typed members ------------------------------------------------------------------ */

/* json-glib's *_with_default getters complain (a critical) when a member has another
 * type than asked; a crafted file must only ever give the default. */

static JsonNode *
member_value (JsonObject *obj,
              const char *name,
              GType       type)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

/**
 * mw_json_get_string:
 *
 * Returns: (transfer none) (nullable): the member @name when it is a string, else
 *   @fallback
 */
const char *
mw_json_get_string (JsonObject *obj,
                    const char *name,
                    const char *fallback)
{
  JsonNode *node = member_value (obj, name, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : fallback;
}

gint64
mw_json_get_int (JsonObject *obj,
                 const char *name,
                 gint64      fallback)
{
  JsonNode *node = member_value (obj, name, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : fallback;
}

gboolean
mw_json_get_boolean (JsonObject *obj,
                     const char *name,
                     gboolean    fallback)
{
  JsonNode *node = member_value (obj, name, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : fallback;
}

/**
 * mw_json_get_object:
 *
 * Returns: (transfer none) (nullable): the member @name when it is an object
 */
JsonObject *
mw_json_get_object (JsonObject *obj,
                    const char *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}
