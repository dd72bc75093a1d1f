/* skiff system df — disk usage of the store and the VMs. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/util.h"
#include "runner/vm.h"

#include <stdio.h>
#include <sys/stat.h>

static guint64
vm_disk_bytes (const char *root, SkVm *vm)
{
  guint64 total = 0;
  g_autofree char *dir = sk_vm_dir (root, vm->id);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      struct stat st;
      if (lstat (p, &st) == 0 && S_ISREG (st.st_mode))
        total += (guint64) st.st_blocks * 512;
    }
  return total;
}

static int
system_df (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("system df", NULL, "Show the disk space used by images and VMs.", NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("system df", argc, 0, 0, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  SkStoreUsage u;
  g_autoptr (GPtrArray) vms = sk_vm_list (sk_globals.root, error);
  if (!sk_store_usage (store, &u, error) || vms == NULL)
    return SK_CMD_FAILED;
  guint64 vm_bytes = 0;
  for (guint i = 0; i < vms->len; i++)
    vm_bytes += vm_disk_bytes (sk_globals.root, vms->pdata[i]);
  g_autofree char *unique = sk_format_size (u.unique_bytes);
  g_autofree char *saved = sk_format_size (u.shared_bytes - u.unique_bytes);
  g_autofree char *vmsz = sk_format_size (vm_bytes);
  printf ("%-8s %-8s %-12s %s\n", "TYPE", "TOTAL", "SIZE", "SHARED (saved by deduplication)");
  printf ("%-8s %-8u %-12s %s\n", "Images", u.images, unique, saved);
  printf ("%-8s %-8u %-12s %s\n", "Layers", u.layers, unique, "");
  printf ("%-8s %-8u %-12s %s\n", "VMs", vms->len, vmsz, "");
  return 0;
}

int
sk_cmd_system (int argc, char **argv, GError **error)
{
  if (argc >= 2 && g_str_equal (argv[1], "df"))
    return system_df (argc - 1, argv + 1, error);
  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      printf ("Usage:\n  skiff system df\n\nManage skiff itself.\n\nCommands:\n  df    Show the disk space used by "
              "images and VMs\n");
      return 0;
    }
  g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "system: expected a subcommand: df (see 'skiff system --help')");
  return SK_CMD_FAILED;
}
