/* skiff — deterministic compression of disk layers for pushing.
 *
 * The same layer always compresses to the same bytes (fixed parameters,
 * no timestamps, no names), so a repeated push finds the blob it made
 * last time and uploads nothing.  zstd: level 3, checksum off, the content
 * size written, two worker threads (libzstd's multi-threaded output does
 * not depend on the number of workers, but differs from single-threaded
 * output, so the count is fixed rather than taken from the machine).
 * gzip: zlib level 6, a header with mtime 0, no name, OS "unknown" (255).
 * Different libzstd or zlib versions may compress differently: the blob
 * cache (registry/blob-cache.h) records what this machine made, and the
 * registry's HEAD is the judge. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  SK_COMPRESSION_NONE,
  SK_COMPRESSION_GZIP,
  SK_COMPRESSION_ZSTD,
} SkCompression;

/* "none", "gzip", "zstd"; SK_ERROR_USAGE otherwise. */
gboolean sk_compression_parse (const char *name, SkCompression *out, GError **error);
const char *sk_compression_name (SkCompression c);

/* The compression of a skiff disk layer's media type; FALSE when
 * @media_type is not a disk layer type. */
gboolean sk_compression_of_media_type (const char *media_type, SkCompression *out);

/* The disk layer media type for @c. */
const char *sk_compression_media_type (SkCompression c);

/* Streams @in_fd from its current offset to its end through @c (not
 * NONE) into @out_fd, hashing what it writes: *@out_digest
 * ("sha256:<hex>") and *@out_size describe the compressed bytes.  Never
 * holds more than a few MiB. */
gboolean sk_compress_fd (int in_fd, SkCompression c, int out_fd, char **out_digest, guint64 *out_size,
                         GError **error);

/* Told after each write that @out_fd holds @written compressed bytes
 * (final ones: a reader may send them on); FALSE stops the compression,
 * which then fails. */
typedef gboolean (*SkCompressProgress) (guint64 written, gpointer user_data);

/* sk_compress_fd, telling @progress (may be NULL) as it writes. */
gboolean sk_compress_fd_progress (int in_fd, SkCompression c, int out_fd, SkCompressProgress progress,
                                  gpointer progress_data, char **out_digest, guint64 *out_size, GError **error);

G_END_DECLS
