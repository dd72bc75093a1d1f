/* skiff fsck — verify every object in the store. */
#include "cmd/cmd.h"

#include <stdio.h>

int
sk_cmd_fsck (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("fsck", NULL,
                     "Verify every object in the store: ostree checksums, manifest and\n"
                     "config digests, each layer's digest and qcow2 header, the layer links.\n"
                     "Prints one line per problem; the exit status is 1 when any is found.",
                     NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("fsck", argc, 0, 0, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) problems = NULL;
  if (!sk_store_fsck (store, &problems, error))
    return SK_CMD_FAILED;
  SkStoreUsage u;
  if (!sk_store_usage (store, &u, error))
    return SK_CMD_FAILED;
  for (guint i = 0; i < problems->len; i++)
    printf ("%s\n", (char *) problems->pdata[i]);
  if (problems->len > 0)
    {
      fprintf (stderr, "skiff: fsck: %u problem%s found\n", problems->len, problems->len == 1 ? "" : "s");
      return 1;
    }
  printf ("store OK: %u image%s, %u layer%s verified\n", u.images, u.images == 1 ? "" : "s", u.layers,
          u.layers == 1 ? "" : "s");
  return 0;
}
