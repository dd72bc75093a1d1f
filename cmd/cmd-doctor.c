/* skiff doctor — checks and explains, one line each. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/util.h"
#include "runner/accel.h"

#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

typedef enum { OK, WARN, FAIL } Verdict;

static guint fails;

static void G_GNUC_PRINTF (2, 3)
report (Verdict v, const char *fmt, ...)
{
  static const char *names[] = { "OK  ", "WARN", "FAIL" };
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  printf ("%s  %s\n", names[v], msg);
  fails += v == FAIL;
}

/* The first line a program prints for @flag, or NULL. */
static char *
version_of (const char *path, const char *flag)
{
  g_autofree char *out = NULL;
  if (!sk_spawn_sync ((const char *[]) { path, flag, NULL }, &out, NULL))
    return NULL;
  g_strchomp (out);
  char *nl = strchr (out, '\n');
  if (nl)
    *nl = '\0';
  return g_steal_pointer (&out);
}

static void
check_program (const char *what, const char *prog, const char *flag, Verdict if_missing, const char *why)
{
  g_autofree char *path = g_find_program_in_path (prog);
  if (path == NULL)
    {
      report (if_missing, "%s: '%s' not found in PATH: %s", what, prog, why);
      return;
    }
  g_autofree char *ver = flag ? version_of (path, flag) : NULL;
  if (ver && *ver)
    report (OK, "%s: %s (%s)", what, path, ver);
  else
    report (OK, "%s: %s", what, path);
}

static void
check_accel (const char *qemu)
{
  g_autofree char *reason = NULL;
  g_autofree char *fallback = g_build_filename (sk_globals.root, "cache", NULL);
  g_autofree char *cache = sk_accel_cache_dir (fallback);
  switch (sk_accel_probe_kvm (qemu, cache, 3000, &reason))
    {
    case SK_KVM_OK:
      report (OK, "accelerator: KVM runs guests (%s)", reason);
      break;
    case SK_KVM_UNUSABLE:
      report (WARN, "accelerator: KVM present but not usable, using TCG (%s); VMs run several times slower", reason);
      break;
    case SK_KVM_ABSENT:
      report (WARN, "accelerator: no KVM (%s), using TCG; VMs run several times slower", reason);
      break;
    }
}

/* The deepest existing directory at or above @path. */
static char *
existing_ancestor (const char *path)
{
  g_autofree char *p = g_strdup (path);
  while (!g_file_test (p, G_FILE_TEST_IS_DIR))
    {
      char *parent = g_path_get_dirname (p);
      g_free (p);
      p = parent;
    }
  return g_steal_pointer (&p);
}

static void
check_store (void)
{
  const char *root = sk_globals.root;
  g_autofree char *dir = existing_ancestor (root);
  if (access (dir, W_OK) < 0)
    report (FAIL, "store: '%s' is not writable (%s): use --root or SKIFF_ROOT", dir, g_strerror (errno));
  else if (g_str_equal (dir, root))
    report (OK, "store: '%s' is writable", root);
  else
    report (OK, "store: '%s' will be created (in writable '%s')", root, dir);

  struct statvfs vfs;
  if (statvfs (dir, &vfs) < 0)
    {
      report (WARN, "free disk: cannot statvfs '%s': %s", dir, g_strerror (errno));
      return;
    }
  guint64 avail = (guint64) vfs.f_bavail * vfs.f_frsize;
  g_autofree char *human = sk_format_size (avail);
  if (avail < (guint64) 2 << 30)
    report (WARN, "free disk: %s free under '%s': images and VM disks may not fit", human, dir);
  else
    report (OK, "free disk: %s free under '%s'", human, dir);
}

int
sk_cmd_doctor (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("doctor", NULL,
                     "Check that this machine can run skiff's VMs: qemu, qemu-img, KVM,\n"
                     "ssh, the store's directory and free disk. One line per check,\n"
                     "OK, WARN or FAIL; the exit status is 1 when any check fails.",
                     NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("doctor", argc, 0, 0, error))
    return SK_CMD_FAILED;
  fails = 0;

  g_autofree char *qemu = sk_accel_find_qemu ();
  g_autofree char *qemu_name = g_strconcat ("qemu-system-", sk_accel_host_qemu_arch (), NULL);
  check_program ("qemu", qemu ? qemu : qemu_name, "--version", FAIL,
                 "install qemu-system (Debian: qemu-system-x86)");
  check_program ("qemu-img", "qemu-img", "--version", FAIL, "install qemu-img (Debian: qemu-utils)");
  if (qemu)
    check_accel (qemu);
  else
    report (FAIL, "accelerator: cannot probe KVM without qemu");
  check_program ("ssh", "ssh", NULL, WARN, "'skiff exec' and 'skiff ssh' need it (Debian: openssh-client)");
  check_program ("ssh-keygen", "ssh-keygen", NULL, WARN, "skiff makes VM keys with it (Debian: openssh-client)");
  check_store ();

  if (fails)
    {
      printf ("%u check%s failed\n", fails, fails == 1 ? "" : "s");
      return 1;
    }
  return 0;
}
