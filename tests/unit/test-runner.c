/* Unit tests: runner — VM records, names, liveness, SSH command lines. */
#include "runner/ssh.h"
#include "runner/vm.h"
#include "common/error.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
tmpdir (void)
{
  return g_dir_make_tmp ("skiff-runner-XXXXXX", NULL);
}

static void
rmrf (const char *dir)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

static SkVm *
new_vm (const char *name, gint64 created)
{
  SkVm *vm = g_new0 (SkVm, 1);
  vm->id = sk_vm_new_id ();
  vm->name = g_strdup (name);
  vm->image = g_strdup ("tiny");
  vm->image_digest = g_strdup ("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  vm->created = created;
  vm->memory_mib = 256;
  vm->cpus = 1;
  vm->ports = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (vm->ports, g_strdup ("127.0.0.1:8080:80/tcp"));
  vm->env = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (vm->env, g_strdup ("A=b c"));
  vm->boot = g_strdup ("kernel");
  vm->ssh_port = 2222;
  return vm;
}

static void
test_ids_names (void)
{
  g_autofree char *a = sk_vm_new_id ();
  g_autofree char *b = sk_vm_new_id ();
  g_assert_cmpuint (strlen (a), ==, 64);
  g_assert_cmpstr (a, !=, b);
  for (const char *p = a; *p; p++)
    g_assert_true (g_ascii_isxdigit (*p) && !g_ascii_isupper (*p));
  g_autofree char *n = sk_vm_random_name ();
  g_assert_true (sk_vm_check_name (n, NULL));
  const char *good[] = { "t1", "web.1", "a_b-c", "X" };
  const char *bad[] = { "", "-x", ".x", "a/b", "a b", "../x", "a:b" };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (sk_vm_check_name (good[i], NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (sk_vm_check_name (bad[i], &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
    }
}

static void
test_records (void)
{
  g_autofree char *root = tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SkVm) a = new_vm ("alpha", 100);
  g_autoptr (SkVm) b = new_vm ("beta", 200);
  g_assert_true (sk_vm_create_dir (root, a, &error));
  g_assert_no_error (error);
  g_assert_true (sk_vm_create_dir (root, b, &error));

  /* A name is unique: the second VM of that name is refused, nothing made. */
  g_autoptr (SkVm) dup = new_vm ("alpha", 300);
  g_assert_false (sk_vm_create_dir (root, dup, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "already in use"));
  g_clear_error (&error);
  g_autofree char *dupdir = sk_vm_dir (root, dup->id);
  g_assert_false (g_file_test (dupdir, G_FILE_TEST_EXISTS));

  g_autoptr (SkVm) back = sk_vm_load (root, a->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->name, ==, "alpha");
  g_assert_cmpuint (back->memory_mib, ==, 256);
  g_assert_cmpuint (back->ssh_port, ==, 2222);
  g_assert_cmpstr (back->ports->pdata[0], ==, "127.0.0.1:8080:80/tcp");
  g_assert_cmpstr (back->env->pdata[0], ==, "A=b c");

  g_autoptr (GPtrArray) all = sk_vm_list (root, &error);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_cmpstr (((SkVm *) all->pdata[0])->name, ==, "beta"); /* newest first */

  g_autoptr (SkVm) byname = sk_vm_lookup (root, "beta", &error);
  g_assert_cmpstr (byname->id, ==, b->id);
  g_autofree char *prefix = g_strndup (a->id, 8);
  g_autoptr (SkVm) byid = sk_vm_lookup (root, prefix, &error);
  g_assert_cmpstr (byid->id, ==, a->id);
  g_autoptr (SkVm) none = sk_vm_lookup (root, "gamma", &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (sk_vm_remove_dir (root, a, &error));
  g_autoptr (GPtrArray) after = sk_vm_list (root, &error);
  g_assert_cmpuint (after->len, ==, 1);
  /* The name is free again. */
  g_autoptr (SkVm) again = new_vm ("alpha", 400);
  g_assert_true (sk_vm_create_dir (root, again, &error));
  rmrf (root);
}

static void
test_status (void)
{
  g_autofree char *root = tmpdir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SkVm) vm = new_vm ("s", 100);
  g_assert_true (sk_vm_create_dir (root, vm, &error));
  SkVmStatus st;
  sk_vm_status (root, vm, &st);
  g_assert_cmpint (st.state, ==, SK_VM_CREATED);
  sk_vm_status_clear (&st);

  /* A live process recorded as qemu: running. */
  pid_t child = fork ();
  if (child == 0)
    {
      pause ();
      _exit (0);
    }
  g_autofree char *qpid = sk_vm_path (root, vm, "qemu.pid");
  g_assert_true (sk_vm_write_pid (qpid, child, &error));
  vm->started = 150;
  sk_vm_status (root, vm, &st);
  g_assert_cmpint (st.state, ==, SK_VM_RUNNING);
  g_assert_cmpint (st.qemu_pid, ==, child);
  g_autofree char *up = sk_vm_status_string (vm, &st, 150 + 125);
  g_assert_cmpstr (up, ==, "Up 2 minutes");
  sk_vm_status_clear (&st);

  /* Killed with no exit recorded: exited, truthfully "killed". */
  kill (child, SIGKILL);
  waitpid (child, NULL, 0);
  sk_vm_status (root, vm, &st);
  g_assert_cmpint (st.state, ==, SK_VM_EXITED);
  g_assert_cmpint (st.exit_code, ==, 137);
  sk_vm_status_clear (&st);

  /* A pid file whose start time does not match is a reused pid: dead. */
  g_assert_true (g_file_set_contents (qpid, "1 12345\n", -1, NULL));
  g_assert_cmpint (sk_vm_read_live_pid (qpid), ==, 0);

  g_autofree char *exitf = sk_vm_path (root, vm, "exit");
  g_assert_true (g_file_set_contents (exitf, "3 qemu failed: boom\n", -1, NULL));
  vm->finished = 160;
  sk_vm_status (root, vm, &st);
  g_assert_cmpint (st.exit_code, ==, 3);
  g_assert_cmpstr (st.exit_reason, ==, "qemu failed: boom");
  g_autofree char *ex = sk_vm_status_string (vm, &st, 165);
  g_assert_cmpstr (ex, ==, "Exited (3) 5 seconds ago");
  sk_vm_status_clear (&st);
  rmrf (root);
}

static void
test_ssh_argv (void)
{
  const char *cmd[] = { "sh", "-c", "echo 'a b'; exit 3", NULL };
  g_auto (GStrv) argv = sk_ssh_argv ("ssh", "/v/id", "/v/kh", "root", 2222, FALSE, 5, cmd);
  g_autofree char *joined = g_strjoinv (" ", argv);
  g_assert_nonnull (strstr (joined, "-i /v/id -p 2222 -l root"));
  g_assert_nonnull (strstr (joined, "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/v/kh"));
  g_assert_nonnull (strstr (joined, "-o GlobalKnownHostsFile=/dev/null"));
  g_assert_nonnull (strstr (joined, "-o BatchMode=yes"));
  g_assert_nonnull (strstr (joined, "-o IdentitiesOnly=yes"));
  guint n = g_strv_length (argv);
  g_assert_cmpstr (argv[n - 3], ==, "--");
  g_assert_cmpstr (argv[n - 2], ==, "127.0.0.1");
  /* One word for the remote shell that splits back into the same argv. */
  g_auto (GStrv) back = NULL;
  g_assert_true (g_shell_parse_argv (argv[n - 1], NULL, &back, NULL));
  g_assert_cmpuint (g_strv_length (back), ==, 3);
  g_assert_cmpstr (back[2], ==, "echo 'a b'; exit 3");

  g_auto (GStrv) shell = sk_ssh_argv ("ssh", "/v/id", "/v/kh", "root", 2222, TRUE, 5, NULL);
  n = g_strv_length (shell);
  g_assert_cmpstr (shell[n - 1], ==, "127.0.0.1");
  g_assert_true (g_strv_contains ((const char *const *) shell, "-tt"));
}

static void
test_known_hosts (void)
{
  g_autofree char *l = sk_ssh_known_hosts_line ("ssh-ed25519 AAAAC3Nza skiff-x\n", 40022);
  g_assert_cmpstr (l, ==, "[127.0.0.1]:40022 ssh-ed25519 AAAAC3Nza\n");
  g_assert_null (sk_ssh_known_hosts_line ("garbage", 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/runner/ids-names", test_ids_names);
  g_test_add_func ("/runner/records", test_records);
  g_test_add_func ("/runner/status", test_status);
  g_test_add_func ("/runner/ssh-argv", test_ssh_argv);
  g_test_add_func ("/runner/known-hosts", test_known_hosts);
  return g_test_run ();
}
