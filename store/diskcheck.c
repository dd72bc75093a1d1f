/* skiff — disks from outside: format detection, validation, conversion.
 *
 * The format comes from the bytes (store/diskfmt), never from qemu's
 * guess; a qcow2 passes skiff's own header parser before qemu-img sees it
 * (store/qcow2); anything else is converted only when it names no other
 * file, and the conversion is validated like any qcow2. */
#include "store/diskcheck.h"
#include "common/error.h"
#include "common/log.h"
#include "store/diskfmt.h"
#include "store/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

char *
sk_diskcheck_prepare (const char *disk, const char *scratch_dir, char **out_scratch, guint64 *out_virtual_size,
                      GError **error)
{
  SkDiskFormat fmt;
  g_auto (SkQcow2Info) info = { 0 };
  if (!sk_diskfmt_detect (disk, &fmt, error))
    return NULL;
  if (fmt == SK_DISK_FORMAT_QCOW2)
    {
      if (!sk_qcow2_verify (disk, NULL, &info, error))
        return NULL;
      *out_scratch = NULL;
      *out_virtual_size = info.virtual_size;
      return g_strdup (disk);
    }
  g_autofree char *dst = g_strdup_printf ("%s/import-%d-XXXXXX.qcow2", scratch_dir, getpid ());
  int fd = g_mkstemp_full (dst, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", dst), NULL;
  close (fd);
  sk_debug ("converting %s disk '%s'", sk_diskfmt_name (fmt), disk);
  if (!sk_diskfmt_convert (fmt, disk, dst, error) || !sk_qcow2_verify (dst, NULL, &info, error))
    {
      (void) unlink (dst);
      return NULL;
    }
  *out_scratch = g_strdup (dst);
  *out_virtual_size = info.virtual_size;
  return g_steal_pointer (&dst);
}
