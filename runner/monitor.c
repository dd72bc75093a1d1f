/* skiff — running a VM's qemu: its command line, the monitor process
 * that supervises it (the separate skiff-monitor program, which links
 * nothing of the store so that it starts fast), and the exit record. */
#include "runner/runner.h"
#include "runner/runner-private.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "runner/accel.h"
#include "runner/portspec.h"
#include "runner/qemu.h"
#include "runner/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the qemu command line, run from inside the VM's directory ---- */

static gboolean
vm_port_maps (SkVm *vm, GArray *maps, GError **error)
{
  for (guint i = 0; i < vm->ports->len; i++)
    {
      SkPortMap pm;
      if (!sk_port_map_parse (vm->ports->pdata[i], &pm, error))
        return FALSE;
      g_array_append_val (maps, pm);
    }
  if (vm->ssh_port)
    {
      SkPortMap ssh = { .proto = SK_PORT_TCP, .host_port = vm->ssh_port, .guest_port = 22 };
      g_strlcpy (ssh.host_ip, "127.0.0.1", sizeof ssh.host_ip);
      g_array_append_val (maps, ssh);
    }
  return TRUE;
}

GStrv
sk_runner_qemu_argv (SkVm *vm, GError **error)
{
  g_autofree char *qemu = sk_accel_find_qemu ();
  if (qemu == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "qemu-system-%s not found",
                        sk_accel_host_qemu_arch ()), NULL;
  SkBootMode boot = SK_BOOT_BIOS;
  if (!sk_boot_mode_from_string (vm->boot, &boot, error))
    return NULL;
  gboolean tcg = g_strcmp0 (vm->accel_used, "kvm") != 0;
  g_autoptr (GArray) maps = g_array_new (FALSE, TRUE, sizeof (SkPortMap));
  gboolean net = g_strcmp0 (vm->network, "none") != 0;
  if (net && !vm_port_maps (vm, maps, error))
    return NULL;
  SkQemuSpec spec = {
    .qemu = qemu,
    .accel = tcg ? "tcg" : "kvm",
    .boot = boot,
    .kernel = vm->kernel,
    .initrd = vm->initrd,
    .cmdline = vm->cmdline,
    .microvm = boot == SK_BOOT_KERNEL && g_str_equal (sk_accel_host_qemu_arch (), "x86_64"),
    .memory_mib = vm->memory_mib,
    .cpus = vm->cpus,
    .disk = "overlay.qcow2",
    .seed = "seed.iso",
    .network_user = net,
    .ports = (const SkPortMap *) maps->data,
    .n_ports = maps->len,
    .qmp_socket = "qmp.sock",
    .console_log = "console.log",
    .serial_socket = "console.sock",
    .tsc_khz = tcg && boot == SK_BOOT_KERNEL ? sk_qemu_host_tsc_khz () : 0,
    .name = vm->name,
  };
  if (!sk_qemu_spec_check (&spec, error))
    return NULL;
  return sk_qemu_build_argv (&spec);
}

/* ---- the monitor ---- */

char *
sk_runner_tail_line (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  g_strchomp (text);
  const char *nl = strrchr (text, '\n');
  return g_strdup (nl ? nl + 1 : text);
}

void
sk_runner_record_exit (const char *root, const char *id, int code, const char *reason)
{
  g_autoptr (SkVm) vm = sk_vm_load (root, id, NULL);
  if (vm == NULL)
    return;
  g_autofree char *path = sk_vm_path (root, vm, "exit");
  g_autofree char *text = g_strdup_printf ("%d%s%s\n", code, reason ? " " : "", reason ? reason : "");
  (void) sk_file_write_atomic (path, text, strlen (text), 0644, NULL);
  vm->finished = g_get_real_time () / G_USEC_PER_SEC;
  (void) sk_vm_save (root, vm, NULL);
}

