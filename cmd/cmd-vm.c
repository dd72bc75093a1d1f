/* skiff start, stop, kill, restart, rm, wait, port — a VM's lifecycle. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "runner/portspec.h"
#include "runner/runner.h"

#include <signal.h>
#include <stdio.h>

static int opt_time = 10;
static gboolean opt_force;
static char *opt_signal;

static GOptionEntry stop_entries[] = {
  { "time", 't', 0, G_OPTION_ARG_INT, &opt_time, "Seconds to wait for the ACPI power-off before killing "
    "(default 10)", "SECONDS" },
  { NULL },
};
static GOptionEntry rm_entries[] = {
  { "force", 'f', 0, G_OPTION_ARG_NONE, &opt_force, "Kill a running VM before removing it", NULL },
  { NULL },
};
static GOptionEntry kill_entries[] = {
  { "signal", 's', 0, G_OPTION_ARG_STRING, &opt_signal, "Signal to send to qemu (default KILL)", "SIGNAL" },
  { NULL },
};

typedef gboolean (*VmAction) (SkStore *store, SkVm *vm, GError **error);

/* Runs @action on each named VM, printing its name as docker does;
 * failures are reported per VM and make the exit status 1. */
static int
for_each_vm (int argc, char **argv, VmAction action, gboolean print, GError **error)
{
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  int status = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, argv[i], &local);
      if (vm && action (store, vm, &local))
        {
          if (print)
            printf ("%s\n", argv[i]);
          continue;
        }
      fprintf (stderr, "skiff: %s: %s\n", argv[i], local->message);
      status = 1;
    }
  return status;
}

static gboolean
do_start (SkStore *store, SkVm *vm, GError **error)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", error);
  return self && sk_runner_start (sk_globals.root, vm, self, NULL, error);
}

static gboolean
do_stop (SkStore *store, SkVm *vm, GError **error)
{
  return sk_runner_stop (sk_globals.root, vm, opt_time, error);
}

static gboolean
do_restart (SkStore *store, SkVm *vm, GError **error)
{
  return do_stop (store, vm, error) && do_start (store, vm, error);
}

static gboolean
do_rm (SkStore *store, SkVm *vm, GError **error)
{
  return sk_runner_remove (store, vm, opt_force, error);
}

static int kill_signal = SIGKILL;

static gboolean
do_kill (SkStore *store, SkVm *vm, GError **error)
{
  return sk_runner_kill (sk_globals.root, vm, kill_signal, error);
}

static gboolean
parse_signal (const char *s, int *out, GError **error)
{
  static const struct { const char *name; int sig; } sigs[] = {
    { "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP },
    { "STOP", SIGSTOP }, { "CONT", SIGCONT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
  };
  const char *name = g_str_has_prefix (s, "SIG") ? s + 3 : s;
  for (guint i = 0; i < G_N_ELEMENTS (sigs); i++)
    if (g_ascii_strcasecmp (name, sigs[i].name) == 0)
      return *out = sigs[i].sig, TRUE;
  char *end;
  long n = strtol (s, &end, 10);
  if (*s && *end == '\0' && n > 0 && n < 65)
    return *out = n, TRUE;
  return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid signal '%s'", s), FALSE;
}

int
sk_cmd_start (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("start", "VM...", "Start created or stopped VMs.", NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("start", argc, 1, -1, error))
    return SK_CMD_FAILED;
  return for_each_vm (argc, argv, do_start, TRUE, error);
}

int
sk_cmd_stop (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("stop", "VM...", "Ask VMs to power off (ACPI over QMP), killing them after --time seconds.",
                     stop_entries, &argc, &argv, error)
      || !sk_cmd_check_args ("stop", argc, 1, -1, error))
    return SK_CMD_FAILED;
  return for_each_vm (argc, argv, do_stop, TRUE, error);
}

int
sk_cmd_restart (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("restart", "VM...", "Stop, then start VMs.", stop_entries, &argc, &argv, error)
      || !sk_cmd_check_args ("restart", argc, 1, -1, error))
    return SK_CMD_FAILED;
  return for_each_vm (argc, argv, do_restart, TRUE, error);
}

int
sk_cmd_kill (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("kill", "VM...", "Kill running VMs (qemu gets the signal).", kill_entries, &argc, &argv, error)
      || !sk_cmd_check_args ("kill", argc, 1, -1, error)
      || (opt_signal && !parse_signal (opt_signal, &kill_signal, error)))
    return SK_CMD_FAILED;
  return for_each_vm (argc, argv, do_kill, TRUE, error);
}

int
sk_cmd_rm (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("rm", "VM...", "Remove VMs and their disks.", rm_entries, &argc, &argv, error)
      || !sk_cmd_check_args ("rm", argc, 1, -1, error))
    return SK_CMD_FAILED;
  return for_each_vm (argc, argv, do_rm, TRUE, error);
}

int
sk_cmd_wait (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("wait", "VM...", "Wait until VMs exit and print their exit codes.", NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("wait", argc, 1, -1, error))
    return SK_CMD_FAILED;
  int status = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, argv[i], &local);
      int code = vm ? sk_runner_wait (sk_globals.root, vm, &local) : -1;
      if (code >= 0)
        printf ("%d\n", code);
      else
        fprintf (stderr, "skiff: %s: %s\n", argv[i], local->message), status = 1;
    }
  return status;
}

int
sk_cmd_port (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("port", "VM", "List a VM's port forwards (skiff's SSH forward included).", NULL, &argc, &argv,
                     error)
      || !sk_cmd_check_args ("port", argc, 1, 1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, argv[1], error);
  if (vm == NULL)
    return SK_CMD_FAILED;
  for (guint i = 0; i < vm->ports->len; i++)
    {
      SkPortMap pm;
      if (!sk_port_map_parse (vm->ports->pdata[i], &pm, error))
        return SK_CMD_FAILED;
      printf ("%u/%s -> %s:%u\n", pm.guest_port, sk_port_proto_to_string (pm.proto), pm.host_ip, pm.host_port);
    }
  if (vm->ssh_port)
    printf ("22/tcp -> 127.0.0.1:%u (skiff ssh)\n", vm->ssh_port);
  return 0;
}

/* `__autoremove ID CODE`: what skiff-monitor becomes after a --rm VM
 * exited; removes the VM and exits with CODE, the VM's status. */
int
sk_cmd_autoremove (int argc, char **argv, GError **error)
{
  if (argc != 3)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "__autoremove: needs a VM id and its exit code");
      return SK_CMD_FAILED;
    }
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL || !sk_runner_auto_remove (store, argv[1], error))
    return SK_CMD_FAILED;
  return atoi (argv[2]);
}
