/* skiff ps — list VMs. */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runner/portspec.h"
#include "runner/vm.h"

#include <stdio.h>

static gboolean opt_all;
static gboolean opt_quiet;
static gboolean opt_no_trunc;
static char *opt_format;

static GOptionEntry entries[] = {
  { "all", 'a', 0, G_OPTION_ARG_NONE, &opt_all, "Show all VMs (default: running ones)", NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Show only VM ids", NULL },
  { "no-trunc", 0, 0, G_OPTION_ARG_NONE, &opt_no_trunc, "Show full ids", NULL },
  { "format", 0, 0, G_OPTION_ARG_STRING, &opt_format, "Output format: table or json", "FORMAT" },
  { NULL },
};

static char *
ports_string (SkVm *vm)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < vm->ports->len; i++)
    {
      SkPortMap pm;
      if (!sk_port_map_parse (vm->ports->pdata[i], &pm, NULL))
        continue;
      g_autofree char *f = sk_port_map_format (&pm);
      g_string_append_printf (s, "%s%s", s->len ? ", " : "", f);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static const char *
state_name (SkVmState st)
{
  return st == SK_VM_RUNNING ? "running" : st == SK_VM_EXITED ? "exited" : "created";
}

static json_t *
vm_json (SkVm *vm, SkVmStatus *st, const char *status)
{
  json_t *o = json_object ();
  json_object_set_new (o, "Id", json_string (vm->id));
  json_object_set_new (o, "Name", json_string (vm->name));
  json_object_set_new (o, "Image", json_string (vm->image));
  json_object_set_new (o, "ImageDigest", json_string (vm->image_digest));
  json_object_set_new (o, "Created", json_integer (vm->created));
  json_object_set_new (o, "State", json_string (state_name (st->state)));
  json_object_set_new (o, "Status", json_string (status));
  json_object_set_new (o, "ExitCode", st->state == SK_VM_EXITED ? json_integer (st->exit_code) : json_null ());
  json_t *ports = json_array ();
  for (guint i = 0; i < vm->ports->len; i++)
    json_array_append_new (ports, json_string (vm->ports->pdata[i]));
  json_object_set_new (o, "Ports", ports);
  json_object_set_new (o, "SshPort", json_integer (vm->ssh_port));
  return o;
}

int
sk_cmd_ps (int argc, char **argv, GError **error)
{
  SkFormat format;
  if (!sk_cmd_parse ("ps", NULL, "List VMs: status, image, ports, age.", entries, &argc, &argv, error)
      || !sk_cmd_check_args ("ps", argc, 0, 0, error) || !sk_cmd_parse_format (opt_format, &format, error))
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) vms = sk_vm_list (sk_globals.root, error);
  if (vms == NULL)
    return SK_CMD_FAILED;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (json_t) arr = json_array ();
  if (format == SK_FORMAT_TABLE && !opt_quiet)
    printf ("%-12s  %-30s  %-18s  %-24s  %-28s  %s\n", "VM ID", "IMAGE", "CREATED", "STATUS", "PORTS", "NAMES");
  for (guint i = 0; i < vms->len; i++)
    {
      SkVm *vm = vms->pdata[i];
      SkVmStatus st;
      sk_vm_status (sk_globals.root, vm, &st);
      if (!opt_all && st.state != SK_VM_RUNNING)
        {
          sk_vm_status_clear (&st);
          continue;
        }
      g_autofree char *status = sk_vm_status_string (vm, &st, now);
      g_autofree char *id = opt_no_trunc ? g_strdup (vm->id) : g_strndup (vm->id, 12);
      if (format == SK_FORMAT_JSON)
        json_array_append_new (arr, vm_json (vm, &st, status));
      else if (opt_quiet)
        printf ("%s\n", id);
      else
        {
          g_autofree char *age = sk_format_age (vm->created, now);
          g_autofree char *ports = ports_string (vm);
          printf ("%-12s  %-30s  %-18s  %-24s  %-28s  %s\n", id, vm->image, age, status, ports, vm->name);
        }
      sk_vm_status_clear (&st);
    }
  if (format == SK_FORMAT_JSON)
    sk_cmd_print_json (arr);
  return 0;
}
