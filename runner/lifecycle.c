/* skiff — starting, supervising, stopping and removing VMs. */
#include "runner/runner.h"
#include "runner/runner-private.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "runner/accel.h"
#include "runner/portspec.h"
#include "runner/qemu.h"
#include "runner/qmp.h"
#include "runner/ssh.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_MS 30000
#define POLL_US (50 * 1000)

char *
sk_runner_choose_accel (const char *root, const char *requested, char **out_warning, GError **error)
{
  *out_warning = NULL;
  if (requested == NULL || g_str_equal (requested, "auto") || g_str_equal (requested, "kvm"))
    {
      g_autofree char *qemu = sk_accel_find_qemu ();
      if (qemu == NULL)
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND,
                            "qemu-system-%s not found: install qemu (see 'skiff doctor')",
                            sk_accel_host_qemu_arch ()), NULL;
      g_autofree char *fallback = g_build_filename (root, "cache", NULL);
      g_autofree char *cache = sk_accel_cache_dir (fallback);
      g_autofree char *reason = NULL;
      SkKvmStatus st = sk_accel_probe_kvm (qemu, cache, 3000, &reason);
      if (st == SK_KVM_OK)
        return g_strdup ("kvm");
      if (requested && g_str_equal (requested, "kvm"))
        return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED, "--accel kvm: KVM is not usable here: %s",
                            reason), NULL;
      *out_warning = g_strdup_printf (st == SK_KVM_ABSENT ? "no KVM (%s), using TCG"
                                                          : "KVM present but not usable, using TCG (%s)",
                                      reason);
      return g_strdup ("tcg");
    }
  if (g_str_equal (requested, "tcg"))
    return g_strdup ("tcg");
  return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid --accel '%s': expected kvm, tcg or auto",
                      requested), NULL;
}

/* A path into the VM's directory short enough for a unix socket
 * (sun_path holds 107 bytes): through an O_PATH fd of the directory. */
typedef struct {
  int dfd;
  char *path;
} SkShortPath;

static gboolean
short_path (const char *root, SkVm *vm, const char *file, SkShortPath *out, GError **error)
{
  g_autofree char *dir = sk_vm_dir (root, vm->id);
  out->dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (out->dfd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", dir);
  out->path = g_strdup_printf ("/proc/self/fd/%d/%s", out->dfd, file);
  return TRUE;
}

static void
short_path_clear (SkShortPath *p)
{
  if (p->dfd >= 0)
    close (p->dfd);
  g_clear_pointer (&p->path, g_free);
}

static SkQmp *
vm_qmp (const char *root, SkVm *vm, guint timeout_ms, GError **error)
{
  SkShortPath sp = { -1, NULL };
  if (!short_path (root, vm, "qmp.sock", &sp, error))
    return NULL;
  SkQmp *q = sk_qmp_connect (sp.path, timeout_ms, error);
  short_path_clear (&sp);
  if (q == NULL)
    g_prefix_error (error, "VM '%s': ", vm->name);
  return q;
}

/* ---- start ---- */

/* A taken host port fails here with its own message rather than as a
 * qemu start failure. */
static gboolean
check_ports_free (SkVm *vm, GError **error)
{
  for (guint i = 0; i < vm->ports->len; i++)
    {
      SkPortMap pm;
      if (!sk_port_map_parse (vm->ports->pdata[i], &pm, error))
        return FALSE;
      g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (pm.host_ip);
      if (addr == NULL)
        continue;
      g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, pm.host_port);
      gboolean udp = pm.proto == SK_PORT_UDP;
      g_autoptr (GSocket) s = g_socket_new (g_inet_address_get_family (addr),
                                            udp ? G_SOCKET_TYPE_DATAGRAM : G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_DEFAULT, NULL);
      if (s && !g_socket_bind (s, sa, TRUE, NULL))
        return g_set_error (error, SK_ERROR, SK_ERROR_BUSY, "port %s:%u/%s is already in use", pm.host_ip,
                            pm.host_port, udp ? "udp" : "tcp"), FALSE;
    }
  return TRUE;
}

