/* skiff import — a disk file becomes a one-layer image. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "oci/reference.h"
#include "registry/containerdisk.h"
#include "store/import.h"

#include <stdio.h>

static char *opt_kernel;
static char *opt_initrd;
static char *opt_cmdline;
static char *opt_arch;
static int opt_memory;
static int opt_cpus;
static char *opt_user;
static gboolean opt_quiet;
static gboolean opt_containerdisk;
static SkRegistryCliOptions opt_registry;

static GOptionEntry entries[] = {
  { "kernel", 0, 0, G_OPTION_ARG_FILENAME, &opt_kernel, "Boot this kernel directly (stored with the image)", "FILE" },
  { "initrd", 0, 0, G_OPTION_ARG_FILENAME, &opt_initrd, "Initrd for --kernel", "FILE" },
  { "cmdline", 0, 0, G_OPTION_ARG_STRING, &opt_cmdline, "Kernel command line for --kernel", "STR" },
  { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Architecture (OCI name, default: the host's)", "ARCH" },
  { "memory", 'm', 0, G_OPTION_ARG_INT, &opt_memory, "Default memory in MiB (default 512)", "MIB" },
  { "cpus", 0, 0, G_OPTION_ARG_INT, &opt_cpus, "Default number of CPUs (default 1)", "N" },
  { "user", 0, 0, G_OPTION_ARG_STRING, &opt_user, "Default cloud-init user of the image", "NAME" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print nothing on success", NULL },
  { "containerdisk", 0, 0, G_OPTION_ARG_NONE, &opt_containerdisk, "DISK is a KubeVirt containerDisk in a registry "
    "(a container image with /disk/*.qcow2 or /disk/*.img); NAME defaults to its reference", NULL },
  { NULL },
};

/* The disk of a containerDisk @ref; the image is named @tag. */
static char *
import_containerdisk (SkStore *store, const char *ref_text, const char *tag, const SkImportOptions *iopts,
                      GError **error)
{
  g_autoptr (SkReference) ref = sk_reference_parse (ref_text, error);
  if (ref == NULL)
    return NULL;
  g_autofree char *full = sk_reference_to_string (ref);
  SkPullOptions opts = { .tls_verify = opt_registry.tls_verify, .authfile = opt_registry.authfile,
                         .cert_dir = opt_registry.cert_dir };
  char *digest = NULL;
  if (!sk_containerdisk_import (store, ref, &opts, iopts, tag ? tag : full, &digest, error))
    return g_prefix_error (error, "containerDisk '%s': ", full), NULL;
  return digest;
}

int
sk_cmd_import (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse_registry ("import", "DISK NAME[:TAG] | --containerdisk REF [NAME[:TAG]]",
                              "Turn a disk (qcow2, raw, or vmdk/vdi/vhdx via qemu-img) into a one-layer image.\n"
                              "A qcow2 is stored as it is (it must have no backing file); other formats\n"
                              "are converted to qcow2. Every disk is checked before anything is stored.\n"
                              "With --containerdisk, the disk comes from a KubeVirt containerDisk image\n"
                              "in a registry (the registry options apply to it).",
                              entries, &opt_registry, SK_REGISTRY_CLI_ALL, &argc, &argv, error)
      || !sk_cmd_check_args ("import", argc, opt_containerdisk ? 1 : 2, 2, error))
    return SK_CMD_FAILED;
  if (opt_memory < 0 || opt_cpus < 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "import: --memory and --cpus must be positive");
      return SK_CMD_FAILED;
    }
  g_autofree char *tag = argc > 2 ? sk_cmd_normalize_name (argv[2], error) : NULL;
  if (argc > 2 && tag == NULL)
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  SkImportOptions opts = {
    .kernel = opt_kernel, .initrd = opt_initrd, .cmdline = opt_cmdline, .arch = opt_arch,
    .memory_mib = opt_memory, .cpus = opt_cpus, .user = opt_user,
  };
  g_autofree char *digest = opt_containerdisk ? import_containerdisk (store, argv[1], tag, &opts, error)
                                              : sk_store_import_disk (store, argv[1], &opts, tag, error);
  if (digest == NULL)
    {
      g_prefix_error (error, "importing '%s': ", argv[1]);
      return SK_CMD_FAILED;
    }
  if (!opt_quiet)
    printf ("%s\n", digest);
  return 0;
}
