/* skiff — deterministic compression of disk layers (see compress.h). */
#include "registry/compress.h"
#include "common/error.h"
#include "common/util.h"
#include "oci/digest.h"
#include "oci/mediatypes.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_CHUNK (1024 * 1024)
#define ZSTD_LEVEL 3
#define ZSTD_WORKERS 2
#define GZIP_LEVEL 6

static const struct {
  SkCompression c;
  const char *name;
  const char *media_type;
} kinds[] = {
  { SK_COMPRESSION_NONE, "none", SK_MEDIA_TYPE_DISK_QCOW2 },
  { SK_COMPRESSION_GZIP, "gzip", SK_MEDIA_TYPE_DISK_QCOW2_GZIP },
  { SK_COMPRESSION_ZSTD, "zstd", SK_MEDIA_TYPE_DISK_QCOW2_ZSTD },
};

gboolean
sk_compression_parse (const char *name, SkCompression *out, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (name, kinds[i].name) == 0)
      return *out = kinds[i].c, TRUE;
  return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "unknown compression '%s' (expected zstd, gzip or none)",
                      name ? name : ""), FALSE;
}

const char *
sk_compression_name (SkCompression c)
{
  return kinds[c].name;
}

gboolean
sk_compression_of_media_type (const char *media_type, SkCompression *out)
{
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (media_type, kinds[i].media_type) == 0)
      return *out = kinds[i].c, TRUE;
  return FALSE;
}

const char *
sk_compression_media_type (SkCompression c)
{
  return kinds[c].media_type;
}

/* Where compressed bytes go: the file and the hash of what it holds. */
typedef struct {
  int fd;
  SkHasher *hasher;
  SkCompressProgress progress; /* may be NULL */
  gpointer progress_data;
} Sink;

static gboolean
sink_write (Sink *s, const void *data, gsize len, GError **error)
{
  if (len == 0)
    return TRUE;
  if (!sk_write_all (s->fd, data, len))
    return sk_error_from_errno (error, errno, "writing the compressed layer");
  sk_hasher_update (s->hasher, data, len);
  if (s->progress && !s->progress (sk_hasher_bytes (s->hasher), s->progress_data))
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "compression stopped"), FALSE;
  return TRUE;
}

/* Reads up to @len bytes; 0 at the end, -1 with @error. */
static gssize
read_some (int fd, void *buf, gsize len, GError **error)
{
  for (;;)
    {
      gssize n = read (fd, buf, len);
      if (n >= 0)
        return n;
      if (errno != EINTR)
        return sk_error_from_errno (error, errno, "reading the layer"), -1;
    }
}

static gboolean
zstd_failed (GError **error, size_t r, const char *what)
{
  return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "zstd: %s: %s", what, ZSTD_getErrorName (r)), FALSE;
}

static gboolean
compress_zstd (int in_fd, guint64 in_size, Sink *sink, GError **error)
{
  ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  if (cctx == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "zstd: out of memory"), FALSE;
  gboolean ok = FALSE;
  gsize out_cap = ZSTD_CStreamOutSize ();
  g_autofree guint8 *in = g_malloc (IN_CHUNK);
  g_autofree guint8 *out = g_malloc (out_cap);
  size_t r;
  if (ZSTD_isError (r = ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL))
      || ZSTD_isError (r = ZSTD_CCtx_setParameter (cctx, ZSTD_c_checksumFlag, 0))
      || ZSTD_isError (r = ZSTD_CCtx_setParameter (cctx, ZSTD_c_contentSizeFlag, 1))
      || ZSTD_isError (r = ZSTD_CCtx_setPledgedSrcSize (cctx, in_size)))
    {
      zstd_failed (error, r, "setting parameters");
      goto out;
    }
  /* without multi-threading support in libzstd this fails, and the output
   * would differ: refuse rather than make other bytes silently */
  if (ZSTD_isError (r = ZSTD_CCtx_setParameter (cctx, ZSTD_c_nbWorkers, ZSTD_WORKERS)))
    {
      zstd_failed (error, r, "two worker threads");
      goto out;
    }
  for (gboolean last = FALSE; !last;)
    {
      gssize n = read_some (in_fd, in, IN_CHUNK, error);
      if (n < 0)
        goto out;
      last = n == 0;
      ZSTD_inBuffer ib = { in, (size_t) n, 0 };
      ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
      gboolean done;
      do
        {
          ZSTD_outBuffer ob = { out, out_cap, 0 };
          r = ZSTD_compressStream2 (cctx, &ob, &ib, mode);
          if (ZSTD_isError (r))
            {
              zstd_failed (error, r, "compressing");
              goto out;
            }
          if (!sink_write (sink, out, ob.pos, error))
            goto out;
          done = last ? r == 0 : ib.pos == ib.size;
        }
      while (!done);
    }
  ok = TRUE;
out:
  ZSTD_freeCCtx (cctx);
  return ok;
}

static gboolean
compress_gzip (int in_fd, Sink *sink, GError **error)
{
  z_stream z = { 0 };
  /* 16 + 15: a gzip wrapper around a 32 KiB window */
  if (deflateInit2 (&z, GZIP_LEVEL, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "zlib: cannot start deflate"), FALSE;
  gz_header header = { .time = 0, .os = 255 };
  gboolean ok = FALSE;
  g_autofree guint8 *in = g_malloc (IN_CHUNK);
  g_autofree guint8 *out = g_malloc (IN_CHUNK);
  if (deflateSetHeader (&z, &header) != Z_OK)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "zlib: cannot set the gzip header");
      goto out;
    }
  for (int flush = Z_NO_FLUSH; flush != Z_FINISH;)
    {
      gssize n = read_some (in_fd, in, IN_CHUNK, error);
      if (n < 0)
        goto out;
      flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
      z.next_in = in;
      z.avail_in = (uInt) n;
      int r;
      do
        {
          z.next_out = out;
          z.avail_out = IN_CHUNK;
          r = deflate (&z, flush);
          if (r == Z_STREAM_ERROR)
            {
              g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "zlib: deflate failed");
              goto out;
            }
          if (!sink_write (sink, out, IN_CHUNK - z.avail_out, error))
            goto out;
        }
      while (z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
    }
  ok = TRUE;
out:
  deflateEnd (&z);
  return ok;
}

gboolean
sk_compress_fd (int in_fd, SkCompression c, int out_fd, char **out_digest, guint64 *out_size, GError **error)
{
  return sk_compress_fd_progress (in_fd, c, out_fd, NULL, NULL, out_digest, out_size, error);
}

gboolean
sk_compress_fd_progress (int in_fd, SkCompression c, int out_fd, SkCompressProgress progress, gpointer progress_data,
                         char **out_digest, guint64 *out_size, GError **error)
{
  g_return_val_if_fail (c != SK_COMPRESSION_NONE, FALSE);
  struct stat st;
  if (fstat (in_fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading the layer");
  off_t at = lseek (in_fd, 0, SEEK_CUR);
  if (at < 0)
    return sk_error_from_errno (error, errno, "reading the layer");
  g_autoptr (SkHasher) hasher = sk_hasher_new (SK_DIGEST_SHA256);
  Sink sink = { .fd = out_fd, .hasher = hasher, .progress = progress, .progress_data = progress_data };
  gboolean ok = c == SK_COMPRESSION_ZSTD ? compress_zstd (in_fd, (guint64) (st.st_size - at), &sink, error)
                                         : compress_gzip (in_fd, &sink, error);
  if (!ok)
    return FALSE;
  *out_size = sk_hasher_bytes (hasher);
  *out_digest = sk_hasher_finish (hasher);
  return TRUE;
}
