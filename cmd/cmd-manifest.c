/* skiff manifest — assemble multi-architecture images: manifest lists of
 * stored images (store/list.h), pushed as an OCI image index. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "oci/config.h"
#include "oci/mediatypes.h"
#include "oci/reference.h"
#include "registry/client.h"
#include "store/list.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* The list name @text normalised like an image name. */
static char *
list_name (const char *verb, const char *text, GError **error)
{
  char *name = sk_cmd_normalize_name (text, error);
  if (name == NULL)
    g_prefix_error (error, "%s: ", verb);
  return name;
}

/* The index entry for stored image @img: its manifest, and the platform
 * of its config unless @os/@arch/@variant say otherwise. */
static SkDescriptor *
image_entry (SkStoreImage *img, const char *os, const char *arch, const char *variant, char **annotations,
             GError **error)
{
  g_autoptr (SkConfig) config = sk_config_parse (img->config, error);
  if (config == NULL)
    return NULL;
  SkDescriptor *d = sk_descriptor_new (SK_MEDIA_TYPE_OCI_MANIFEST, img->digest, g_bytes_get_size (img->manifest));
  sk_descriptor_set_platform (d, sk_platform_new (os ? os : config->os, arch ? arch : config->architecture, variant));
  for (guint i = 0; annotations && annotations[i]; i++)
    {
      const char *eq = strchr (annotations[i], '=');
      if (eq == NULL || eq == annotations[i])
        {
          sk_descriptor_free (d);
          return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "--annotation '%s': expected KEY=VALUE",
                              annotations[i]), NULL;
        }
      g_autofree char *key = g_strndup (annotations[i], eq - annotations[i]);
      sk_descriptor_set_annotation (d, key, eq + 1);
    }
  return d;
}

static const char *
platform_string (const SkDescriptor *d, char **owned)
{
  if (d->platform == NULL)
    return "unknown";
  *owned = g_strdup_printf ("%s/%s%s%s", d->platform->os, d->platform->architecture,
                            d->platform->variant ? "/" : "", d->platform->variant ? d->platform->variant : "");
  return *owned;
}

static gboolean
same_platform (const SkDescriptor *a, const SkDescriptor *b)
{
  return a->platform && b->platform && g_strcmp0 (a->platform->os, b->platform->os) == 0
         && g_strcmp0 (a->platform->architecture, b->platform->architecture) == 0
         && g_strcmp0 (a->platform->variant, b->platform->variant) == 0;
}

/* @entries plus @add; refused when the list has an image for its
 * platform already. */
static gboolean
add_entry (const char *list, GPtrArray *entries, SkDescriptor *add, GError **error)
{
  for (guint i = 0; i < entries->len; i++)
    {
      const SkDescriptor *e = entries->pdata[i];
      if (!same_platform (e, add))
        continue;
      g_autofree char *p = NULL;
      g_set_error (error, SK_ERROR, SK_ERROR_EXISTS,
                   "manifest list '%s' already has an image for %s (%s): remove it first", list,
                   platform_string (e, &p), e->digest);
      sk_descriptor_free (add);
      return FALSE;
    }
  g_ptr_array_add (entries, add);
  return TRUE;
}

static GPtrArray *
copy_entries (const SkIndex *idx)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_descriptor_free);
  for (guint i = 0; idx && i < idx->manifests->len; i++)
    g_ptr_array_add (out, sk_descriptor_copy (idx->manifests->pdata[i]));
  return out;
}

static SkStoreImage *
lookup_loaded (SkStore *store, const char *name, GError **error)
{
  g_autoptr (SkStoreImage) img = sk_cmd_lookup_image (store, name, error);
  if (img == NULL || (img->manifest == NULL && !sk_store_image_load (store, img, error)))
    return NULL;
  return g_steal_pointer (&img);
}

static gboolean
save_entries (SkStore *store, const char *name, GPtrArray *entries, GError **error)
{
  g_autoptr (SkIndex) idx = sk_index_new (entries, NULL, error);
  return idx && sk_store_list_save (store, name, idx, error);
}

/* ---------------------------------------------------------------- create */

