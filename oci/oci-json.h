/* skiff — private JSON helpers of the oci module (jansson).
 *
 * Not a public API: json_t stays inside oci/.  Every getter fails with
 * SK_ERROR_INVALID_IMAGE and a message that starts with the key
 * ("size: expected an integer, got string") so callers can prefix the
 * path on the way up ("layers[2]: ").  Absent optional members leave the
 * out-parameter untouched and return TRUE. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "common/cleanup.h"

G_BEGIN_DECLS

/* Parses one JSON document; the single place jansson's errors are turned
 * into GError ("JSON syntax error at line 1 column 2: ...").  Duplicate
 * keys and trailing garbage are refused; the top level must be an object. */
json_t *sk_json_parse_object (const void *data, gsize len, GError **error);

/* Compact, insertion-ordered serialisation (the bytes that get hashed). */
GBytes *sk_json_dump (json_t *j);

/* Name of a JSON value's type for messages ("string", "number", ...). */
const char *sk_json_type_name (const json_t *j);

gboolean sk_json_get_string (json_t *obj, const char *key, gboolean required,
                             const char **out, GError **error);
/* Integers only: 1.0 and "1" are refused. */
gboolean sk_json_get_int (json_t *obj, const char *key, gboolean required,
                          gboolean *out_present, gint64 *out, GError **error);
gboolean sk_json_get_bool (json_t *obj, const char *key, gboolean *out, GError **error);
/* An object member; @out is a borrowed reference. */
gboolean sk_json_get_object (json_t *obj, const char *key, gboolean required,
                             json_t **out, GError **error);
/* An array member; @out is a borrowed reference. */
gboolean sk_json_get_array (json_t *obj, const char *key, gboolean required,
                            json_t **out, GError **error);
/* An array of strings as a NULL-terminated vector. */
gboolean sk_json_get_strv (json_t *obj, const char *key, GStrv *out, GError **error);
/* An object whose members are all strings (annotations, labels): a new
 * GHashTable of g_strdup'ed keys and values. */
gboolean sk_json_get_string_map (json_t *obj, const char *key, GHashTable **out, GError **error);

/* Adds a string map to @obj under @key with keys sorted (deterministic). */
void sk_json_set_string_map (json_t *obj, const char *key, GHashTable *map);

G_END_DECLS

/* Descriptors to and from jansson, for manifest.c, index and layout. */
#include "oci/descriptor.h"

G_BEGIN_DECLS
/* Reads and validates a descriptor object; @v may be any JSON value. */
SkDescriptor *sk_descriptor_from_json (json_t *v, GError **error);
json_t *sk_descriptor_to_json (const SkDescriptor *d);
/* Reads an array of descriptors ("layers", "manifests"): a GPtrArray of
 * SkDescriptor; errors are prefixed "<key>[i]: ". */
gboolean sk_descriptor_array_from_json (json_t *obj, const char *key, gboolean required,
                                        GPtrArray **out, GError **error);
G_END_DECLS
