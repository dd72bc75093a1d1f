/* skiff commit — a VM's changes become a new top layer of its image. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "runner/runner.h"
#include "store/layer.h"

#include <stdio.h>

static char *opt_message;
static char **opt_changes;
static gboolean opt_pause;
static gboolean opt_quiet;

static GOptionEntry entries[] = {
  { "message", 'm', 0, G_OPTION_ARG_STRING, &opt_message, "Comment recorded in the image's history", "MSG" },
  { "change", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &opt_changes, "Change a setting of the new image: memory=MIB, "
    "cpus=N, user=NAME, cmdline=STRING (repeatable)", "KEY=VALUE" },
  { "pause", 'p', 0, G_OPTION_ARG_NONE, &opt_pause, "Commit a running VM: pause it (its disks flushed), commit, "
    "resume. The layer is what a power cut would leave: run 'sync' in the guest first", NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print nothing on success", NULL },
  { NULL },
};

static char *
commit_vm (SkStore *store, SkVm *vm, const char *tag, GError **error)
{
  g_autoptr (SkStoreImage) parent = sk_store_lookup (store, vm->image_digest, error);
  if (parent == NULL)
    return NULL;
  g_autofree char *overlay = sk_vm_path (sk_globals.root, vm, "overlay.qcow2");
  g_autofree char *by = g_strdup_printf ("skiff commit %s", vm->name);
  SkLayerOptions opts = { .comment = opt_message, .created_by = by, .changes = (const char *const *) opt_changes };
  /* The overlay sits in vms/<id>/ on ../../layers/<hex>.qcow2. */
  return sk_store_commit_layer (store, parent, overlay, "../../layers", &opts, tag, error);
}

int
sk_cmd_commit (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("commit", "VM IMAGE[:TAG]",
                     "Make a stopped VM's disk changes a new top layer on its image, stored as\n"
                     "IMAGE[:TAG]. Only what the VM changed is stored, and the layer names its\n"
                     "parent by content. A running VM is refused unless --pause.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("commit", argc, 2, 2, error))
    return SK_CMD_FAILED;
  g_autofree char *tag = sk_cmd_normalize_name (argv[2], error);
  g_autoptr (SkStore) store = tag ? sk_cmd_open_store (error) : NULL;
  g_autoptr (SkVm) vm = store ? sk_vm_lookup (sk_globals.root, argv[1], error) : NULL;
  if (vm == NULL)
    return SK_CMD_FAILED;
  SkVmStatus st = { 0 };
  sk_vm_status (sk_globals.root, vm, &st);
  gboolean running = st.state == SK_VM_RUNNING;
  sk_vm_status_clear (&st);
  if (running && !opt_pause)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_BUSY,
                   "committing VM '%s': it is running: stop it first, or use --pause", vm->name);
      return SK_CMD_FAILED;
    }
  if (running && !sk_runner_pause (sk_globals.root, vm, TRUE, error))
    return SK_CMD_FAILED;
  g_autofree char *digest = commit_vm (store, vm, tag, error);
  g_autoptr (GError) resume_error = NULL;
  if (running && !sk_runner_pause (sk_globals.root, vm, FALSE, &resume_error))
    fprintf (stderr, "skiff: %s\n", resume_error->message);
  if (digest == NULL)
    {
      g_prefix_error (error, "committing VM '%s': ", vm->name);
      return SK_CMD_FAILED;
    }
  if (!opt_quiet)
    printf ("%s\n", digest);
  return resume_error ? 1 : 0;
}
