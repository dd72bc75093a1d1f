/* skiff export — an image's whole disk as one file for other tools, or as
 * a KubeVirt containerDisk in a registry. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "oci/reference.h"
#include "registry/containerdisk.h"
#include "store/layer.h"

#include <stdio.h>

static char *opt_output;
static char *opt_format;
static SkRegistryCliOptions opt_registry;

static GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "The file to write (qcow2, raw)", "FILE" },
  { "format", 'f', 0, G_OPTION_ARG_STRING, &opt_format, "qcow2 (default), raw, or containerdisk", "FORMAT" },
  { NULL },
};

static int
export_containerdisk (SkStore *store, SkStoreImage *img, const char *dest_text, GError **error)
{
  g_autoptr (SkReference) dest = sk_reference_parse (dest_text, error);
  if (dest == NULL)
    return SK_CMD_FAILED;
  SkPushOptions opts = { .tls_verify = opt_registry.tls_verify, .authfile = opt_registry.authfile,
                         .cert_dir = opt_registry.cert_dir };
  g_autofree char *digest = NULL;
  if (!sk_containerdisk_export (store, img, dest, &opts, &digest, error))
    {
      g_autofree char *full = sk_reference_to_string (dest);
      g_prefix_error (error, "exporting a containerDisk to '%s': ", full);
      return SK_CMD_FAILED;
    }
  printf ("%s\n", digest);
  return 0;
}

int
sk_cmd_export (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse_registry ("export", "IMAGE -o FILE | --format containerdisk IMAGE REF",
                              "Write IMAGE's disk, all its layers merged, as one self-contained qcow2 or\n"
                              "raw file (no backing file) that qemu and other tools can use on its own.\n"
                              "--format containerdisk pushes it instead to the registry reference REF as\n"
                              "a KubeVirt containerDisk (/disk/disk.qcow2, owned by uid/gid 107).",
                              entries, &opt_registry, SK_REGISTRY_CLI_ALL, &argc, &argv, error))
    return SK_CMD_FAILED;
  const char *format = opt_format ? opt_format : "qcow2";
  gboolean cd = g_str_equal (format, "containerdisk");
  if (!sk_cmd_check_args ("export", argc, cd ? 2 : 1, cd ? 2 : 1, error))
    return SK_CMD_FAILED;
  if (!cd && !g_str_equal (format, "qcow2") && !g_str_equal (format, "raw"))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "export: unknown --format '%s' (expected qcow2, raw or containerdisk)", format), SK_CMD_FAILED;
  if (!cd && opt_output == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "export: -o FILE is required"), SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  g_autoptr (SkStoreImage) img = store ? sk_cmd_lookup_image (store, argv[1], error) : NULL;
  if (img == NULL)
    return SK_CMD_FAILED;
  if (cd)
    return export_containerdisk (store, img, argv[2], error);
  if (!sk_store_export_disk (store, img, opt_output, format, error))
    {
      g_prefix_error (error, "exporting '%s' to '%s': ", argv[1], opt_output);
      return SK_CMD_FAILED;
    }
  return 0;
}
