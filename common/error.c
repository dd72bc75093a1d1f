#include "common/error.h"

#include <errno.h>
#include <string.h>

G_DEFINE_QUARK (sk-error-quark, sk_error)

gboolean
sk_error_from_errno (GError **error, int errsv, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  int code = errsv == ENOENT ? SK_ERROR_NOT_FOUND
           : errsv == EEXIST ? SK_ERROR_EXISTS
           : errsv == EBUSY || errsv == EWOULDBLOCK ? SK_ERROR_BUSY
           : SK_ERROR_FAILED;
  g_set_error (error, SK_ERROR, code, "%s: %s", what, g_strerror (errsv));
  return FALSE;
}

int
sk_error_exit_status (const GError *error)
{
  if (error == NULL)
    return 0;
  if (error->domain == G_OPTION_ERROR)
    return 2;
  if (error->domain == SK_ERROR
      && (error->code == SK_ERROR_USAGE || error->code == SK_ERROR_INVALID_REFERENCE))
    return 2;
  return 1;
}
