/* skiff — one error domain for the cases callers branch on.
 *
 * Every fallible function takes a GError **; foreign error sources (curl,
 * jansson, libarchive, OpenSSL, errno) are converted in exactly one helper
 * each, declared here or beside the module that owns the source. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SK_ERROR (sk_error_quark ())
GQuark sk_error_quark (void);

typedef enum {
  SK_ERROR_FAILED,            /* anything without a better code */
  SK_ERROR_USAGE,             /* bad command line: exit status 2 */
  SK_ERROR_INVALID_REFERENCE, /* exit status 2 as well */
  SK_ERROR_NOT_FOUND,
  SK_ERROR_EXISTS,
  SK_ERROR_UNAUTHORIZED,
  SK_ERROR_DIGEST_MISMATCH,
  SK_ERROR_INVALID_IMAGE,     /* manifest/config/layer/qcow2 refused */
  SK_ERROR_INVALID_DATA,      /* malformed JSON, truncated stream */
  SK_ERROR_UNSUPPORTED,
  SK_ERROR_CHILD_FAILED,      /* a helper program failed */
  SK_ERROR_BUSY,              /* locked or in use */
  SK_ERROR_TRANSIENT,         /* worth retrying: 5xx, reset, 429 */
  SK_ERROR_NOT_SKIFF_IMAGE,   /* a regular container image where a skiff image was expected */
} SkErrorCode;

/* Sets @error from errno with "what: strerror" wording. Always returns FALSE. */
gboolean sk_error_from_errno (GError **error, int errsv, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* Sets @error (SK_ERROR_INVALID_DATA) to "what: <libarchive's message>"
 * for the archive @a (a struct archive *).  Always returns FALSE. */
gboolean sk_error_from_archive (GError **error, void *a, const char *what);

/* The process exit status docker would use for @error: 2 for usage errors
 * and invalid references, 1 otherwise. */
int sk_error_exit_status (const GError *error);

G_END_DECLS
