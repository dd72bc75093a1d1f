/* skiff — a validator for OCI image configs (config-schema.json plus the
 * upstream validator's Env check).  Declared in oci/config.h. */
#include "oci/config.h"

#include "common/error.h"
#include "oci/mediatypes.h"
#include "oci/oci-json.h"

#include <string.h>

#define INVALID(error, ...) (g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, __VA_ARGS__), FALSE)

/* @key absent, or of type @type (or null when @nullable). */
static gboolean
member_is (json_t *obj, const char *key, json_type type, gboolean nullable, GError **error)
{
  static const char *const names[] = {
    [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
    [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
    [JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
  };
  json_t *v = json_object_get (obj, key);
  if (v == NULL || (nullable && json_is_null (v)))
    return TRUE;
  json_type t = json_typeof (v);
  if (t == type || (type == JSON_TRUE && t == JSON_FALSE))
    return TRUE;
  return INVALID (error, "%s: expected %s, got %s", key, names[type], sk_json_type_name (v));
}

/* Every element (array) or member value (object) of @key has @type. */
static gboolean
members_are (json_t *obj, const char *key, json_type type, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    return TRUE;
  if (json_is_array (v))
    {
      size_t i;
      json_t *e;
      json_array_foreach (v, i, e)
        if (json_typeof (e) != type)
          return INVALID (error, "%s[%zu]: expected %s, got %s", key, i,
                          type == JSON_STRING ? "a string" : "an object", sk_json_type_name (e));
      return TRUE;
    }
  const char *k;
  json_t *e;
  json_object_foreach (v, k, e)
    if (json_typeof (e) != type)
      return INVALID (error, "%s: '%s': expected %s, got %s", key, k,
                      type == JSON_STRING ? "a string" : "an object", sk_json_type_name (e));
  return TRUE;
}

static gboolean
timestamp_member (json_t *obj, const char *key, GError **error)
{
  json_t *v = json_object_get (obj, key);
  if (!member_is (obj, key, JSON_STRING, FALSE, error))
    return FALSE;
  if (v && !sk_config_timestamp_valid (json_string_value (v)))
    return INVALID (error, "%s: '%s' is not an RFC 3339 date-time", key, json_string_value (v));
  return TRUE;
}

static gboolean
env_validate (json_t *cfg, GError **error)
{
  json_t *env = json_object_get (cfg, "Env");
  size_t i;
  json_t *e;
  json_array_foreach (env, i, e)
    {
      const char *s = json_string_value (e);
      const char *eq = strchr (s, '=');
      if (eq == NULL || eq == s)
        return INVALID (error, "Env[%zu]: '%s' is not NAME=value", i, s);
    }
  return TRUE;
}

static gboolean
runtime_config_validate (json_t *cfg, GError **error)
{
  return member_is (cfg, "User", JSON_STRING, FALSE, error)
         && member_is (cfg, "ExposedPorts", JSON_OBJECT, FALSE, error)
         && members_are (cfg, "ExposedPorts", JSON_OBJECT, error)
         && member_is (cfg, "Env", JSON_ARRAY, FALSE, error)
         && members_are (cfg, "Env", JSON_STRING, error)
         && env_validate (cfg, error)
         && member_is (cfg, "Entrypoint", JSON_ARRAY, TRUE, error)
         && members_are (cfg, "Entrypoint", JSON_STRING, error)
         && member_is (cfg, "Cmd", JSON_ARRAY, TRUE, error)
         && members_are (cfg, "Cmd", JSON_STRING, error)
         && member_is (cfg, "Volumes", JSON_OBJECT, TRUE, error)
         && members_are (cfg, "Volumes", JSON_OBJECT, error)
         && member_is (cfg, "WorkingDir", JSON_STRING, FALSE, error)
         && member_is (cfg, "Labels", JSON_OBJECT, TRUE, error)
         && members_are (cfg, "Labels", JSON_STRING, error)
         && member_is (cfg, "StopSignal", JSON_STRING, FALSE, error)
         && member_is (cfg, "ArgsEscaped", JSON_TRUE, FALSE, error);
}

static gboolean
rootfs_validate (json_t *rootfs, GError **error)
{
  const char *type = NULL;
  json_t *ids = NULL;
  if (!sk_json_get_array (rootfs, "diff_ids", TRUE, &ids, error)
      || !members_are (rootfs, "diff_ids", JSON_STRING, error)
      || !sk_json_get_string (rootfs, "type", TRUE, &type, error))
    return FALSE;
  if (!g_str_equal (type, "layers"))
    return INVALID (error, "type: '%s' is not 'layers'", type);
  return TRUE;
}

static gboolean
history_validate (json_t *j, GError **error)
{
  json_t *arr = NULL;
  if (!sk_json_get_array (j, "history", FALSE, &arr, error))
    return FALSE;
  size_t i;
  json_t *h;
  json_array_foreach (arr, i, h)
    {
      if (!json_is_object (h))
        return INVALID (error, "history[%zu]: expected an object, got %s", i, sk_json_type_name (h));
      if (!timestamp_member (h, "created", error) || !member_is (h, "author", JSON_STRING, FALSE, error)
          || !member_is (h, "created_by", JSON_STRING, FALSE, error)
          || !member_is (h, "comment", JSON_STRING, FALSE, error)
          || !member_is (h, "empty_layer", JSON_TRUE, FALSE, error))
        return g_prefix_error (error, "history[%zu]: ", i), FALSE;
    }
  return TRUE;
}

static gboolean
image_config_validate (json_t *j, GError **error)
{
  const char *s = NULL;
  json_t *cfg = NULL, *rootfs = NULL;
  if (!timestamp_member (j, "created", error) || !member_is (j, "author", JSON_STRING, FALSE, error)
      || !sk_json_get_string (j, "architecture", TRUE, &s, error)
      || !sk_json_get_string (j, "os", TRUE, &s, error)
      || !member_is (j, "variant", JSON_STRING, FALSE, error)
      || !member_is (j, "os.version", JSON_STRING, FALSE, error)
      || !member_is (j, "os.features", JSON_ARRAY, FALSE, error)
      || !members_are (j, "os.features", JSON_STRING, error)
      || !sk_json_get_object (j, "config", FALSE, &cfg, error)
      || !sk_json_get_object (j, "rootfs", TRUE, &rootfs, error))
    return FALSE;
  if (cfg && !runtime_config_validate (cfg, error))
    return g_prefix_error (error, "config: "), FALSE;
  if (!rootfs_validate (rootfs, error))
    return g_prefix_error (error, "rootfs: "), FALSE;
  return history_validate (j, error);
}

gboolean
sk_config_validate_oci_image (GBytes *bytes, GError **error)
{
  gsize len = 0;
  const char *buf = g_bytes_get_data (bytes, &len);
  if (len > SK_CONFIG_MAX_SIZE)
    return INVALID (error, "invalid OCI image config: %zu bytes is too large", len);
  g_autoptr (json_t) j = sk_json_parse_object (buf, len, error);
  if (j == NULL || !image_config_validate (j, error))
    return g_prefix_error (error, "invalid OCI image config: "), FALSE;
  return TRUE;
}
