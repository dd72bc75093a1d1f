#include "runner/accel.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Real mode at 0xF000:0: load a flat GDT, set CR0.PE, far-jump to 32-bit
 * code that writes 0x31 to port 0xf4 and halts.  Assembled from a dozen
 * lines of GNU as (.code16/.code32); the reset vector jumps here. */
static const guint8 probe_code[] = {
  0xfa, 0x8c, 0xc8, 0x8e, 0xd8, 0x66, 0x0f, 0x01, 0x16, 0x48, 0x00, 0x0f,
  0x20, 0xc0, 0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0, 0x66, 0xea, 0x1d,
  0x00, 0x0f, 0x00, 0x08, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0xb0,
  0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd, 0x8d, 0xb4, 0x00, 0x00, 0x66, 0x90,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00,
  0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00,
  0x17, 0x00, 0x30, 0x00, 0x0f, 0x00, 0x00, 0x00,
};
static const guint8 reset_vector[] = { 0xea, 0x00, 0x00, 0x00, 0xf0 }; /* ljmp $0xf000,$0 */

#define PROBE_EXIT_STATUS 99 /* (0x31 << 1) | 1 */

const char *
sk_accel_host_qemu_arch (void)
{
  static struct utsname u;
  if (u.machine[0] == '\0' && uname (&u) < 0)
    return "x86_64";
  if (g_str_equal (u.machine, "arm64"))
    return "aarch64";
  return u.machine;
}

char *
sk_accel_find_qemu (void)
{
  const char *env = g_getenv ("SKIFF_QEMU");
  if (env && *env)
    return g_find_program_in_path (env);
  g_autofree char *name = g_strconcat ("qemu-system-", sk_accel_host_qemu_arch (), NULL);
  return g_find_program_in_path (name);
}

gboolean
sk_accel_write_probe_firmware (const char *path, GError **error)
{
  g_autofree guint8 *fw = g_malloc (0x10000);
  memset (fw, 0xf4, 0x10000); /* hlt everywhere else */
  memcpy (fw, probe_code, sizeof probe_code);
  memcpy (fw + 0xfff0, reset_vector, sizeof reset_vector);
  return sk_file_write_atomic (path, fw, 0x10000, 0644, error);
}

GStrv
sk_accel_probe_argv (const char *qemu, const char *accel, const char *fw_path)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add_many (b, qemu, "-accel", accel, "-M", "pc", "-nodefaults", "-no-user-config",
                           "-display", "none", "-m", "16", "-bios", fw_path,
                           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL);
  return g_strv_builder_end (b);
}

static SkKvmStatus
check_dev_kvm (char **out_reason)
{
  int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      *out_reason = g_strdup_printf ("/dev/kvm: %s", g_strerror (errno));
      return SK_KVM_ABSENT;
    }
  int api = ioctl (fd, KVM_GET_API_VERSION, 0);
  close (fd);
  if (api != KVM_API_VERSION)
    {
      *out_reason = g_strdup_printf ("/dev/kvm answers API version %d, not %d", api, KVM_API_VERSION);
      return SK_KVM_UNUSABLE;
    }
  return SK_KVM_OK;
}

typedef struct {
  gboolean done;
  gboolean timed_out;
} ProbeWait;

static void
on_probe_exit (GObject *obj, GAsyncResult *res, gpointer data)
{
  ProbeWait *w = data;
  (void) g_subprocess_wait_finish (G_SUBPROCESS (obj), res, NULL);
  w->done = TRUE;
}

