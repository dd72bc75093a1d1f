/* skiff history — the layers of an image, newest first. */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "oci/config.h"
#include "oci/manifest.h"

#include <stdio.h>

static char *opt_format;
static gboolean opt_no_trunc;

static GOptionEntry entries[] = {
  { "format", 0, 0, G_OPTION_ARG_STRING, &opt_format, "Output format: table or json", "FORMAT" },
  { "no-trunc", 0, 0, G_OPTION_ARG_NONE, &opt_no_trunc, "Do not truncate long fields", NULL },
  { NULL },
};

static gint64
parse_time (const char *rfc3339)
{
  g_autoptr (GDateTime) t = rfc3339 ? g_date_time_new_from_iso8601 (rfc3339, NULL) : NULL;
  return t ? g_date_time_to_unix (t) : 0;
}

/* Size of the disk layer that history entry @h created, if any. */
static gint64
layer_size (SkManifest *m, guint *disk_index, const SkHistoryEntry *h)
{
  if (h->empty_layer)
    return 0;
  for (; *disk_index < m->layers->len; (*disk_index)++)
    {
      SkDescriptor *d = m->layers->pdata[*disk_index];
      if (sk_media_type_is_disk (d->media_type))
        return (*disk_index)++, d->size;
    }
  return 0;
}

int
sk_cmd_history (int argc, char **argv, GError **error)
{
  SkFormat format;
  if (!sk_cmd_parse ("history", "IMAGE", "Show the history of an image: one line per layer, newest first.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("history", argc, 1, 1, error) || !sk_cmd_parse_format (opt_format, &format, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  g_autoptr (SkStoreImage) img = store ? sk_cmd_lookup_image (store, argv[1], error) : NULL;
  g_autoptr (SkConfig) config = img ? sk_config_parse (img->config, error) : NULL;
  g_autoptr (SkManifest) m = config ? sk_manifest_parse (img->manifest, NULL, error) : NULL;
  if (m == NULL)
    return SK_CMD_FAILED;

  guint n = config->history->len;
  g_autofree gint64 *sizes = g_new0 (gint64, n + 1);
  guint disk = 0;
  for (guint i = 0; i < n; i++)
    sizes[i] = layer_size (m, &disk, config->history->pdata[i]);

  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (json_t) arr = json_array ();
  if (format == SK_FORMAT_TABLE)
    printf ("%-20s %-45s %-10s %s\n", "CREATED", "CREATED BY", "SIZE", "COMMENT");
  for (guint k = n; k-- > 0;)
    {
      SkHistoryEntry *h = config->history->pdata[k];
      if (format == SK_FORMAT_JSON)
        {
          json_t *o = json_object ();
          json_object_set_new (o, "created", h->created ? json_string (h->created) : json_null ());
          json_object_set_new (o, "created_by", json_string (h->created_by ? h->created_by : ""));
          json_object_set_new (o, "comment", json_string (h->comment ? h->comment : ""));
          json_object_set_new (o, "size", json_integer (sizes[k]));
          json_object_set_new (o, "empty_layer", json_boolean (h->empty_layer));
          json_array_append_new (arr, o);
          continue;
        }
      g_autofree char *age = h->created ? sk_format_age (parse_time (h->created), now) : g_strdup ("<unknown>");
      g_autofree char *size = sk_format_size (sizes[k]);
      g_autofree char *by = g_strdup (h->created_by ? h->created_by : "");
      if (!opt_no_trunc && strlen (by) > 44)
        strcpy (by + 41, "...");
      printf ("%-20s %-45s %-10s %s\n", age, by, size, h->comment ? h->comment : "");
    }
  if (format == SK_FORMAT_JSON)
    sk_cmd_print_json (arr);
  return 0;
}
