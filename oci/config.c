/* skiff — the VM image config, and a validator for OCI image configs. */
#include "oci/config.h"

#include "common/error.h"
#include "oci/digest.h"
#include "oci/mediatypes.h"
#include "oci/oci-json.h"

#include <string.h>

#define INVALID(error, ...) (g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, __VA_ARGS__), FALSE)

static void
history_entry_free (SkHistoryEntry *h)
{
  g_free (h->created);
  g_free (h->created_by);
  g_free (h->comment);
  g_free (h->author);
  g_free (h);
}

SkConfig *
sk_config_new (void)
{
  SkConfig *c = g_new0 (SkConfig, 1);
  c->diff_ids = g_ptr_array_new_with_free_func (g_free);
  c->history = g_ptr_array_new_with_free_func ((GDestroyNotify) history_entry_free);
  c->boot = SK_BOOT_BIOS;
  c->memory_mib = 512;
  c->cpus = 1;
  return c;
}

void
sk_config_free (SkConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->created);
  g_free (c->architecture);
  g_free (c->os);
  g_ptr_array_unref (c->diff_ids);
  g_free (c->cmdline);
  g_free (c->user);
  g_ptr_array_unref (c->history);
  g_free (c);
}

void
sk_config_add_diff_id (SkConfig *c, const char *diff_id)
{
  g_ptr_array_add (c->diff_ids, g_strdup (diff_id));
}

void
sk_config_add_history (SkConfig *c, const char *created, const char *created_by,
                       const char *comment, gboolean empty_layer)
{
  SkHistoryEntry *h = g_new0 (SkHistoryEntry, 1);
  h->created = g_strdup (created);
  h->created_by = g_strdup (created_by);
  h->comment = g_strdup (comment);
  h->empty_layer = empty_layer;
  g_ptr_array_add (c->history, h);
}

gboolean
sk_config_timestamp_valid (const char *s)
{
  static const char pattern[] =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
  if (s == NULL || !g_regex_match_simple (pattern, s, 0, 0))
    return FALSE;
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (s, NULL);
  return dt != NULL;
}

/* Names that end up in qemu binary names and cloud-init user-data. */
static gboolean
token_valid (const char *s, const char *pattern)
{
  return s != NULL && g_regex_match_simple (pattern, s, 0, 0);
}

static gboolean
cmdline_validate (const SkConfig *c, GError **error)
{
  if (c->boot != SK_BOOT_KERNEL)
    return c->cmdline == NULL ? TRUE
                              : INVALID (error, "config: cmdline: only allowed with boot 'kernel', not '%s'",
                                         sk_boot_mode_to_string (c->boot));
  if (c->cmdline == NULL || *c->cmdline == '\0')
    return INVALID (error, "config: cmdline: required with boot 'kernel'");
  if (strlen (c->cmdline) > 4096 || !g_utf8_validate (c->cmdline, -1, NULL))
    return INVALID (error, "config: cmdline: longer than 4096 bytes or not UTF-8");
  for (const char *p = c->cmdline; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return INVALID (error, "config: cmdline: contains a control character");
  return TRUE;
}

static gboolean
diff_ids_validate (const SkConfig *c, GError **error)
{
  if (c->diff_ids->len == 0)
    return INVALID (error, "rootfs: diff_ids: empty, at least one disk layer is required");
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < c->diff_ids->len; i++)
    {
      const char *d = c->diff_ids->pdata[i];
      g_autoptr (GError) local = NULL;
      if (!sk_digest_validate (d, NULL, &local))
        return INVALID (error, "rootfs: diff_ids[%u]: %s", i, local->message);
      /* The backing chain names parents by diff-id: a repeat is a loop. */
      if (!g_hash_table_add (seen, (gpointer) d))
        return INVALID (error, "rootfs: diff_ids[%u]: '%s' appears twice", i, d);
    }
  return TRUE;
}

static gboolean
history_validate (const SkConfig *c, GError **error)
{
  for (guint i = 0; i < c->history->len; i++)
    {
      const SkHistoryEntry *h = c->history->pdata[i];
      if (h->created && !sk_config_timestamp_valid (h->created))
        return INVALID (error, "history[%u]: created: '%s' is not an RFC 3339 date-time", i, h->created);
      const char *strs[] = { h->created_by, h->comment, h->author };
      for (guint k = 0; k < G_N_ELEMENTS (strs); k++)
        if (strs[k] && !g_utf8_validate (strs[k], -1, NULL))
          return INVALID (error, "history[%u]: not valid UTF-8", i);
    }
  return TRUE;
}