static gboolean
clear_traces (const char *root, SkVm *vm, GError **error)
{
  const char *files[] = { "exit", "qemu.pid", "monitor.pid", "qmp.sock", "console.sock" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *p = sk_vm_path (root, vm, files[i]);
      if (unlink (p) < 0 && errno != ENOENT)
        return sk_error_from_errno (error, errno, "removing '%s'", p);
    }
  return TRUE;
}

/* skiff-monitor, next to skiff's own binary @self_exe. */
static char *
monitor_path (const char *self_exe, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (self_exe);
  char *path = g_build_filename (dir, "skiff-monitor", NULL);
  if (access (path, X_OK) < 0)
    {
      sk_error_from_errno (error, errno, "the VM monitor '%s' (installed with skiff)", path);
      g_free (path);
      return NULL;
    }
  return path;
}

/* Forks and execs the monitor in its own session; everything the child
 * needs is prepared before fork (a threaded parent may only make system
 * calls in the child). */
static pid_t
spawn_monitor (const char *root, SkVm *vm, const char *self_exe, GError **error)
{
  g_autofree char *monitor_exe = monitor_path (self_exe, error);
  if (monitor_exe == NULL)
    return -1;
  g_autofree char *log = sk_vm_path (root, vm, "monitor.log");
  const char *argv[] = { monitor_exe, root, vm->id, NULL };
  sk_debug_argv (argv);
  pid_t pid = fork ();
  if (pid < 0)
    return sk_error_from_errno (error, errno, "fork"), -1;
  if (pid == 0)
    {
      setsid ();
      int null = open ("/dev/null", O_RDWR);
      dup2 (null, 0);
      dup2 (null, 1);
      int lf = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2 (lf >= 0 ? lf : null, 2);
      execv (monitor_exe, (char **) argv);
      dprintf (2, "skiff: exec '%s' failed: errno %d\n", monitor_exe, errno);
      _exit (125);
    }
  return pid;
}

/* Why qemu did not come up: the last line it printed. */
static gboolean
start_failed (const char *root, SkVm *vm, GError **error)
{
  g_autofree char *log = sk_vm_path (root, vm, "qemu.log");
  g_autofree char *last = sk_runner_tail_line (log);
  return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "qemu failed to start: %s",
                      last && *last ? last : "no message"), FALSE;
}

gboolean
sk_runner_start (const char *root, SkVm *vm, const char *self_exe, int *out_monitor_pid, GError **error)
{
  SkVmStatus st;
  sk_vm_status (root, vm, &st);
  gboolean running = st.state == SK_VM_RUNNING;
  sk_vm_status_clear (&st);
  if (running)
    return g_set_error (error, SK_ERROR, SK_ERROR_BUSY, "VM '%s' is already running", vm->name), FALSE;
  g_autofree char *warning = NULL;
  g_free (vm->accel_used);
  vm->accel_used = sk_runner_choose_accel (root, vm->accel, &warning, error);
  if (vm->accel_used == NULL)
    return FALSE;
  if (warning)
    sk_warn ("%s", warning);
  /* Check the command line before anything runs: a taken port or a bad
   * spec is a clear error here rather than a dead qemu. */
  g_auto (GStrv) argv = sk_runner_qemu_argv (vm, error);
  if (argv == NULL || !check_ports_free (vm, error))
    return FALSE;
  vm->started = g_get_real_time () / G_USEC_PER_SEC;
  vm->finished = 0;
  if (!clear_traces (root, vm, error) || !sk_vm_save_unsynced (root, vm, error))
    return FALSE;
  pid_t mon = spawn_monitor (root, vm, self_exe, error);
  /* Durability waits until qemu is on its way: the fsyncs overlap the
   * monitor's start, and finish before the caller reports success. */
  if (mon < 0 || !sk_vm_sync (root, vm, error))
    return FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64) START_TIMEOUT_MS * 1000;
  g_autofree char *exitf = sk_vm_path (root, vm, "exit");
  while (g_get_monotonic_time () < deadline)
    {
      if (g_file_test (exitf, G_FILE_TEST_EXISTS))
        return start_failed (root, vm, error);
      g_autoptr (SkQmp) q = vm_qmp (root, vm, 1000, NULL);
      if (q)
        {
          if (out_monitor_pid)
            *out_monitor_pid = mon;
          return TRUE;
        }
      g_usleep (POLL_US);
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s': qemu did not come up within %d s", vm->name,
                      START_TIMEOUT_MS / 1000), FALSE;
}

