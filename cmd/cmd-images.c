/* skiff images — list the images in the store. */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <stdio.h>

static gboolean opt_quiet;
static gboolean opt_digests;
static gboolean opt_no_trunc;
static char *opt_format;

static GOptionEntry entries[] = {
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Show only image ids", NULL },
  { "digests", 0, 0, G_OPTION_ARG_NONE, &opt_digests, "Show manifest digests", NULL },
  { "no-trunc", 0, 0, G_OPTION_ARG_NONE, &opt_no_trunc, "Show full image ids", NULL },
  { "format", 0, 0, G_OPTION_ARG_STRING, &opt_format, "Output format: table or json", "FORMAT" },
  { NULL },
};

static json_t *
image_json (SkStoreImage *img)
{
  json_t *o = json_object ();
  json_object_set_new (o, "Id", json_string (img->digest));
  json_object_set_new (o, "Digest", json_string (img->digest));
  json_t *names = json_array ();
  for (guint i = 0; i < img->tags->len; i++)
    json_array_append_new (names, json_string (img->tags->pdata[i]));
  json_object_set_new (o, "Names", names);
  json_object_set_new (o, "Created", json_integer (img->created));
  json_object_set_new (o, "Size", json_integer (img->size));
  json_object_set_new (o, "InUse", json_boolean (img->held));
  return o;
}

static void
print_row (SkStoreImage *img, const char *repo, const char *tag, gint64 now)
{
  g_autofree char *id = opt_no_trunc ? g_strdup (img->digest) : sk_cmd_short_id (img->digest);
  g_autofree char *age = sk_format_age (img->created, now);
  g_autofree char *size = sk_format_size (img->size);
  if (opt_digests)
    printf ("%-40s %-12s %-71s %-12s %-20s %s\n", repo, tag, img->digest, id, age, size);
  else
    printf ("%-40s %-12s %-12s %-20s %s\n", repo, tag, id, age, size);
}

int
sk_cmd_images (int argc, char **argv, GError **error)
{
  SkFormat format;
  if (!sk_cmd_parse ("images", NULL, "List the images in the store.", entries, &argc, &argv, error)
      || !sk_cmd_check_args ("images", argc, 0, 0, error) || !sk_cmd_parse_format (opt_format, &format, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) images = sk_store_list_images (store, error);
  if (images == NULL)
    return SK_CMD_FAILED;

  if (format == SK_FORMAT_JSON)
    {
      g_autoptr (json_t) arr = json_array ();
      for (guint i = 0; i < images->len; i++)
        json_array_append_new (arr, image_json (images->pdata[i]));
      sk_cmd_print_json (arr);
      return 0;
    }
  if (opt_quiet)
    {
      for (guint i = 0; i < images->len; i++)
        {
          SkStoreImage *img = images->pdata[i];
          g_autofree char *id = opt_no_trunc ? g_strdup (img->digest) : sk_cmd_short_id (img->digest);
          printf ("%s\n", id);
        }
      return 0;
    }
  if (opt_digests)
    printf ("%-40s %-12s %-71s %-12s %-20s %s\n", "REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE");
  else
    printf ("%-40s %-12s %-12s %-20s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  for (guint i = 0; i < images->len; i++)
    {
      SkStoreImage *img = images->pdata[i];
      if (img->tags->len == 0)
        print_row (img, "<none>", "<none>", now);
      for (guint t = 0; t < img->tags->len; t++)
        {
          g_autofree char *repo = NULL, *tag = NULL;
          sk_cmd_split_familiar (img->tags->pdata[t], &repo, &tag);
          print_row (img, repo, tag, now);
        }
    }
  return 0;
}
