/* skiff export — an image's whole disk as one file for other tools. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "store/layer.h"

#include <stdio.h>

static char *opt_output;
static char *opt_format;

static GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "The file to write", "FILE" },
  { "format", 'f', 0, G_OPTION_ARG_STRING, &opt_format, "qcow2 (default) or raw", "FORMAT" },
  { NULL },
};

int
sk_cmd_export (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("export", "IMAGE -o FILE",
                     "Write IMAGE's disk, all its layers merged, as one self-contained qcow2 or\n"
                     "raw file (no backing file) that qemu and other tools can use on its own.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("export", argc, 1, 1, error))
    return SK_CMD_FAILED;
  const char *format = opt_format ? opt_format : "qcow2";
  if (opt_output == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "export: -o FILE is required"), SK_CMD_FAILED;
  if (!g_str_equal (format, "qcow2") && !g_str_equal (format, "raw"))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "export: unknown --format '%s' (expected qcow2 or raw)",
                        format), SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  g_autoptr (SkStoreImage) img = store ? sk_cmd_lookup_image (store, argv[1], error) : NULL;
  if (img == NULL)
    return SK_CMD_FAILED;
  if (!sk_store_export_disk (store, img, opt_output, format, error))
    {
      g_prefix_error (error, "exporting '%s' to '%s': ", argv[1], opt_output);
      return SK_CMD_FAILED;
    }
  return 0;
}