static int
manifest_create (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("manifest create", "LIST [IMAGE...]",
                     "Create a manifest list (a multi-architecture image) of stored images,\n"
                     "each under the platform of its config.  The images stay held while\n"
                     "the list names them.",
                     NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("manifest create", argc, 1, -1, error))
    return SK_CMD_FAILED;
  g_autofree char *name = list_name ("manifest create", argv[1], error);
  g_autoptr (SkStore) store = name ? sk_cmd_open_store (error) : NULL;
  if (store == NULL)
    return SK_CMD_FAILED;
  if (sk_store_list_exists (store, name))
    return g_set_error (error, SK_ERROR, SK_ERROR_EXISTS, "manifest list '%s' already exists", name), SK_CMD_FAILED;
  g_autoptr (SkStoreImage) clash = sk_store_lookup (store, name, NULL);
  if (clash)
    return g_set_error (error, SK_ERROR, SK_ERROR_EXISTS, "'%s' names an image: a manifest list needs a name of its own",
                        name), SK_CMD_FAILED;
  g_autoptr (GPtrArray) entries = copy_entries (NULL);
  for (int i = 2; i < argc; i++)
    {
      g_autoptr (SkStoreImage) img = lookup_loaded (store, argv[i], error);
      SkDescriptor *d = img ? image_entry (img, NULL, NULL, NULL, NULL, error) : NULL;
      if (d == NULL || !add_entry (name, entries, d, error))
        return SK_CMD_FAILED;
    }
  if (!save_entries (store, name, entries, error))
    return SK_CMD_FAILED;
  printf ("%s\n", name);
  return 0;
}

/* ---------------------------------------------------------------- add */

static char *opt_os, *opt_arch, *opt_variant;
static char **opt_annotations;

static GOptionEntry add_entries[] = {
  { "os", 0, 0, G_OPTION_ARG_STRING, &opt_os, "Platform OS of the entry (default: the image config's)", "OS" },
  { "arch", 0, 0, G_OPTION_ARG_STRING, &opt_arch, "Platform architecture (default: the image config's)", "ARCH" },
  { "variant", 0, 0, G_OPTION_ARG_STRING, &opt_variant, "Platform variant (e.g. v8)", "VARIANT" },
  { "annotation", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_annotations, "Annotate the entry (repeatable)", "KEY=VALUE" },
  { NULL },
};

static int
manifest_add (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("manifest add", "LIST IMAGE", "Add a stored image to a manifest list.", add_entries, &argc, &argv,
                     error)
      || !sk_cmd_check_args ("manifest add", argc, 2, 2, error))
    return SK_CMD_FAILED;
  g_autofree char *name = list_name ("manifest add", argv[1], error);
  g_autoptr (SkStore) store = name ? sk_cmd_open_store (error) : NULL;
  g_autoptr (SkIndex) idx = store ? sk_store_list_load (store, name, error) : NULL;
  g_autoptr (SkStoreImage) img = idx ? lookup_loaded (store, argv[2], error) : NULL;
  SkDescriptor *d = img ? image_entry (img, opt_os, opt_arch, opt_variant, opt_annotations, error) : NULL;
  if (d == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) entries = copy_entries (idx);
  if (!add_entry (name, entries, d, error) || !save_entries (store, name, entries, error))
    return SK_CMD_FAILED;
  printf ("%s\n", img->digest);
  return 0;
}

/* ---------------------------------------------------------------- remove, rm */

static int
manifest_remove (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("manifest remove", "LIST DIGEST", "Remove an image (by digest) from a manifest list.", NULL,
                     &argc, &argv, error)
      || !sk_cmd_check_args ("manifest remove", argc, 2, 2, error))
    return SK_CMD_FAILED;
  g_autofree char *name = list_name ("manifest remove", argv[1], error);
  g_autoptr (SkStore) store = name ? sk_cmd_open_store (error) : NULL;
  g_autoptr (SkIndex) idx = store ? sk_store_list_load (store, name, error) : NULL;
  if (idx == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) entries = copy_entries (idx);
  guint before = entries->len;
  for (guint i = entries->len; i-- > 0;)
    if (g_str_equal (((SkDescriptor *) entries->pdata[i])->digest, argv[2]))
      g_ptr_array_remove_index (entries, i);
  if (entries->len == before)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "manifest list '%s' has no image '%s'", name, argv[2]),
           SK_CMD_FAILED;
  if (!save_entries (store, name, entries, error))
    return SK_CMD_FAILED;
  printf ("%s\n", argv[2]);
  return 0;
}

