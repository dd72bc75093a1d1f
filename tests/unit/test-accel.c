/* Unit tests: runner/accel — the KVM probe's argv and firmware. */
#include "runner/accel.h"

#include <glib/gstdio.h>

static void
test_probe_argv (void)
{
  g_auto (GStrv) argv = sk_accel_probe_argv ("/usr/bin/qemu-system-x86_64", "kvm", "/tmp/fw.bin");
  g_autofree char *joined = g_strjoinv (" ", argv);
  g_assert_cmpstr (joined, ==,
                   "/usr/bin/qemu-system-x86_64 -accel kvm -M pc -nodefaults -no-user-config -display none "
                   "-m 16 -bios /tmp/fw.bin -device isa-debug-exit,iobase=0xf4,iosize=0x04");
}

static void
test_probe_firmware (void)
{
  g_autofree char *dir = g_dir_make_tmp ("skiff-test-XXXXXX", NULL);
  g_autofree char *fw = g_build_filename (dir, "fw.bin", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_accel_write_probe_firmware (fw, &error));
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (fw, &data, &len, NULL));
  g_assert_cmpuint (len, ==, 0x10000);
  /* The reset vector jumps to the code at F000:0000. */
  g_assert_cmpint ((guint8) data[0xfff0], ==, 0xea);
  g_assert_cmpint ((guint8) data[0], ==, 0xfa);
  g_unlink (fw);
  g_rmdir (dir);
}

/* Under TCG the probe guest must run to its exit port: otherwise a hanging
 * KVM and a broken probe would look the same. */
static void
test_probe_runs_under_tcg (void)
{
  g_autofree char *qemu = sk_accel_find_qemu ();
  if (qemu == NULL)
    {
      g_test_skip ("no qemu-system for this architecture");
      return;
    }
  g_autofree char *reason = NULL;
  gboolean ok = sk_accel_probe_guest (qemu, "tcg", 10000, &reason);
  g_assert_cmpstr (reason, ==, NULL);
  g_assert_true (ok);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/accel/probe-argv", test_probe_argv);
  g_test_add_func ("/accel/probe-firmware", test_probe_firmware);
  g_test_add_func ("/accel/probe-runs-under-tcg", test_probe_runs_under_tcg);
  return g_test_run ();
}
