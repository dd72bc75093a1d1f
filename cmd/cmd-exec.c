/* skiff exec / ssh — commands in a VM over SSH with skiff's own key. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/log.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static int opt_wait = 120;
static gboolean opt_tty;
static gboolean opt_interactive;

static GOptionEntry exec_entries[] = {
  { "wait", 0, 0, G_OPTION_ARG_INT, &opt_wait, "Seconds to wait for the guest's SSH (default 120)", "SECONDS" },
  { "tty", 't', 0, G_OPTION_ARG_NONE, &opt_tty, "Allocate a terminal", NULL },
  { "interactive", 'i', 0, G_OPTION_ARG_NONE, &opt_interactive, "Keep stdin open (always on)", NULL },
  { NULL },
};

/* Replaces skiff with ssh: the guest command's status becomes ours. */
static int
exec_ssh (SkVm *vm, gboolean tty, const char *const *cmd, GError **error)
{
  if (!sk_runner_wait_ssh (sk_globals.root, vm, opt_wait, error))
    return SK_CMD_FAILED;
  g_auto (GStrv) argv = sk_runner_ssh_argv (sk_globals.root, vm, tty, cmd);
  sk_debug_argv ((const char *const *) argv);
  fflush (stdout);
  execvp (argv[0], argv);
  sk_error_from_errno (error, errno, "running ssh");
  return SK_CMD_FAILED;
}

static SkVm *
running_vm (const char *name, GError **error)
{
  g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, name, error);
  if (vm == NULL)
    return NULL;
  SkVmStatus st;
  sk_vm_status (sk_globals.root, vm, &st);
  gboolean running = st.state == SK_VM_RUNNING;
  sk_vm_status_clear (&st);
  if (!running)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s' is not running", vm->name), NULL;
  return g_steal_pointer (&vm);
}

int
sk_cmd_exec (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("exec", "VM [--] COMMAND [ARG...]",
                     "Run a command in a running VM over SSH (skiff's per-VM key, pinned host\n"
                     "key). The exit status is the command's.",
                     exec_entries, &argc, &argv, error)
      || !sk_cmd_check_args ("exec", argc, 2, -1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkVm) vm = running_vm (argv[1], error);
  if (vm == NULL)
    return SK_CMD_FAILED;
  return exec_ssh (vm, opt_tty, (const char *const *) argv + 2, error);
}

int
sk_cmd_ssh (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("ssh", "VM [COMMAND...]", "Open a shell (or run COMMAND) in a running VM over SSH.",
                     exec_entries, &argc, &argv, error)
      || !sk_cmd_check_args ("ssh", argc, 1, -1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkVm) vm = running_vm (argv[1], error);
  if (vm == NULL)
    return SK_CMD_FAILED;
  gboolean tty = argc == 2 ? isatty (STDIN_FILENO) : opt_tty;
  return exec_ssh (vm, tty, argc > 2 ? (const char *const *) argv + 2 : NULL, error);
}