static pid_t
spawn_qemu (char **argv, GError **error)
{
  int log = open ("qemu.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0)
    return sk_error_from_errno (error, errno, "creating qemu.log"), -1;
  sk_debug_argv ((const char *const *) argv);
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (log);
      return sk_error_from_errno (error, errno, "fork"), -1;
    }
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY);
      dup2 (null, 0);
      dup2 (log, 1);
      dup2 (log, 2);
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (argv[0], argv);
      dprintf (2, "exec %s: %s\n", argv[0], g_strerror (errno));
      _exit (127);
    }
  close (log);
  return pid;
}

static void
request_powerdown (void)
{
  g_autoptr (SkQmp) q = sk_qmp_connect ("qmp.sock", 2000, NULL);
  if (q)
    (void) sk_qmp_system_powerdown (q, NULL);
}

/* Waits for qemu, turning SIGTERM/SIGINT into an ACPI power-off (a second
 * one kills).  Returns the wait status. */
static int
supervise (pid_t qemu)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  guint terms = 0;
  for (;;)
    {
      int status;
      pid_t r = waitpid (qemu, &status, WNOHANG);
      if (r == qemu)
        return status;
      siginfo_t si;
      struct timespec ts = { 1, 0 };
      int sig = sigtimedwait (&set, &si, &ts);
      if (sig == SIGTERM || sig == SIGINT)
        {
          if (terms++ == 0)
            request_powerdown ();
          else
            kill (qemu, SIGKILL);
        }
    }
}

/* --rm: the store's side of removing a VM belongs to skiff, so the monitor
 * becomes `skiff --root ROOT __autoremove ID CODE` (next to this program),
 * which exits with the VM's code as the monitor would have. */
static int
exec_auto_remove (const char *root, const char *id, int code)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self ? g_path_get_dirname (self) : NULL;
  g_autofree char *skiff = dir ? g_build_filename (dir, "skiff", NULL) : NULL;
  g_autofree char *code_s = g_strdup_printf ("%d", code);
  if (skiff == NULL)
    return code;
  const char *argv[] = { skiff, "--root", root, "__autoremove", id, code_s, NULL };
  sk_debug_argv (argv);
  execv (skiff, (char **) argv);
  g_printerr ("skiff-monitor: --rm: exec '%s': %s\n", skiff, g_strerror (errno));
  return code;
}

int
sk_runner_monitor (const char *root, const char *id)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigprocmask (SIG_BLOCK, &set, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkVm) vm = sk_vm_load (root, id, &error);
  if (vm == NULL)
    return 125;
  g_autofree char *dir = sk_vm_dir (root, id);
  g_autofree char *mpid = sk_vm_path (root, vm, "monitor.pid");
  if (chdir (dir) < 0 || !sk_vm_write_pid (mpid, getpid (), &error))
    return 125;
  g_auto (GStrv) argv = sk_runner_qemu_argv (vm, &error);
  pid_t qemu = argv ? spawn_qemu (argv, &error) : -1;
  if (qemu < 0)
    {
      (void) g_file_set_contents ("qemu.log", error->message, -1, NULL);
      sk_runner_record_exit (root, id, 125, "qemu failed to start");
      return 125;
    }
  (void) sk_vm_write_pid ("qemu.pid", qemu, NULL);
  int status = supervise (qemu);
  int code;
  g_autofree char *reason = NULL;
  if (WIFEXITED (status))
    {
      code = WEXITSTATUS (status);
      if (code != 0)
        {
          g_autofree char *last = sk_runner_tail_line ("qemu.log");
          reason = g_strdup_printf ("qemu failed: %s", last ? last : "no message");
        }
    }
  else
    {
      code = 128 + WTERMSIG (status);
      reason = g_strdup (WTERMSIG (status) == SIGKILL ? "killed" : g_strsignal (WTERMSIG (status)));
    }
  sk_runner_record_exit (root, id, code, reason);
  (void) unlink ("qemu.pid");
  if (vm->auto_remove)
    return exec_auto_remove (root, id, code);
  return code;
}

