/* skiff prune — remove what no tag and no VM uses. */
#include "cmd/cmd.h"
#include "common/util.h"

#include <stdio.h>

int
sk_cmd_prune (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("prune", NULL,
                     "Remove images that no tag and no VM references, and every layer\n"
                     "only they used. Reports the space freed.",
                     NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("prune", argc, 0, 0, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_store_open (sk_globals.root, error);
  if (store == NULL)
    return SK_CMD_FAILED;
  guint images = 0;
  guint64 freed = 0;
  if (!sk_store_prune (store, &images, &freed, error))
    return SK_CMD_FAILED;
  g_autofree char *human = sk_format_size (freed);
  printf ("Deleted images: %u\nTotal reclaimed space: %s\n", images, human);
  return 0;
}
