/* skiff rmi — remove images (or just names of them). */
#include "cmd/cmd.h"
#include "store/list.h"
#include "common/error.h"
#include "oci/digest.h"
#include "runner/vm.h"

#include <stdio.h>

static gboolean opt_force;

static GOptionEntry entries[] = {
  { "force", 'f', 0, G_OPTION_ARG_NONE, &opt_force, "Remove names even of images VMs use (the image stays "
    "until they are gone)", NULL },
  { NULL },
};

/* "VM 'web' (1a2b3c4d5e6f)" for the first holder of @img. */
static char *
describe_holder (SkStore *store, SkStoreImage *img)
{
  g_autoptr (GPtrArray) holders = sk_store_holders (store, img->digest);
  if (holders->len == 0)
    return NULL;
  g_autofree char *list = sk_store_list_of_holder (holders->pdata[0]);
  if (list)
    return g_strdup_printf ("manifest list '%s'", list);
  g_autoptr (SkVm) vm = sk_vm_load (sk_globals.root, holders->pdata[0], NULL);
  return g_strdup_printf ("VM '%s' (%.12s)", vm ? vm->name : "?", (char *) holders->pdata[0]);
}

static gboolean
refuse_if_held (SkStore *store, SkStoreImage *img, const char *name, GError **error)
{
  g_autofree char *who = describe_holder (store, img);
  if (who == NULL || opt_force)
    return TRUE;
  return g_set_error (error, SK_ERROR, SK_ERROR_BUSY,
                      "image '%s' is in use by %s: remove that first, or use --force to remove only the name",
                      name, who), FALSE;
}

static gboolean
remove_one (SkStore *store, const char *name, GError **error)
{
  g_autoptr (SkStoreImage) img = sk_cmd_lookup_image (store, name, error);
  if (img == NULL)
    return FALSE;
  g_autofree char *full = sk_cmd_normalize_name (name, NULL);
  gboolean by_tag = FALSE;
  for (guint i = 0; full && i < img->tags->len; i++)
    by_tag |= g_str_equal (img->tags->pdata[i], full);
  /* The last name of a held image, or the image itself: ask for --force. */
  if ((!by_tag || img->tags->len == 1) && !refuse_if_held (store, img, name, error))
    return FALSE;
  if (by_tag)
    {
      gboolean removed = FALSE;
      if (!sk_store_untag (store, full, &removed, error))
        return FALSE;
      g_autofree char *repo = NULL, *tag = NULL;
      sk_cmd_split_familiar (full, &repo, &tag);
      printf ("Untagged: %s:%s\n", repo, tag);
      if (removed)
        printf ("Deleted: %s\n", img->digest);
      return TRUE;
    }
  g_autoptr (GPtrArray) holders = sk_store_holders (store, img->digest);
  for (guint i = 0; i < img->tags->len; i++)
    {
      if (!sk_store_untag (store, img->tags->pdata[i], NULL, error))
        return FALSE;
      g_autofree char *repo = NULL, *tag = NULL;
      sk_cmd_split_familiar (img->tags->pdata[i], &repo, &tag);
      printf ("Untagged: %s:%s\n", repo, tag);
    }
  if (holders->len == 0)
    {
      if (!sk_store_remove_image (store, img->digest, error) && !g_error_matches (*error, SK_ERROR, SK_ERROR_NOT_FOUND))
        return FALSE;
      g_clear_error (error);
      printf ("Deleted: %s\n", img->digest);
    }
  return TRUE;
}

int
sk_cmd_rmi (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("rmi", "IMAGE...",
                     "Remove images. Naming an image by one of its tags removes that tag, and\n"
                     "the image with its last tag; naming it by id removes all its tags.\n"
                     "Layers are freed by 'skiff prune', except those other images (children\n"
                     "made by commit) still build on: removing a base removes only its name.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("rmi", argc, 1, -1, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  int status = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) local = NULL;
      if (!remove_one (store, argv[i], &local))
        {
          fprintf (stderr, "skiff: rmi '%s': %s\n", argv[i], local->message);
          status = 1;
        }
    }
  return status;
}
