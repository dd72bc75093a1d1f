/* skiff — writing an empty qcow2 v3 overlay in-process (the layout of
 * docs/interop/qcow2.txt that `qemu-img create` uses), so a VM's disk
 * costs no helper process. */
#include "store/qcow2.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define CLUSTER_BITS 16
#define CLUSTER_SIZE (G_GUINT64_CONSTANT (1) << CLUSTER_BITS)
#define REFCOUNT_ORDER 4           /* 16-bit refcounts */
#define HEADER_LENGTH 112          /* v3 fields + compression type, padded to 8 */
#define L2_COVERAGE (CLUSTER_SIZE * (CLUSTER_SIZE / 8)) /* bytes one L2 table maps */

/* Cluster 0 header, 1 refcount table, 2 refcount block, 3... L1 table. */
#define REFTABLE_OFFSET (1 * CLUSTER_SIZE)
#define REFBLOCK_OFFSET (2 * CLUSTER_SIZE)
#define L1_OFFSET (3 * CLUSTER_SIZE)

static void
put_be16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8, p[1] = v;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static void
put_be64 (guint8 *p, guint64 v)
{
  put_be32 (p, v >> 32);
  put_be32 (p + 4, v);
}

/* The fixed header, the backing-format extension, the end marker and the
 * backing file name, into the zeroed cluster @b. */
static void
write_header (guint8 *b, const char *backing_file, guint64 size, guint32 l1_size)
{
  gsize name_len = strlen (backing_file);
  guint64 ext = HEADER_LENGTH;
  guint64 name_off = ext + 8 + 8 /* "qcow2" padded to 8 */ + 8 /* end */;
  memcpy (b, SK_QCOW2_MAGIC, 4);
  put_be32 (b + 4, 3);                   /* version */
  put_be64 (b + 8, name_off);            /* backing_file_offset */
  put_be32 (b + 16, name_len);           /* backing_file_size */
  put_be32 (b + 20, CLUSTER_BITS);
  put_be64 (b + 24, size);
  put_be32 (b + 32, 0);                  /* crypt_method */
  put_be32 (b + 36, l1_size);
  put_be64 (b + 40, L1_OFFSET);
  put_be64 (b + 48, REFTABLE_OFFSET);
  put_be32 (b + 56, 1);                  /* refcount_table_clusters */
  /* 60 nb_snapshots, 64 snapshots_offset, 72 incompatible, 80 compatible,
   * 88 autoclear features: all zero */
  put_be32 (b + 96, REFCOUNT_ORDER);
  put_be32 (b + 100, HEADER_LENGTH);
  /* 104: compression type zlib (0) and padding */
  put_be32 (b + ext, SK_QCOW2_EXT_BACKING_FORMAT);
  put_be32 (b + ext + 4, 5);
  memcpy (b + ext + 8, "qcow2", 5);
  /* then SK_QCOW2_EXT_END: eight zero bytes */
  memcpy (b + name_off, backing_file, name_len);
}

GBytes *
sk_qcow2_build_overlay (const char *backing_file, guint64 virtual_size, GError **error)
{
  gsize name_len = backing_file ? strlen (backing_file) : 0;
  if (name_len == 0 || name_len > SK_QCOW2_MAX_BACKING_NAME)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "backing file name of %zu bytes: expected 1..%d",
                        name_len, SK_QCOW2_MAX_BACKING_NAME), NULL;
  if (virtual_size == 0 || virtual_size > SK_QCOW2_MAX_VIRTUAL_SIZE)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "disk size %" G_GUINT64_FORMAT " out of range: at most 64 TiB", virtual_size), NULL;
  guint64 size = (virtual_size + 511) & ~G_GUINT64_CONSTANT (511);
  guint32 l1_size = (size + L2_COVERAGE - 1) / L2_COVERAGE;
  guint64 l1_clusters = ((guint64) l1_size * 8 + CLUSTER_SIZE - 1) / CLUSTER_SIZE;
  /* The file ends with the L1 table, as qemu-img writes it. */
  gsize file_size = L1_OFFSET + (gsize) l1_size * 8;
  guint8 *b = g_malloc0 (file_size);
  write_header (b, backing_file, size, l1_size);
  put_be64 (b + REFTABLE_OFFSET, REFBLOCK_OFFSET);
  /* Every cluster in use has refcount 1: header, tables, L1 (all of them
   * fit in one refcount block: 32768 entries, at most 19 used). */
  for (guint64 c = 0; c < 3 + l1_clusters; c++)
    put_be16 (b + REFBLOCK_OFFSET + 2 * c, 1);
  return g_bytes_new_take (b, file_size);
}

gboolean
sk_qcow2_create_overlay (const char *path, const char *backing_file, guint64 virtual_size, GError **error)
{
  g_autoptr (GBytes) image = sk_qcow2_build_overlay (backing_file, virtual_size, error);
  if (image == NULL)
    return g_prefix_error (error, "creating '%s': ", path), FALSE;
  sk_autofd int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", path);
  gsize len;
  const guint8 *p = g_bytes_get_data (image, &len);
  if (!sk_write_all (fd, p, len))
    return sk_error_from_errno (error, errno, "writing '%s'", path);
  return TRUE;
}
