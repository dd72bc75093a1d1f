#include "oci/digest.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

struct _SkHasher {
  SkDigestAlgorithm alg;
  EVP_MD_CTX *ctx;
  guint64 bytes;
};

static const struct {
  const char *name;
  guint hexlen;
} algs[] = {
  [SK_DIGEST_SHA256] = { "sha256", 64 },
  [SK_DIGEST_SHA512] = { "sha512", 128 },
};

const char *
sk_digest_algorithm_name (SkDigestAlgorithm alg)
{
  return algs[alg].name;
}

gboolean
sk_digest_validate (const char *digest, SkDigestAlgorithm *out_alg, GError **error)
{
  if (digest == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "invalid digest: missing"), FALSE;
  const char *colon = strchr (digest, ':');
  if (colon == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                        "invalid digest '%s': no algorithm prefix", digest), FALSE;
  gsize alen = colon - digest;
  for (guint i = 0; i < G_N_ELEMENTS (algs); i++)
    {
      if (strlen (algs[i].name) != alen || strncmp (digest, algs[i].name, alen) != 0)
        continue;
      const char *hex = colon + 1;
      gsize n = strlen (hex);
      if (n != algs[i].hexlen)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                            "invalid digest '%s': %s needs %u hex digits, not %zu", digest,
                            algs[i].name, algs[i].hexlen, n), FALSE;
      for (const char *p = hex; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
          return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                              "invalid digest '%s': not lowercase hex", digest), FALSE;
      if (out_alg)
        *out_alg = i;
      return TRUE;
    }
  g_autofree char *alg = g_strndup (digest, alen);
  return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED,
                      "invalid digest '%s': unsupported algorithm '%s'", digest, alg), FALSE;
}

const char *
sk_digest_hex (const char *digest)
{
  const char *colon = strchr (digest, ':');
  return colon ? colon + 1 : digest;
}

SkHasher *
sk_hasher_new (SkDigestAlgorithm alg)
{
  SkHasher *h = g_new0 (SkHasher, 1);
  h->alg = alg;
  h->ctx = EVP_MD_CTX_new ();
  const EVP_MD *md = alg == SK_DIGEST_SHA512 ? EVP_sha512 () : EVP_sha256 ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, md, NULL) != 1)
    g_error ("OpenSSL: cannot initialise %s", algs[alg].name);
  return h;
}

void
sk_hasher_update (SkHasher *h, const void *data, gsize len)
{
  if (len == 0)
    return;
  EVP_DigestUpdate (h->ctx, data, len);
  h->bytes += len;
}

guint64
sk_hasher_bytes (SkHasher *h)
{
  return h->bytes;
}

char *
sk_hasher_finish (SkHasher *h)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_DigestFinal_ex (h->ctx, md, &mdlen);
  GString *s = g_string_sized_new (8 + 2 * mdlen);
  g_string_append_printf (s, "%s:", algs[h->alg].name);
  for (unsigned int i = 0; i < mdlen; i++)
    g_string_append_printf (s, "%02x", md[i]);
  return g_string_free (s, FALSE);
}

void
sk_hasher_free (SkHasher *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  g_free (h);
}

char *
sk_digest_bytes (SkDigestAlgorithm alg, const void *data, gsize len)
{
  g_autoptr (SkHasher) h = sk_hasher_new (alg);
  sk_hasher_update (h, data, len);
  return sk_hasher_finish (h);
}

char *
sk_digest_fd (SkDigestAlgorithm alg, int fd, guint64 *out_size, GError **error)
{
  g_autoptr (SkHasher) h = sk_hasher_new (alg);
  gsize bufsize = 1 << 20;
  g_autofree guint8 *buf = g_malloc (bufsize);
  for (;;)
    {
      ssize_t n = read (fd, buf, bufsize);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "reading"), NULL;
      if (n == 0)
        break;
      sk_hasher_update (h, buf, n);
    }
  if (out_size)
    *out_size = sk_hasher_bytes (h);
  return sk_hasher_finish (h);
}

char *
sk_digest_file (SkDigestAlgorithm alg, const char *path, guint64 *out_size, GError **error)
{
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path), NULL;
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  char *d = sk_digest_fd (alg, fd, out_size, error);
  if (d == NULL)
    g_prefix_error (error, "'%s': ", path);
  return d;
}

gboolean
sk_digest_verify_bytes (const char *expected, const void *data, gsize len, GError **error)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (expected, &alg, error))
    return FALSE;
  g_autofree char *got = sk_digest_bytes (alg, data, len);
  if (!g_str_equal (got, expected))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "digest mismatch: expected '%s', got '%s'", expected, got), FALSE;
  return TRUE;
}

gboolean
sk_digest_verify_file (const char *expected, gint64 expected_size, const char *path, GError **error)
{
  SkDigestAlgorithm alg;
  if (!sk_digest_validate (expected, &alg, error))
    return FALSE;
  guint64 size = 0;
  g_autofree char *got = sk_digest_file (alg, path, &size, error);
  if (got == NULL)
    return FALSE;
  if (expected_size >= 0 && size != (guint64) expected_size)
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "size mismatch for '%s': expected %" G_GINT64_FORMAT " bytes, got %" G_GUINT64_FORMAT,
                        expected, expected_size, size), FALSE;
  if (!g_str_equal (got, expected))
    return g_set_error (error, SK_ERROR, SK_ERROR_DIGEST_MISMATCH,
                        "digest mismatch: expected '%s', got '%s'", expected, got), FALSE;
  return TRUE;
}
