/* skiff — libarchive's errors as GErrors.  A file of its own so programs
 * that never read archives (skiff-monitor) link no libarchive. */
#include "common/error.h"

#include <archive.h>

gboolean
sk_error_from_archive (GError **error, void *a, const char *what)
{
  const char *msg = archive_error_string (a);
  g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "%s: %s", what, msg ? msg : "unknown libarchive error");
  return FALSE;
}
