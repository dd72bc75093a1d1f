/* skiff — private JSON helpers of the oci module. */
#include "oci/oci-json.h"

#include "common/error.h"

#include <string.h>

json_t *
sk_json_parse_object (const void *data, gsize len, GError **error)
{
  json_error_t jerr;
  json_t *j = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (j == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "JSON syntax error at line %d column %d: %s",
                        jerr.line, jerr.column, jerr.text), NULL;
  if (!json_is_object (j))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                   "expected a JSON object, got %s", sk_json_type_name (j));
      json_decref (j);
      return NULL;
    }
  return j;
}

GBytes *
sk_json_dump (json_t *j)
{
  char *s = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  g_assert (s != NULL);
  gsize len = strlen (s);
  /* jansson allocates with malloc: copy into GLib memory. */
  GBytes *b = g_bytes_new (s, len);
  free (s);
  return b;
}

const char *
sk_json_type_name (const json_t *j)
{
  switch (json_typeof (j))
    {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
  return "unknown";
}

static gboolean
missing_or_absent (json_t *v, const char *key, gboolean required, GError **error)
{
  if (v == NULL && required)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%s: missing", key), FALSE;
  return TRUE;
}

static gboolean
wrong_type (json_t *v, const char *key, const char *expected, GError **error)
{
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%s: expected %s, got %s",
                      key, expected, sk_json_type_name (v)), FALSE;
}

gboolean
sk_json_get_string (json_t *obj, const char *key, gboolean required,
                    const char **out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL)
    return missing_or_absent (v, key, required, error);
  if (!json_is_string (v))
    return wrong_type (v, key, "a string", error);
  *out = json_string_value (v);
  return TRUE;
}

gboolean
sk_json_get_int (json_t *obj, const char *key, gboolean required,
                 gboolean *out_present, gint64 *out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (out_present)
    *out_present = v != NULL;
  if (v == NULL)
    return missing_or_absent (v, key, required, error);
  if (!json_is_integer (v))
    return wrong_type (v, key, "an integer", error);
  *out = json_integer_value (v);
  return TRUE;
}

gboolean
sk_json_get_bool (json_t *obj, const char *key, gboolean *out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL)
    return TRUE;
  if (!json_is_boolean (v))
    return wrong_type (v, key, "a boolean", error);
  *out = json_is_true (v);
  return TRUE;
}

gboolean
sk_json_get_object (json_t *obj, const char *key, gboolean required,
                    json_t **out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL)
    return missing_or_absent (v, key, required, error);
  if (!json_is_object (v))
    return wrong_type (v, key, "an object", error);
  *out = v;
  return TRUE;
}

gboolean
sk_json_get_array (json_t *obj, const char *key, gboolean required,
                   json_t **out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL)
    return missing_or_absent (v, key, required, error);
  if (!json_is_array (v))
    return wrong_type (v, key, "an array", error);
  *out = v;
  return TRUE;
}

gboolean
sk_json_get_strv (json_t *obj, const char *key, GStrv *out, GError **error)
{
  json_t *arr = NULL;
  if (!sk_json_get_array (obj, key, FALSE, &arr, error))
    return FALSE;
  if (arr == NULL)
    return TRUE;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
    {
      if (!json_is_string (v))
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                            "%s[%zu]: expected a string, got %s", key, i, sk_json_type_name (v)), FALSE;
      g_strv_builder_add (b, json_string_value (v));
    }
  *out = g_strv_builder_end (b);
  return TRUE;
}

gboolean
sk_json_get_string_map (json_t *obj, const char *key, GHashTable **out, GError **error)
{
  json_t *map = NULL;
  if (!sk_json_get_object (obj, key, FALSE, &map, error))
    return FALSE;
  if (map == NULL)
    return TRUE;
  g_autoptr (GHashTable) h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *k;
  json_t *v;
  json_object_foreach (map, k, v)
    {
      if (*k == '\0')
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "%s: empty key", key), FALSE;
      if (!json_is_string (v))
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                            "%s: '%s': expected a string, got %s", key, k, sk_json_type_name (v)), FALSE;
      g_hash_table_insert (h, g_strdup (k), g_strdup (json_string_value (v)));
    }
  *out = g_steal_pointer (&h);
  return TRUE;
}

static int
cmp_strp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
sk_json_set_string_map (json_t *obj, const char *key, GHashTable *map)
{
  g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (map, NULL);
  qsort (keys, g_hash_table_size (map), sizeof (char *), cmp_strp);
  json_t *o = json_object ();
  for (guint i = 0; keys[i] != NULL; i++)
    json_object_set_new (o, keys[i], json_string (g_hash_table_lookup (map, keys[i])));
  json_object_set_new (obj, key, o);
}
