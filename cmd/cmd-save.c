/* skiff save — images as an OCI image layout tar (skopeo's oci-archive:). */
#include "cmd/cmd.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "registry/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char *opt_output;

static GOptionEntry entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Write to FILE (default: standard output, unless it "
    "is a terminal)", "FILE" },
  { NULL },
};

/* The name to record for @img as the user named it: that tag, else its
 * first tag, else none. */
static char *
record_name (SkStoreImage *img, const char *arg)
{
  g_autofree char *full = sk_cmd_normalize_name (arg, NULL);
  for (guint i = 0; full && i < img->tags->len; i++)
    if (g_str_equal (img->tags->pdata[i], full))
      return g_steal_pointer (&full);
  return img->tags->len ? g_strdup (img->tags->pdata[0]) : NULL;
}

static gboolean
save_to (SkStore *store, GPtrArray *images, GStrv names, GError **error)
{
  if (opt_output == NULL)
    return sk_archive_save (store, images, (const char *const *) names, STDOUT_FILENO, error);
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-%d", opt_output, getpid ());
  sk_autofd int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", tmp);
  if (!sk_archive_save (store, images, (const char *const *) names, fd, error) || fsync (fd) < 0
      || rename (tmp, opt_output) < 0)
    {
      if (error && *error == NULL)
        sk_error_from_errno (error, errno, "writing '%s'", opt_output);
      (void) unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

int
sk_cmd_save (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("save", "IMAGE... [-o FILE]",
                     "Write images as one OCI image layout tar, with their digests unchanged,\n"
                     "readable by 'skiff load' and 'skopeo copy oci-archive:FILE ...'.\n"
                     "The store keeps layers uncompressed: a layer pulled compressed is\n"
                     "compressed again the same way, which keeps the digest when skiff made\n"
                     "the original (skiff push) and changes it otherwise.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("save", argc, 1, -1, error))
    return SK_CMD_FAILED;
  if (opt_output == NULL && isatty (STDOUT_FILENO))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "save: refusing to write an archive to a terminal: use -o FILE or a pipe"), SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_store_image_free);
  g_auto (GStrv) names = g_new0 (char *, argc);
  for (int i = 1; i < argc; i++)
    {
      SkStoreImage *img = sk_cmd_lookup_image (store, argv[i], error);
      if (img == NULL)
        return SK_CMD_FAILED;
      g_ptr_array_add (images, img);
      if (img->manifest == NULL && !sk_store_image_load (store, img, error))
        return SK_CMD_FAILED;
      names[i - 1] = record_name (img, argv[i]);
    }
  if (!save_to (store, images, names, error))
    {
      g_prefix_error (error, "saving to '%s': ", opt_output ? opt_output : "standard output");
      return SK_CMD_FAILED;
    }
  return 0;
}