static gboolean
on_probe_timeout (gpointer data)
{
  ProbeWait *w = data;
  w->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

char *
sk_accel_cache_dir (const char *fallback)
{
  if (geteuid () == 0 && g_file_test ("/run", G_FILE_TEST_IS_DIR) && access ("/run", W_OK) == 0)
    return g_strdup ("/run/skiff");
  const char *rt = g_getenv ("XDG_RUNTIME_DIR");
  if (rt && *rt && g_file_test (rt, G_FILE_TEST_IS_DIR))
    return g_build_filename (rt, "skiff", NULL);
  return g_strdup (fallback);
}

gboolean
sk_accel_probe_guest (const char *qemu, const char *accel, guint timeout_ms, char **out_reason)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("skiff-probe-XXXXXX", &error);
  if (dir == NULL)
    return *out_reason = g_strdup (error->message), FALSE;
  g_autofree char *fw = g_build_filename (dir, "probe.bin", NULL);
  gboolean ok = FALSE;
  g_autoptr (GSubprocess) p = NULL;
  if (!sk_accel_write_probe_firmware (fw, &error))
    *out_reason = g_strdup (error->message);
  else
    {
      g_auto (GStrv) argv = sk_accel_probe_argv (qemu, accel, fw);
      sk_debug_argv ((const char *const *) argv);
      p = g_subprocess_newv ((const char *const *) argv,
                             G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
      if (p == NULL)
        *out_reason = g_strdup (error->message);
    }
  if (p != NULL)
    {
      g_autoptr (GMainContext) ctx = g_main_context_new ();
      g_main_context_push_thread_default (ctx);
      ProbeWait w = { 0 };
      g_subprocess_wait_async (p, NULL, on_probe_exit, &w);
      g_autoptr (GSource) t = g_timeout_source_new (timeout_ms);
      g_source_set_callback (t, on_probe_timeout, &w, NULL);
      g_source_attach (t, ctx);
      while (!w.done && !w.timed_out)
        g_main_context_iteration (ctx, TRUE);
      g_source_destroy (t);
      if (!w.done)
        {
          g_subprocess_force_exit (p);
          while (!w.done)
            g_main_context_iteration (ctx, TRUE);
          *out_reason = g_strdup_printf ("a test guest did not finish within %u ms", timeout_ms);
        }
      else if (g_subprocess_get_if_exited (p) && g_subprocess_get_exit_status (p) == PROBE_EXIT_STATUS)
        ok = TRUE;
      else
        *out_reason = g_strdup_printf ("a test guest failed (qemu exit status %d)",
                                       g_subprocess_get_status (p));
      g_main_context_pop_thread_default (ctx);
    }
  unlink (fw);
  rmdir (dir);
  return ok;
}

static char *
cache_key (const char *qemu)
{
  g_autofree char *boot_id = NULL;
  struct stat st = { 0 };
  if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &boot_id, NULL, NULL) || stat (qemu, &st) < 0)
    return NULL;
  g_strchomp (boot_id);
  return g_strdup_printf ("%s %s %lld.%ld %lld", boot_id, qemu, (long long) st.st_mtim.tv_sec,
                          st.st_mtim.tv_nsec, (long long) st.st_ino);
}

SkKvmStatus
sk_accel_probe_kvm (const char *qemu, const char *cache_dir, guint timeout_ms, char **out_reason)
{
  g_autofree char *reason = NULL;
  SkKvmStatus st = check_dev_kvm (&reason);
  if (st != SK_KVM_OK)
    return *out_reason = g_steal_pointer (&reason), st;

  g_autofree char *key = cache_key (qemu);
  g_autofree char *cache = cache_dir ? g_build_filename (cache_dir, "kvm-probe", NULL) : NULL;
  g_autofree char *cached = NULL;
  if (key && cache && g_file_get_contents (cache, &cached, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (cached, "\n", 3);
      if (g_strv_length (lines) >= 2 && g_str_equal (lines[0], key))
        {
          gboolean ok = g_str_has_prefix (lines[1], "ok");
          *out_reason = g_strdup (ok ? "a test guest ran (cached)" : lines[1]);
          return ok ? SK_KVM_OK : SK_KVM_UNUSABLE;
        }
    }

  gboolean ok = sk_accel_probe_guest (qemu, "kvm", timeout_ms, &reason);
  if (key && cache)
    {
      g_autofree char *text = g_strdup_printf ("%s\n%s\n", key, ok ? "ok" : reason);
      (void) g_mkdir_with_parents (cache_dir, 0755);
      (void) sk_file_write_atomic (cache, text, strlen (text), 0644, NULL);
    }
  *out_reason = ok ? g_strdup ("a test guest ran") : g_steal_pointer (&reason);
  return ok ? SK_KVM_OK : SK_KVM_UNUSABLE;
}
