/* skiff — entry point: global options, then dispatch to a verb. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/log.h"
#include "common/cleanup.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

SkGlobals sk_globals;

static const SkCmd commands[] = {
  { "run", sk_cmd_run, "Create a VM from an image and start it" },
  { "create", sk_cmd_create, "Create a VM without starting it" },
  { "start", sk_cmd_start, "Start VMs" },
  { "stop", sk_cmd_stop, "Power VMs off (ACPI), killing them after a timeout" },
  { "restart", sk_cmd_restart, "Stop and start VMs" },
  { "kill", sk_cmd_kill, "Kill running VMs" },
  { "rm", sk_cmd_rm, "Remove VMs" },
  { "ps", sk_cmd_ps, "List VMs" },
  { "logs", sk_cmd_logs, "Show a VM's serial console output" },
  { "attach", sk_cmd_attach, "Attach the terminal to a VM's serial console" },
  { "exec", sk_cmd_exec, "Run a command in a VM over SSH" },
  { "ssh", sk_cmd_ssh, "Open a shell in a VM over SSH" },
  { "wait", sk_cmd_wait, "Wait for VMs to exit and print their exit codes" },
  { "port", sk_cmd_port, "List a VM's port forwards" },
  { "pull", sk_cmd_pull, "Fetch an image from a registry or an S3 bucket" },
  { "push", sk_cmd_push, "Send an image to a registry or an S3 bucket" },
  { "manifest", sk_cmd_manifest, "Assemble multi-architecture images (manifest lists)" },
  { "login", sk_cmd_login, "Store credentials for a registry" },
  { "logout", sk_cmd_logout, "Remove credentials of a registry" },
  { "import", sk_cmd_import, "Turn a disk file into an image" },
  { "commit", sk_cmd_commit, "Make a VM's changes a new image layer" },
  { "squash", sk_cmd_squash, "Flatten an image's layers into one" },
  { "export", sk_cmd_export, "Write an image's disk as one qcow2 or raw file" },
  { "save", sk_cmd_save, "Write images to an OCI image layout tar" },
  { "load", sk_cmd_load, "Read images from an OCI image layout tar" },
  { "images", sk_cmd_images, "List images" },
  { "inspect", sk_cmd_inspect, "Show details of images or VMs as JSON" },
  { "history", sk_cmd_history, "Show the layers of an image" },
  { "tag", sk_cmd_tag, "Give an image another name" },
  { "rmi", sk_cmd_rmi, "Remove images" },
  { "prune", sk_cmd_prune, "Remove images and layers nothing uses" },
  { "fsck", sk_cmd_fsck, "Verify every object in the store" },
  { "system", sk_cmd_system, "Manage skiff (system df)" },
  { "doctor", sk_cmd_doctor, "Check that this machine can run skiff's VMs" },
  { "version", sk_cmd_version, "Show skiff's version" },
  { "__autoremove", sk_cmd_autoremove, "Remove an exited --rm VM (internal, run by skiff-monitor)", TRUE },
  { NULL },
};

static void
print_usage (FILE *f)
{
  fprintf (f,
           "Usage: skiff [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
           "\n"
           "Virtual machines as easy to share and run as containers.\n"
           "\n"
           "Global options:\n"
           "  -h, --help         Show this help\n"
           "  -v, --verbose      Log what skiff does (commands it runs) to stderr\n"
           "      --root DIR     The store's directory (default: $SKIFF_ROOT, else\n"
           "                     $XDG_DATA_HOME/skiff, /var/lib/skiff for root)\n"
           "      --version      Show skiff's version\n"
           "\n"
           "Commands:\n");
  for (const SkCmd *c = commands; c->name; c++)
    if (!c->hidden)
      fprintf (f, "  %-12s %s\n", c->name, c->summary);
  fprintf (f, "\nRun 'skiff COMMAND --help' for more information on a command.\n");
}

static char *
default_root (void)
{
  const char *env = g_getenv ("SKIFF_ROOT");
  if (env && *env)
    return g_strdup (env);
  if (geteuid () == 0)
    return g_strdup ("/var/lib/skiff");
  return g_build_filename (g_get_user_data_dir (), "skiff", NULL);
}

/* Consumes global options before the verb; returns the verb's index in
 * argv, or -1 with @error set. */
static int
parse_globals (int argc, char **argv, gboolean *out_help, gboolean *out_version, GError **error)
{
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      const char *a = argv[i];
      if (g_str_equal (a, "-h") || g_str_equal (a, "--help"))
        *out_help = TRUE;
      else if (g_str_equal (a, "-v") || g_str_equal (a, "--verbose"))
        sk_globals.verbose = TRUE;
      else if (g_str_equal (a, "--version"))
        *out_version = TRUE;
      else if (g_str_equal (a, "--root") || g_str_has_prefix (a, "--root="))
        {
          const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
          if (v == NULL || *v == '\0')
            return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "option '--root' needs a directory"), -1;
          g_free (sk_globals.root);
          sk_globals.root = g_strdup (v);
        }
      else
        return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                            "unknown option '%s' (see 'skiff --help')", a), -1;
    }
  return i;
}

static int
run (int argc, char **argv, GError **error)
{
  gboolean help = FALSE, version = FALSE;
  int v = parse_globals (argc, argv, &help, &version, error);
  if (v < 0)
    return SK_CMD_FAILED;
  sk_log_set_verbose (sk_globals.verbose || sk_log_get_verbose ());
  if (sk_globals.root == NULL)
    sk_globals.root = default_root ();
  if (!g_path_is_absolute (sk_globals.root))
    {
      g_autofree char *cwd = g_get_current_dir ();
      char *abs = g_build_filename (cwd, sk_globals.root, NULL);
      g_free (sk_globals.root);
      sk_globals.root = abs;
    }
  if (version)
    return sk_cmd_version (1, (char *[]) { (char *) "version", NULL }, error);
  if (v >= argc)
    {
      print_usage (help ? stdout : stderr);
      return help ? 0 : 2;
    }
  char *hargv[] = { NULL, (char *) "--help", NULL };
  if (g_str_equal (argv[v], "help"))
    {
      if (v + 1 >= argc)
        return print_usage (stdout), 0;
      hargv[0] = argv[v + 1];
      v = 0;
      argv = hargv;
      argc = 2;
    }
  for (const SkCmd *c = commands; c->name; c++)
    if (g_str_equal (c->name, argv[v]))
      return c->fn (argc - v, argv + v, error);
  g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "'%s' is not a skiff command (see 'skiff --help')", argv[v]);
  return SK_CMD_FAILED;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_set_prgname ("skiff");
  g_autoptr (GError) error = NULL;
  int status = run (argc, argv, &error);
  fflush (stdout);
  if (status == SK_CMD_FAILED || error != NULL)
    {
      fprintf (stderr, "skiff: %s\n", error ? error->message : "failed");
      if (status == SK_CMD_FAILED)
        status = sk_error_exit_status (error) ?: 1;
    }
  g_free (sk_globals.root);
  return status;
}
