/* skiff inspect — details of images (and VMs) as JSON. */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "oci/digest.h"
#include "runner/vm.h"

#include <stdio.h>

static char *opt_type;

static GOptionEntry entries[] = {
  { "type", 0, 0, G_OPTION_ARG_STRING, &opt_type, "What to inspect: image or vm (default: a VM of that name, "
    "else an image)", "TYPE" },
  { NULL },
};

static json_t *
raw_json (GBytes *b)
{
  gsize len;
  const char *data = g_bytes_get_data (b, &len);
  json_t *j = json_loadb (data, len, 0, NULL);
  return j ? j : json_null ();
}

static json_t *
image_json (SkStore *store, SkStoreImage *img, GError **error)
{
  g_autoptr (GPtrArray) blobs = sk_store_image_blobs (store, img, error);
  if (blobs == NULL)
    return NULL;
  json_t *o = json_object ();
  json_object_set_new (o, "Id", json_string (img->digest));
  json_object_set_new (o, "Digest", json_string (img->digest));
  json_t *tags = json_array ();
  for (guint i = 0; i < img->tags->len; i++)
    json_array_append_new (tags, json_string (img->tags->pdata[i]));
  json_object_set_new (o, "RepoTags", tags);
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (img->created);
  g_autofree char *created = g_date_time_format_iso8601 (t);
  json_object_set_new (o, "Stored", json_string (created));
  json_object_set_new (o, "Size", json_integer (img->size));
  json_t *layers = json_array ();
  for (guint i = 0; i < blobs->len; i++)
    {
      SkStoreBlob *b = blobs->pdata[i];
      json_t *l = json_object ();
      json_object_set_new (l, "Path", json_string (b->tree_path));
      json_object_set_new (l, "Size", json_integer (b->size));
      json_array_append_new (layers, l);
    }
  json_object_set_new (o, "Blobs", layers);
  json_object_set_new (o, "Manifest", raw_json (img->manifest));
  json_object_set_new (o, "Config", raw_json (img->config));
  g_autoptr (GPtrArray) holders = sk_store_holders (store, img->digest);
  json_t *users = json_array ();
  for (guint i = 0; i < holders->len; i++)
    json_array_append_new (users, json_string (holders->pdata[i]));
  json_object_set_new (o, "UsedBy", users);
  return o;
}

static json_t *
vm_json (SkVm *vm)
{
  g_autofree char *path = sk_vm_path (sk_globals.root, vm, "record.json");
  json_t *o = json_load_file (path, 0, NULL);
  if (o == NULL)
    return NULL;
  SkVmStatus st;
  sk_vm_status (sk_globals.root, vm, &st);
  static const char *names[] = { "created", "running", "exited" };
  json_t *state = json_object ();
  json_object_set_new (state, "Status", json_string (names[st.state]));
  json_object_set_new (state, "Running", json_boolean (st.state == SK_VM_RUNNING));
  json_object_set_new (state, "Pid", json_integer (st.qemu_pid));
  json_object_set_new (state, "ExitCode", json_integer (st.state == SK_VM_EXITED ? st.exit_code : 0));
  json_object_set_new (o, "State", state);
  g_autofree char *dir = sk_vm_dir (sk_globals.root, vm->id);
  json_object_set_new (o, "Dir", json_string (dir));
  sk_vm_status_clear (&st);
  return o;
}

static json_t *
inspect_one (SkStore *store, const char *name, GError **error)
{
  gboolean want_vm = opt_type == NULL || g_str_equal (opt_type, "vm");
  gboolean want_image = opt_type == NULL || g_str_equal (opt_type, "image");
  if (want_vm)
    {
      g_autoptr (SkVm) vm = sk_vm_lookup (sk_globals.root, name, want_image ? NULL : error);
      if (vm)
        return vm_json (vm);
      if (!want_image)
        return NULL;
    }
  g_autoptr (SkStoreImage) img = sk_cmd_lookup_image (store, name, error);
  return img ? image_json (store, img, error) : NULL;
}

int
sk_cmd_inspect (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("inspect", "NAME...", "Show details of images or VMs as JSON.", entries, &argc, &argv, error)
      || !sk_cmd_check_args ("inspect", argc, 1, -1, error))
    return SK_CMD_FAILED;
  if (opt_type && !g_str_equal (opt_type, "image") && !g_str_equal (opt_type, "vm"))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "inspect: invalid --type '%s': expected image or vm", opt_type);
      return SK_CMD_FAILED;
    }
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (json_t) arr = json_array ();
  int status = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) local = NULL;
      json_t *o = inspect_one (store, argv[i], &local);
      if (o)
        json_array_append_new (arr, o);
      else
        {
          fprintf (stderr, "skiff: inspect '%s': %s\n", argv[i], local ? local->message : "not found");
          status = 1;
        }
    }
  sk_cmd_print_json (arr);
  return status;
}
