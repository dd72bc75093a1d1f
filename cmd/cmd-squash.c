/* skiff squash — an image's chain of layers flattened into one. */
#include "cmd/cmd.h"
#include "store/layer.h"

#include <stdio.h>

static char *opt_message;
static gboolean opt_quiet;

static GOptionEntry entries[] = {
  { "message", 'm', 0, G_OPTION_ARG_STRING, &opt_message, "Comment recorded in the new image's history", "MSG" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print nothing on success", NULL },
  { NULL },
};

int
sk_cmd_squash (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("squash", "IMAGE NEWIMAGE[:TAG]",
                     "Store IMAGE's whole disk as NEWIMAGE, an image of one self-contained layer\n"
                     "with the same settings and boot files. IMAGE is left as it is.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("squash", argc, 2, 2, error))
    return SK_CMD_FAILED;
  g_autofree char *tag = sk_cmd_normalize_name (argv[2], error);
  g_autoptr (SkStore) store = tag ? sk_cmd_open_store (error) : NULL;
  g_autoptr (SkStoreImage) img = store ? sk_cmd_lookup_image (store, argv[1], error) : NULL;
  if (img == NULL)
    return SK_CMD_FAILED;
  g_autofree char *by = g_strdup_printf ("skiff squash %s", argv[1]);
  SkLayerOptions opts = { .comment = opt_message ? opt_message : "squashed", .created_by = by };
  g_autofree char *digest = sk_store_squash (store, img, &opts, tag, error);
  if (digest == NULL)
    {
      g_prefix_error (error, "squashing '%s': ", argv[1]);
      return SK_CMD_FAILED;
    }
  if (!opt_quiet)
    printf ("%s\n", digest);
  return 0;
}