gboolean
sk_runner_auto_remove (SkStore *store, const char *id, GError **error)
{
  const char *root = sk_store_root (store);
  g_autoptr (SkVm) vm = sk_vm_load (root, id, error);
  if (vm == NULL)
    return FALSE;
  SkVmStatus st;
  sk_vm_status (root, vm, &st);
  gboolean exited = st.state == SK_VM_EXITED;
  sk_vm_status_clear (&st);
  if (!exited)
    return g_set_error (error, SK_ERROR, SK_ERROR_BUSY, "VM '%s' has not exited", vm->name), FALSE;
  return sk_vm_remove_dir (root, vm, error) && sk_store_release (store, vm->image_digest, vm->id, error);
}

/* ---- stop, kill, wait, remove ---- */

static gboolean
wait_exited (const char *root, SkVm *vm, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  g_autofree char *exitf = sk_vm_path (root, vm, "exit");
  g_autofree char *qpid = sk_vm_path (root, vm, "qemu.pid");
  while (g_get_monotonic_time () < deadline)
    {
      if (g_file_test (exitf, G_FILE_TEST_EXISTS) || sk_vm_read_live_pid (qpid) == 0)
        return TRUE;
      g_usleep (POLL_US);
    }
  return FALSE;
}

/* After qemu died: give the monitor a moment to record it, else record it
 * here (the monitor was killed too). */
static void
settle_exit (const char *root, SkVm *vm, int code, const char *reason)
{
  g_autofree char *exitf = sk_vm_path (root, vm, "exit");
  g_autofree char *mpid = sk_vm_path (root, vm, "monitor.pid");
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && !g_file_test (exitf, G_FILE_TEST_EXISTS)
         && sk_vm_read_live_pid (mpid) > 0)
    g_usleep (POLL_US);
  g_autofree char *dir = sk_vm_dir (root, vm->id);
  if (!g_file_test (exitf, G_FILE_TEST_EXISTS) && g_file_test (dir, G_FILE_TEST_IS_DIR))
    sk_runner_record_exit (root, vm->id, code, reason);
}

gboolean
sk_runner_kill (const char *root, SkVm *vm, int sig, GError **error)
{
  g_autofree char *qpid = sk_vm_path (root, vm, "qemu.pid");
  int pid = sk_vm_read_live_pid (qpid);
  if (pid == 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s' is not running", vm->name), FALSE;
  if (kill (pid, sig) < 0)
    return sk_error_from_errno (error, errno, "killing qemu of VM '%s'", vm->name);
  if (sig == SIGKILL || sig == SIGTERM)
    {
      if (!wait_exited (root, vm, 10 * G_USEC_PER_SEC))
        return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s' did not exit", vm->name), FALSE;
      settle_exit (root, vm, 128 + sig, sig == SIGKILL ? "killed" : "terminated");
    }
  return TRUE;
}

/* Presses the power button, waiting up to @timeout_us for qemu to exit.
 * A press the guest missed (early in boot, or under load) is repeated
 * once half-way through. */
static gboolean
acpi_powerdown (const char *root, SkVm *vm, gint64 timeout_us, GError **error)
{
  g_autoptr (SkQmp) q = vm_qmp (root, vm, 5000, error);
  if (q == NULL || !sk_qmp_system_powerdown (q, error))
    return FALSE;
  if (wait_exited (root, vm, timeout_us / 2))
    return TRUE;
  sk_debug ("stop: '%s' still runs, pressing the power button again", vm->name);
  (void) sk_qmp_system_powerdown (q, NULL);
  return wait_exited (root, vm, timeout_us - timeout_us / 2);
}

gboolean
sk_runner_stop (const char *root, SkVm *vm, guint timeout_s, GError **error)
{
  g_autofree char *qpid = sk_vm_path (root, vm, "qemu.pid");
  if (sk_vm_read_live_pid (qpid) == 0)
    return TRUE; /* docker: stopping a stopped container is fine */
  g_autoptr (GError) local = NULL;
  if (acpi_powerdown (root, vm, (gint64) timeout_s * G_USEC_PER_SEC, &local))
    {
      settle_exit (root, vm, 0, NULL);
      return TRUE;
    }
  if (local)
    sk_warn ("stop '%s': %s; killing it", vm->name, local->message);
  else
    sk_warn ("stop '%s': no power-off within %u s; killing it", vm->name, timeout_s);
  return sk_runner_kill (root, vm, SIGKILL, error);
}

int
sk_runner_wait (const char *root, SkVm *vm, GError **error)
{
  for (;;)
    {
      SkVmStatus st;
      sk_vm_status (root, vm, &st);
      SkVmState state = st.state;
      int code = st.exit_code;
      sk_vm_status_clear (&st);
      if (state == SK_VM_EXITED)
        return code;
      if (state == SK_VM_CREATED)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s' has not been started", vm->name);
          return -1;
        }
      g_usleep (4 * POLL_US);
    }
}