gboolean
sk_config_validate (const SkConfig *c, GError **error)
{
  if (c->created && !sk_config_timestamp_valid (c->created))
    return INVALID (error, "created: '%s' is not an RFC 3339 date-time", c->created);
  if (!token_valid (c->architecture, "^[a-z0-9_]{1,32}$"))
    return INVALID (error, "architecture: '%s' is not an architecture name", c->architecture ? c->architecture : "");
  if (!token_valid (c->os, "^[a-z0-9_]{1,32}$"))
    return INVALID (error, "os: '%s' is not an operating system name", c->os ? c->os : "");
  if (sk_boot_mode_to_string (c->boot) == NULL)
    return INVALID (error, "config: boot: unknown boot mode %d", (int) c->boot);
  if (!cmdline_validate (c, error))
    return FALSE;
  if (c->memory_mib < 1 || c->memory_mib > SK_CONFIG_MAX_MEMORY_MIB)
    return INVALID (error, "config: memory: %u MiB is outside 1 .. %u", c->memory_mib, SK_CONFIG_MAX_MEMORY_MIB);
  if (c->cpus < 1 || c->cpus > SK_CONFIG_MAX_CPUS)
    return INVALID (error, "config: cpus: %u is outside 1 .. %u", c->cpus, SK_CONFIG_MAX_CPUS);
  if (c->user && !token_valid (c->user, "^[a-z_][a-z0-9_.-]{0,31}$"))
    return INVALID (error, "config: user: '%s' is not a valid user name", c->user);
  if (c->disk_size == 0 || c->disk_size > G_MAXINT64)
    return INVALID (error, "config: disk_size: must be a positive byte count");
  return diff_ids_validate (c, error) && history_validate (c, error);
}

static gboolean
int_in_range (json_t *obj, const char *key, gint64 min, gint64 max, gint64 *out, GError **error)
{
  if (!sk_json_get_int (obj, key, TRUE, NULL, out, error))
    return FALSE;
  if (*out < min || *out > max)
    return INVALID (error, "%s: %" G_GINT64_FORMAT " is outside %" G_GINT64_FORMAT " .. %" G_GINT64_FORMAT,
                    key, *out, min, max);
  return TRUE;
}

static gboolean
vm_settings_from_json (json_t *cfg, SkConfig *c, GError **error)
{
  const char *boot = NULL, *cmdline = NULL, *user = NULL;
  gint64 memory = 0, cpus = 0, disk = 0;
  if (!sk_json_get_string (cfg, "boot", TRUE, &boot, error)
      || !sk_json_get_string (cfg, "cmdline", FALSE, &cmdline, error)
      || !int_in_range (cfg, "memory", 1, SK_CONFIG_MAX_MEMORY_MIB, &memory, error)
      || !int_in_range (cfg, "cpus", 1, SK_CONFIG_MAX_CPUS, &cpus, error)
      || !sk_json_get_string (cfg, "user", FALSE, &user, error)
      || !int_in_range (cfg, "disk_size", 1, G_MAXINT64, &disk, error))
    return FALSE;
  if (!sk_boot_mode_from_string (boot, &c->boot, error))
    return g_prefix_error (error, "boot: "), FALSE;
  c->cmdline = g_strdup (cmdline);
  c->memory_mib = memory;
  c->cpus = cpus;
  c->user = g_strdup (user);
  c->disk_size = disk;
  return TRUE;
}

static gboolean
rootfs_from_json (json_t *rootfs, SkConfig *c, GError **error)
{
  const char *type = NULL;
  g_auto (GStrv) ids = NULL;
  if (!sk_json_get_string (rootfs, "type", TRUE, &type, error))
    return FALSE;
  if (!g_str_equal (type, "layers"))
    return INVALID (error, "type: '%s' is not 'layers'", type);
  if (json_object_get (rootfs, "diff_ids") == NULL)
    return INVALID (error, "diff_ids: missing");
  if (!sk_json_get_strv (rootfs, "diff_ids", &ids, error))
    return FALSE;
  for (guint i = 0; ids[i]; i++)
    sk_config_add_diff_id (c, ids[i]);
  return TRUE;
}

