/* skiff logs / attach — the serial console. */
#include "cmd/cmd.h"
#include "cmd/console.h"
#include "common/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static gboolean opt_follow;

static GOptionEntry logs_entries[] = {
  { "follow", 'f', 0, G_OPTION_ARG_NONE, &opt_follow, "Keep following the console until the VM exits", NULL },
  { NULL },
};

int
sk_cmd_logs (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("logs", "VM", "Show what a VM printed on its serial console.", logs_entries, &argc, &argv,
                     error)
      || !sk_cmd_check_args ("logs", argc, 1, 1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, argv[1], error);
  if (vm == NULL)
    return SK_CMD_FAILED;
  if (opt_follow)
    return sk_cmd_console_follow (sk_globals.root, vm, FALSE, -1, error) ? 0 : SK_CMD_FAILED;
  g_autofree char *path = sk_vm_path (sk_globals.root, vm, "console.log");
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL))
    return 0; /* never started: nothing printed yet */
  fwrite (text, 1, len, stdout);
  return 0;
}

int
sk_cmd_attach (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("attach", "VM", "Connect the terminal to a running VM's serial console (Ctrl-] detaches).",
                     NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("attach", argc, 1, 1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, argv[1], error);
  if (vm == NULL)
    return SK_CMD_FAILED;
  int r = sk_cmd_console_attach (sk_globals.root, vm, isatty (STDIN_FILENO), -1, error);
  return r < 0 ? SK_CMD_FAILED : 0;
}