static int
manifest_rm (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("manifest rm", "LIST...", "Remove manifest lists (their images stay).", NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("manifest rm", argc, 1, -1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *name = list_name ("manifest rm", argv[i], error);
      if (name == NULL || !sk_store_list_remove (store, name, error))
        return SK_CMD_FAILED;
      printf ("%s\n", name);
    }
  return 0;
}

/* ---------------------------------------------------------------- inspect */

static SkRegistryCliOptions opt_registry;

static void
print_raw_json (GBytes *raw)
{
  gsize len;
  const char *data = g_bytes_get_data (raw, &len);
  json_error_t jerr;
  json_t *j = json_loadb (data, len, 0, &jerr);
  if (j)
    sk_cmd_print_json (j);
  else
    fwrite (data, 1, len, stdout);
  json_decref (j);
}

static int
manifest_inspect (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse_registry ("manifest inspect", "LIST | REF",
                              "Show a manifest list of the store, else the manifest or index REF\n"
                              "names in its registry, as JSON.",
                              NULL, &opt_registry, SK_REGISTRY_CLI_ALL, &argc, &argv, error)
      || !sk_cmd_check_args ("manifest inspect", argc, 1, 1, error))
    return SK_CMD_FAILED;
  g_autofree char *name = list_name ("manifest inspect", argv[1], error);
  g_autoptr (SkStore) store = name ? sk_cmd_open_store (error) : NULL;
  if (store == NULL)
    return SK_CMD_FAILED;
  if (sk_store_list_exists (store, name))
    {
      g_autoptr (SkIndex) idx = sk_store_list_load (store, name, error);
      if (idx == NULL)
        return SK_CMD_FAILED;
      print_raw_json (idx->raw);
      return 0;
    }
  g_autofree char *expanded = sk_reference_expand_arch (argv[1]);
  g_autoptr (SkReference) ref = sk_reference_parse (expanded, error);
  if (ref == NULL)
    return SK_CMD_FAILED;
  if (ref->kind != SK_REFERENCE_REGISTRY)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "manifest list '%s' not found", name), SK_CMD_FAILED;
  SkRegistryOptions ropts = { .tls_verify = opt_registry.tls_verify, .cert_dir = opt_registry.cert_dir,
                              .authfile = opt_registry.authfile };
  g_autoptr (SkRegistryClient) client = sk_registry_client_new (ref->domain, &ropts, error);
  g_autoptr (GBytes) raw = NULL;
  g_autofree char *type = NULL, *digest = NULL;
  if (client == NULL
      || !sk_registry_get_manifest (client, ref->path, ref->digest ? ref->digest : ref->tag, &raw, &type, &digest,
                                    error))
    return g_prefix_error (error, "manifest inspect '%s': ", name), SK_CMD_FAILED;
  print_raw_json (raw);
  return 0;
}

/* ---------------------------------------------------------------- dispatch */

static const struct {
  const char *name;
  SkCmdFn fn;
  const char *summary;
} subcommands[] = {
  { "create", manifest_create, "Create a manifest list of stored images" },
  { "add", manifest_add, "Add a stored image to a manifest list" },
  { "remove", manifest_remove, "Remove an image from a manifest list" },
  { "inspect", manifest_inspect, "Show a manifest list, or a registry's manifest or index" },
  { "push", sk_cmd_manifest_push, "Push a manifest list and its images as an OCI image index" },
  { "rm", manifest_rm, "Remove manifest lists" },
};

int
sk_cmd_manifest (int argc, char **argv, GError **error)
{
  for (gsize i = 0; argc >= 2 && i < G_N_ELEMENTS (subcommands); i++)
    if (g_str_equal (argv[1], subcommands[i].name))
      return subcommands[i].fn (argc - 1, argv + 1, error);
  if (argc >= 2 && (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")))
    {
      printf ("Usage:\n  skiff manifest COMMAND\n\nAssemble multi-architecture images: manifest lists of stored "
              "images,\npushed as an OCI image index.\n\nCommands:\n");
      for (gsize i = 0; i < G_N_ELEMENTS (subcommands); i++)
        printf ("  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
      return 0;
    }
  g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
               "manifest: expected a subcommand: create, add, remove, inspect, push or rm (see 'skiff manifest --help')");
  return SK_CMD_FAILED;
}
