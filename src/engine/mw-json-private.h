/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* JSON from files the wizard did not necessarily write itself, parsed only once its
 * size and nesting are known to be sane. Implemented in mw-json.c. */

/* json-glib parses recursively: ~100 000 nested levels overflow the stack. Nothing
 * the wizard reads nests deeper than a few levels. */
#define MW_JSON_MAX_DEPTH 64

JsonNode *mw_json_parse_bounded (const char  *text,
                                 gsize        len,
                                 guint        max_depth,
                                 GError     **error);
JsonNode *mw_json_load_file     (const char  *path,
                                 gsize        max_size,
                                 GError     **error);

const char *mw_json_get_string  (JsonObject  *obj,
                                 const char  *name,
                                 const char  *fallback);
gint64      mw_json_get_int     (JsonObject  *obj,
                                 const char  *name,
                                 gint64       fallback);
gboolean    mw_json_get_boolean (JsonObject  *obj,
                                 const char  *name,
                                 gboolean     fallback);
JsonObject *mw_json_get_object  (JsonObject  *obj,
                                 const char  *name);

G_END_DECLS
