/* skiff — content digests ("sha256:<64 hex>", "sha512:<128 hex>"). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  SK_DIGEST_SHA256,
  SK_DIGEST_SHA512,
} SkDigestAlgorithm;

/* Checks that @digest is "<alg>:<hex>" with a known algorithm and exactly
 * the right number of lowercase hex digits.  Fails with
 * SK_ERROR_INVALID_DATA ("invalid digest '...': why"). */
gboolean sk_digest_validate (const char *digest, SkDigestAlgorithm *out_alg, GError **error);

/* The hex part of a valid digest (points into @digest). */
const char *sk_digest_hex (const char *digest);

/* Algorithm name as used in digests and blob paths ("sha256"). */
const char *sk_digest_algorithm_name (SkDigestAlgorithm alg);

/* Streaming computation through OpenSSL EVP. */
typedef struct _SkHasher SkHasher;
SkHasher *sk_hasher_new (SkDigestAlgorithm alg);
void sk_hasher_update (SkHasher *h, const void *data, gsize len);
/* Returns the "<alg>:<hex>" digest; the hasher cannot be updated after. */
char *sk_hasher_finish (SkHasher *h);
guint64 sk_hasher_bytes (SkHasher *h);
void sk_hasher_free (SkHasher *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkHasher, sk_hasher_free)

/* Digest of a buffer. */
char *sk_digest_bytes (SkDigestAlgorithm alg, const void *data, gsize len);

/* Digest of everything read from @fd (from its current offset to EOF),
 * streaming; @out_size gets the byte count (may be NULL). */
char *sk_digest_fd (SkDigestAlgorithm alg, int fd, guint64 *out_size, GError **error);
char *sk_digest_file (SkDigestAlgorithm alg, const char *path, guint64 *out_size, GError **error);

/* Verifies @data against @expected (any supported algorithm); fails with
 * SK_ERROR_DIGEST_MISMATCH naming both digests. */
gboolean sk_digest_verify_bytes (const char *expected, const void *data, gsize len, GError **error);

/* Verifies a file's digest and, when @expected_size >= 0, its size. */
gboolean sk_digest_verify_file (const char *expected, gint64 expected_size, const char *path, GError **error);

G_END_DECLS
