/* skiff — private JSON helpers of the registry module (jansson).
 *
 * Not a public API: json_t stays inside registry/.  This is the one place
 * where jansson's parse errors become GErrors for the registry module. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cleanup.h"

G_BEGIN_DECLS

/* Parses one JSON document whose top level must be an object.  Fails with
 * SK_ERROR_INVALID_DATA: "JSON syntax error at line L column C: <why>" or
 * "expected a JSON object, got array".  Trailing garbage is refused;
 * duplicate keys are accepted (the last one wins, as Go's decoder does). */
json_t *sk_registry_json_parse (const void *data, gsize len, GError **error);

/* A string member, NULL when absent; FALSE with SK_ERROR_INVALID_DATA
 * "KEY: expected a string, got TYPE" when present with another type
 * (JSON null counts as absent). */
gboolean sk_registry_json_string (json_t *obj, const char *key, const char **out, GError **error);

/* Name of a JSON value's type for messages ("string", "number", ...). */
const char *sk_registry_json_type (const json_t *j);

G_END_DECLS
