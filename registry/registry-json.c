/* skiff — private JSON helpers of the registry module. */
#include "registry/registry-json.h"

#include "common/error.h"

json_t *
sk_registry_json_parse (const void *data, gsize len, GError **error)
{
  json_error_t jerr;
  json_t *j = json_loadb (data, len, 0, &jerr);
  if (j == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "JSON syntax error at line %d column %d: %s",
                        jerr.line, jerr.column, jerr.text), NULL;
  if (!json_is_object (j))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "expected a JSON object, got %s",
                   sk_registry_json_type (j));
      json_decref (j);
      return NULL;
    }
  return j;
}

gboolean
sk_registry_json_string (json_t *obj, const char *key, const char **out, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    {
      *out = NULL;
      return TRUE;
    }
  if (!json_is_string (v))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "%s: expected a string, got %s", key,
                        sk_registry_json_type (v)), FALSE;
  *out = json_string_value (v);
  return TRUE;
}

const char *
sk_registry_json_type (const json_t *j)
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