static gboolean
history_from_json (json_t *j, SkConfig *c, GError **error)
{
  json_t *arr = NULL;
  if (!sk_json_get_array (j, "history", FALSE, &arr, error))
    return FALSE;
  if (arr == NULL)
    return TRUE;
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
    {
      const char *created = NULL, *by = NULL, *comment = NULL, *author = NULL;
      gboolean empty = FALSE;
      if (!json_is_object (v))
        return INVALID (error, "history[%zu]: expected an object, got %s", i, sk_json_type_name (v));
      if (!sk_json_get_string (v, "created", FALSE, &created, error)
          || !sk_json_get_string (v, "created_by", FALSE, &by, error)
          || !sk_json_get_string (v, "comment", FALSE, &comment, error)
          || !sk_json_get_string (v, "author", FALSE, &author, error)
          || !sk_json_get_bool (v, "empty_layer", &empty, error))
        return g_prefix_error (error, "history[%zu]: ", i), FALSE;
      sk_config_add_history (c, created, by, comment, empty);
      ((SkHistoryEntry *) c->history->pdata[i])->author = g_strdup (author);
    }
  return TRUE;
}

static gboolean
config_from_json (json_t *j, SkConfig *c, GError **error)
{
  const char *created = NULL, *arch = NULL, *os = NULL;
  json_t *cfg = NULL, *rootfs = NULL;
  if (!sk_json_get_string (j, "created", FALSE, &created, error)
      || !sk_json_get_string (j, "architecture", TRUE, &arch, error)
      || !sk_json_get_string (j, "os", TRUE, &os, error)
      || !sk_json_get_object (j, "config", TRUE, &cfg, error)
      || !sk_json_get_object (j, "rootfs", TRUE, &rootfs, error))
    return FALSE;
  c->created = g_strdup (created);
  c->architecture = g_strdup (arch);
  c->os = g_strdup (os);
  if (!vm_settings_from_json (cfg, c, error))
    return g_prefix_error (error, "config: "), FALSE;
  if (!rootfs_from_json (rootfs, c, error))
    return g_prefix_error (error, "rootfs: "), FALSE;
  return history_from_json (j, c, error) && sk_config_validate (c, error);
}

SkConfig *
sk_config_parse (GBytes *bytes, GError **error)
{
  gsize len = 0;
  const char *buf = g_bytes_get_data (bytes, &len);
  if (len > SK_CONFIG_MAX_SIZE)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "invalid config: %zu bytes is more than the %d MiB limit",
                        len, SK_CONFIG_MAX_SIZE >> 20), NULL;
  g_autoptr (SkConfig) c = sk_config_new ();
  g_autoptr (json_t) j = sk_json_parse_object (buf, len, error);
  if (j == NULL || !config_from_json (j, c, error))
    return g_prefix_error (error, "invalid config: "), NULL;
  return g_steal_pointer (&c);
}

static void
set_string (json_t *o, const char *key, const char *value)
{
  if (value)
    json_object_set_new (o, key, json_string (value));
}

static json_t *
vm_settings_to_json (const SkConfig *c)
{
  json_t *o = json_object ();
  json_object_set_new (o, "boot", json_string (sk_boot_mode_to_string (c->boot)));
  set_string (o, "cmdline", c->cmdline);
  json_object_set_new (o, "memory", json_integer (c->memory_mib));
  json_object_set_new (o, "cpus", json_integer (c->cpus));
  set_string (o, "user", c->user);
  json_object_set_new (o, "disk_size", json_integer ((json_int_t) c->disk_size));
  return o;
}

static json_t *
history_to_json (const SkConfig *c)
{
  json_t *a = json_array ();
  for (guint i = 0; i < c->history->len; i++)
    {
      const SkHistoryEntry *h = c->history->pdata[i];
      json_t *o = json_object ();
      set_string (o, "created", h->created);
      set_string (o, "author", h->author);
      set_string (o, "created_by", h->created_by);
      set_string (o, "comment", h->comment);
      if (h->empty_layer)
        json_object_set_new (o, "empty_layer", json_true ());
      json_array_append_new (a, o);
    }
  return a;
}

GBytes *
sk_config_serialize (const SkConfig *c, GError **error)
{
  if (!sk_config_validate (c, error))
    return g_prefix_error (error, "invalid config: "), NULL;
  g_autoptr (json_t) j = json_object ();
  set_string (j, "created", c->created);
  json_object_set_new (j, "architecture", json_string (c->architecture));
  json_object_set_new (j, "os", json_string (c->os));
  json_object_set_new (j, "config", vm_settings_to_json (c));
  json_t *rootfs = json_object ();
  json_object_set_new (rootfs, "type", json_string ("layers"));
  json_t *ids = json_array ();
  for (guint i = 0; i < c->diff_ids->len; i++)
    json_array_append_new (ids, json_string (c->diff_ids->pdata[i]));
  json_object_set_new (rootfs, "diff_ids", ids);
  json_object_set_new (j, "rootfs", rootfs);
  if (c->history->len > 0)
    json_object_set_new (j, "history", history_to_json (c));
  return sk_json_dump (j);
}
