/* skiff — the NoCloud seed ISO, written with libarchive's ISO9660 writer. */
#include "runner/seed.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Options libarchive 3.6.2 accepts (allow-lowercase, relaxed-filenames,
 * uid and gid are rejected there); Rock Ridge keeps names lowercase. */
static const char *const iso_options[][2] = {
  { "volume-id", "cidata" },
  { "rockridge", "useful" },
  { "joliet", "1" },
  { "iso-level", "2" },
  { "pad", NULL },
};

static gboolean
set_options (struct archive *a, GError **error)
{
  if (archive_write_set_format_iso9660 (a) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "iso9660 writer");
  for (gsize i = 0; i < G_N_ELEMENTS (iso_options); i++)
    {
      const char *key = iso_options[i][0];
      const char *value = iso_options[i][1];
      if (archive_write_set_format_option (a, "iso9660", key, value) != ARCHIVE_OK)
        return sk_error_from_archive (error, a, value ? "setting iso9660 option" : "clearing iso9660 option");
    }
  return TRUE;
}

static gboolean
add_file (struct archive *a, const char *name, const char *content, time_t now, GError **error)
{
  gsize len = strlen (content);
  struct archive_entry *entry = archive_entry_new ();
  archive_entry_set_pathname (entry, name);
  archive_entry_set_filetype (entry, AE_IFREG);
  archive_entry_set_perm (entry, 0444);
  archive_entry_set_size (entry, len);
  archive_entry_set_mtime (entry, now, 0);
  int r = archive_write_header (a, entry);
  archive_entry_free (entry);
  if (r != ARCHIVE_OK)
    return sk_error_from_archive (error, a, name);
  if (len > 0 && archive_write_data (a, content, len) != (la_ssize_t) len)
    return sk_error_from_archive (error, a, name);
  return TRUE;
}

static gboolean
write_archive (int fd, const SkSeedFiles *files, GError **error)
{
  g_autoptr (SkArchive) a = archive_write_new ();
  if (!set_options (a, error))
    return FALSE;
  if (archive_write_open_fd (a, fd) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "opening");
  time_t now = time (NULL);
  const struct {
    const char *name, *content;
  } entries[] = {
    { "meta-data", files->meta_data },
    { "user-data", files->user_data },
    { "network-config", files->network_config },
    { "vendor-data", files->vendor_data },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    if (entries[i].content != NULL && !add_file (a, entries[i].name, entries[i].content, now, error))
      return FALSE;
  if (archive_write_close (a) != ARCHIVE_OK)
    return sk_error_from_archive (error, a, "finishing");
  return TRUE;
}

gboolean
sk_seed_write_iso (const char *path, const SkSeedFiles *files, GError **error)
{
  if (files->meta_data == NULL || files->user_data == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "writing seed '%s': meta-data and user-data are required", path), FALSE;
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-XXXXXX", path);
  /* user-data carries the guest's private host key. */
  sk_autofd int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", tmp);
  if (!write_archive (fd, files, error))
    {
      unlink (tmp);
      return g_prefix_error (error, "writing seed '%s': ", path), FALSE;
    }
  if (rename (tmp, path) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      return sk_error_from_errno (error, errsv, "writing seed '%s'", path);
    }
  return TRUE;
}
