/* skiff tag — give an image another name. */
#include "cmd/cmd.h"

int
sk_cmd_tag (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("tag", "SOURCE TARGET", "Create a tag TARGET that refers to the image SOURCE.", NULL, &argc,
                     &argv, error)
      || !sk_cmd_check_args ("tag", argc, 2, 2, error))
    return SK_CMD_FAILED;
  g_autofree char *target = sk_cmd_normalize_name (argv[2], error);
  if (target == NULL)
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (SkStoreImage) img = sk_cmd_lookup_image (store, argv[1], error);
  if (img == NULL || !sk_store_tag (store, img->digest, target, error))
    return SK_CMD_FAILED;
  return 0;
}