gboolean
sk_runner_remove (SkStore *store, SkVm *vm, gboolean force, GError **error)
{
  const char *root = sk_store_root (store);
  SkVmStatus st;
  sk_vm_status (root, vm, &st);
  gboolean running = st.state == SK_VM_RUNNING;
  int monitor = st.monitor_pid;
  sk_vm_status_clear (&st);
  if (running && !force)
    return g_set_error (error, SK_ERROR, SK_ERROR_BUSY,
                        "VM '%s' is running: stop it first or use --force", vm->name), FALSE;
  if (running && !sk_runner_kill (root, vm, SIGKILL, error))
    return FALSE;
  if (monitor > 0)
    kill (monitor, SIGKILL); /* it must not act (auto-remove) on a VM we remove */
  if (!sk_vm_remove_dir (root, vm, error))
    return FALSE;
  return sk_store_release (store, vm->image_digest, vm->id, error);
}

/* ---- SSH ---- */

GStrv
sk_runner_ssh_argv (const char *root, SkVm *vm, gboolean tty, const char *const *cmd)
{
  g_autofree char *key = sk_vm_path (root, vm, "id_ed25519");
  g_autofree char *kh = sk_vm_path (root, vm, "known_hosts");
  const char *user = vm->user && *vm->user ? vm->user : "root";
  return sk_ssh_argv ("ssh", key, kh, user, vm->ssh_port, tty, 5, cmd);
}

gboolean
sk_runner_wait_ssh (const char *root, SkVm *vm, guint timeout_s, GError **error)
{
  const char *probe[] = { "true", NULL };
  g_auto (GStrv) argv = sk_runner_ssh_argv (root, vm, FALSE, probe);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  g_autofree char *last = NULL;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) local = NULL;
      if (sk_spawn_sync ((const char *const *) argv, NULL, &local))
        return TRUE;
      g_free (last);
      last = g_strdup (local->message);
      SkVmStatus st;
      sk_vm_status (root, vm, &st);
      gboolean gone = st.state != SK_VM_RUNNING;
      sk_vm_status_clear (&st);
      if (gone)
        return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s' is not running", vm->name), FALSE;
      g_usleep (500 * 1000);
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "VM '%s' did not answer on SSH within %u s (%s)",
                      vm->name, timeout_s, last ? last : "no attempt"), FALSE;
}

/* ---- pausing (commit --pause) ---- */

gboolean
sk_runner_pause (const char *root, SkVm *vm, gboolean pause, GError **error)
{
  g_autoptr (SkQmp) q = vm_qmp (root, vm, 5000, error);
  if (q == NULL)
    return FALSE;
  /* qemu drains and flushes every disk before "stop" answers, so the
   * overlay on disk is whole while the CPUs are paused. */
  gboolean ok = pause ? sk_qmp_stop (q, error) : sk_qmp_cont (q, error);
  if (!ok)
    g_prefix_error (error, "%s VM '%s': ", pause ? "pausing" : "resuming", vm->name);
  return ok;
}
