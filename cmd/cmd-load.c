/* skiff load — images from an OCI image layout tar (skiff save, skopeo). */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "registry/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char *opt_input;
static gboolean opt_quiet;

static GOptionEntry entries[] = {
  { "input", 'i', 0, G_OPTION_ARG_FILENAME, &opt_input, "Read from FILE (default: standard input)", "FILE" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print nothing on success", NULL },
  { NULL },
};

int
sk_cmd_load (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("load", "[-i FILE]",
                     "Load the images of an OCI image layout tar (from 'skiff save', or skopeo's\n"
                     "oci-archive:), plain or compressed (gzip, zstd, xz). Every entry, manifest,\n"
                     "config and layer is checked as a pull checks it; bad archives store nothing.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("load", argc, 0, 0, error))
    return SK_CMD_FAILED;
  const char *what = opt_input ? opt_input : "standard input";
  sk_autofd int fd = opt_input ? open (opt_input, O_RDONLY | O_CLOEXEC) : dup (STDIN_FILENO);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "load: opening '%s'", what), SK_CMD_FAILED;
  if (opt_input == NULL && isatty (fd))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "load: refusing to read an archive from a terminal: use -i FILE or a pipe"), SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) loaded = NULL;
  if (!sk_archive_load (store, fd, &loaded, error))
    {
      g_prefix_error (error, "loading '%s': ", what);
      return SK_CMD_FAILED;
    }
  for (guint i = 0; !opt_quiet && i < loaded->len; i++)
    {
      g_auto (GStrv) f = g_strsplit (loaded->pdata[i], " ", 2);
      printf ("Loaded image: %s (%s)\n", f[0], f[1]);
    }
  return 0;
}
