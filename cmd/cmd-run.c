/* skiff run / create — VMs from images. */
#include "cmd/cmd.h"
#include "cmd/console.h"
#include "common/error.h"
#include "common/util.h"
#include "common/log.h"
#include "runner/runner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_RUN_FAILED 125

static char *opt_name;
static gboolean opt_detach;
static gboolean opt_rm;
static gboolean opt_interactive;
static gboolean opt_tty;
static char *opt_memory;
static int opt_cpus;
static char *opt_disk_size;
static char **opt_ports;
static char **opt_env;
static char *opt_user_data;
static char **opt_ssh_keys;
static char *opt_hostname;
static char *opt_network;
static char *opt_accel;
static char *opt_console_log;
static int opt_wait = -1;
static char *opt_pull;
static gboolean opt_quiet;
static SkRegistryCliOptions opt_registry;

static GOptionEntry create_entries[] = {
  { "name", 0, 0, G_OPTION_ARG_STRING, &opt_name, "Name of the VM (default: a random one)", "NAME" },
  { "rm", 0, 0, G_OPTION_ARG_NONE, &opt_rm, "Remove the VM when it exits", NULL },
  { "memory", 'm', 0, G_OPTION_ARG_STRING, &opt_memory, "Memory (512m, 2g; plain numbers are MiB)", "SIZE" },
  { "cpus", 0, 0, G_OPTION_ARG_INT, &opt_cpus, "Number of CPUs", "N" },
  { "disk-size", 0, 0, G_OPTION_ARG_STRING, &opt_disk_size, "Grow the VM's disk to SIZE (10g)", "SIZE" },
  { "publish", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &opt_ports,
    "Forward a host port: [IP:]HOST:GUEST[/tcp|udp] (IP defaults to 127.0.0.1)", "SPEC" },
  { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &opt_env, "Set KEY=VAL in the guest (/etc/environment)", "KEY=VAL" },
  { "user-data", 0, 0, G_OPTION_ARG_FILENAME, &opt_user_data, "cloud-init user-data (merged with skiff's)", "FILE" },
  { "ssh-key", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_ssh_keys,
    "Public key allowed to log in (default: the .pub files in ~/.ssh)", "FILE" },
  { "hostname", 0, 0, G_OPTION_ARG_STRING, &opt_hostname, "Guest hostname (default: the VM's name)", "NAME" },
  { "network", 0, 0, G_OPTION_ARG_STRING, &opt_network, "user (default) or none", "MODE" },
  { "accel", 0, 0, G_OPTION_ARG_STRING, &opt_accel, "kvm, tcg or auto (default: KVM when it works)", "ACCEL" },
  { "console-log", 0, 0, G_OPTION_ARG_FILENAME, &opt_console_log, "Also write the console to FILE", "FILE" },
  { "pull", 0, 0, G_OPTION_ARG_STRING, &opt_pull,
    "Pull IMAGE from its registry or bucket first: always, missing (default: when it is not stored and "
    "names its registry or an s3:// bucket) or never", "POLICY" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print no progress when pulling", NULL },
  { NULL },
};

static GOptionEntry run_entries[] = {
  { "detach", 'd', 0, G_OPTION_ARG_NONE, &opt_detach, "Run in the background and print the VM id", NULL },
  { "interactive", 'i', 0, G_OPTION_ARG_NONE, &opt_interactive, "Attach the terminal to the serial console", NULL },
  { "tty", 't', 0, G_OPTION_ARG_NONE, &opt_tty, "With -i: raw terminal (Ctrl-] detaches)", NULL },
  { "wait", 0, 0, G_OPTION_ARG_INT, &opt_wait, "With -d: wait up to SECONDS until SSH answers", "SECONDS" },
  { NULL },
};

static GPtrArray *
strv_array (char **v)
{
  if (v == NULL)
    return NULL;
  GPtrArray *a = g_ptr_array_new ();
  for (char **p = v; *p; p++)
    g_ptr_array_add (a, *p);
  return a;
}

static gboolean
build_options (const char *image, SkRunOptions *o, GError **error)
{
  memset (o, 0, sizeof *o);
  o->image = image;
  o->name = opt_name;
  if (opt_memory)
    {
      guint64 bytes;
      if (!sk_parse_size ("--memory", opt_memory, 1ull << 20, &bytes, error))
        return FALSE;
      o->memory_mib = bytes >> 20;
    }
  if (opt_cpus < 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid --cpus %d", opt_cpus), FALSE;
  o->cpus = opt_cpus;
  if (opt_disk_size && !sk_parse_size ("--disk-size", opt_disk_size, 1, &o->disk_size, error))
    return FALSE;
  o->ports = strv_array (opt_ports);
  o->env = strv_array (opt_env);
  o->user_data_file = opt_user_data;
  o->ssh_keys = strv_array (opt_ssh_keys);
  o->hostname = opt_hostname;
  o->network = opt_network;
  o->accel = opt_accel;
  o->console_log = opt_console_log;
  o->auto_remove = opt_rm;
  return TRUE;
}

static void
free_options (SkRunOptions *o)
{
  g_clear_pointer (&o->ports, g_ptr_array_unref);
  g_clear_pointer (&o->env, g_ptr_array_unref);
  g_clear_pointer (&o->ssh_keys, g_ptr_array_unref);
}

/* TRUE when @name starts with a registry host ("localhost/...",
 * "quay.io/...", "127.0.0.1:5000/..."): only those are pulled when
 * missing (there are no search registries for short names). */
static gboolean
names_registry (const char *name)
{
  const char *slash = strchr (name, '/');
  if (slash == NULL)
    return FALSE;
  g_autofree char *first = g_strndup (name, slash - name);
  return strchr (first, '.') || strchr (first, ':') || g_str_equal (first, "localhost");
}

/* The image @name, pulled first as --pull says. */
static SkStoreImage *
find_or_pull (SkStore *store, const char *name, GError **error)
{
  const char *policy = opt_pull ? opt_pull : "missing";
  if (!g_str_equal (policy, "always") && !g_str_equal (policy, "missing") && !g_str_equal (policy, "never"))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid --pull '%s': expected always, missing or never",
                        policy), NULL;
  if (!g_str_equal (policy, "always"))
    {
      g_autoptr (GError) local = NULL;
      SkStoreImage *img = sk_cmd_lookup_image (store, name, &local);
      if (img || g_str_equal (policy, "never") || !g_error_matches (local, SK_ERROR, SK_ERROR_NOT_FOUND)
          || !names_registry (name))
        return img ? img : (g_propagate_error (error, g_steal_pointer (&local)), NULL);
    }
  SkPullOptions opts = { .tls_verify = opt_registry.tls_verify, .authfile = opt_registry.authfile,
                         .cert_dir = opt_registry.cert_dir };
  g_autofree char *digest = NULL;
  if (!sk_cmd_pull_image (store, name, &opts, opt_quiet, &digest, error))
    return NULL;
  return sk_store_lookup (store, digest, error);
}

static SkVm *
create_vm (SkStore *store, const char *image, GError **error)
{
  SkRunOptions o;
  if (!build_options (image, &o, error))
    return NULL;
  g_autoptr (SkStoreImage) img = find_or_pull (store, image, error);
  SkVm *vm = img ? sk_runner_create (store, img, &o, error) : NULL;
  free_options (&o);
  return vm;
}

static gboolean
parse_args (const char *verb, GOptionEntry *extra, int *argc, char ***argv, GError **error)
{
  g_autoptr (GArray) all = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  for (GOptionEntry *e = create_entries; e->long_name; e++)
    g_array_append_val (all, *e);
  for (GOptionEntry *e = extra; e && e->long_name; e++)
    g_array_append_val (all, *e);
  const char *summary = g_str_equal (verb, "run")
                          ? "Create a VM from IMAGE and start it. In the foreground, the console is\n"
                            "shown until the VM powers off (its exit status is skiff's); -d leaves it\n"
                            "running under a monitor process; -it attaches the serial console.\n"
                            "An IMAGE that names its registry (or an s3:// bucket) is pulled when it\n"
                            "is not stored."
                          : "Create a VM from IMAGE without starting it (pulled as for run).";
  if (!sk_cmd_parse_registry (verb, "[OPTIONS] IMAGE", summary, (GOptionEntry *) all->data, &opt_registry,
                              SK_REGISTRY_CLI_ALL, argc, argv, error)
      || !sk_cmd_check_args (verb, *argc, 1, 1, error))
    return FALSE;
  return TRUE;
}

int
sk_cmd_create (int argc, char **argv, GError **error)
{
  if (!parse_args ("create", NULL, &argc, &argv, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  g_autoptr (SkVm) vm = store ? create_vm (store, argv[1], error) : NULL;
  if (vm == NULL)
    return SK_CMD_FAILED;
  if (!sk_vm_sync (sk_globals.root, vm, error))
    {
      (void) sk_runner_remove (store, vm, TRUE, NULL);
      return SK_CMD_FAILED;
    }
  printf ("%s\n", vm->id);
  return 0;
}

/* Starts @vm; on failure removes it so nothing half-made is left. */
static gboolean
start_or_remove (SkStore *store, SkVm *vm, int *out_monitor, GError **error)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", error);
  if (self && sk_runner_start (sk_globals.root, vm, self, out_monitor, error))
    return TRUE;
  (void) sk_runner_remove (store, vm, TRUE, NULL);
  return FALSE;
}

static int
run_foreground (SkVm *vm, int monitor, GError **error)
{
  if (opt_interactive)
    {
      int r = sk_cmd_console_attach (sk_globals.root, vm, opt_tty, monitor, error);
      if (r != SK_CONSOLE_VM_EXITED)
        return r < 0 ? EXIT_RUN_FAILED : 0; /* detached: the VM goes on */
    }
  else if (!sk_cmd_console_follow (sk_globals.root, vm, TRUE, monitor, error))
    return EXIT_RUN_FAILED;
  int status = 0;
  while (waitpid (monitor, &status, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* docker's convention: 125 when skiff itself fails in `run`; usage errors
 * keep skiff's 2. */
static int
run_failed (GError **error)
{
  if (sk_error_exit_status (*error) == 2)
    return SK_CMD_FAILED;
  fprintf (stderr, "skiff: run: %s\n", (*error)->message);
  g_clear_error (error);
  return EXIT_RUN_FAILED;
}

int
sk_cmd_run (int argc, char **argv, GError **error)
{
  if (!parse_args ("run", run_entries, &argc, &argv, error))
    return SK_CMD_FAILED;
  if (opt_detach && opt_interactive)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "run: -d and -i cannot be used together");
      return SK_CMD_FAILED;
    }
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  g_autoptr (SkVm) vm = store ? create_vm (store, argv[1], error) : NULL;
  int monitor = -1;
  if (vm == NULL || !start_or_remove (store, vm, &monitor, error))
    return run_failed (error);
  /* The VM holds its image; the store lock must not outlive this point or
   * a foreground VM would block prune for its whole life. */
  g_clear_pointer (&store, sk_store_free);
  if (!opt_detach)
    return run_foreground (vm, monitor, error);
  printf ("%s\n", vm->id);
  fflush (stdout);
  if (opt_wait >= 0 && !sk_runner_wait_ssh (sk_globals.root, vm, opt_wait, error))
    return SK_CMD_FAILED;
  return 0;
}
