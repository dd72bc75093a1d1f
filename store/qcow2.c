/* skiff — qcow2 header validation (docs/interop/qcow2.txt) and the
 * qemu-img cross-check.  See store/qcow2.h for the rules. */
#include "store/qcow2.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_L1_BYTES (32u << 20)       /* qemu's QCOW_MAX_L1_SIZE */
#define MAX_REFTABLE_BYTES (8u << 20)  /* qemu's QCOW_MAX_REFTABLE_SIZE */
#define MAX_SNAPSHOTS 65536

#define INCOMPAT_DIRTY (1u << 0)
#define INCOMPAT_CORRUPT (1u << 1)
#define INCOMPAT_DATA_FILE (1u << 2)
#define INCOMPAT_COMPRESSION (1u << 3)
#define INCOMPAT_EXTL2 (1u << 4)
#define INCOMPAT_KNOWN 0x1fu
#define AUTOCLEAR_DATA_FILE_RAW (1u << 1)

#define EXT_CRYPTO_HEADER 0x0537be77u
#define EXT_DATA_FILE 0x44415441u

const SkQemuImgLimits sk_qcow2_info_limits = { 30, G_GUINT64_CONSTANT (1) << 30 };
const SkQemuImgLimits sk_qcow2_convert_limits = { 3600, G_GUINT64_CONSTANT (4) << 30 };

/* The fields of the fixed header we check, host byte order. */
typedef struct {
  const char *display;
  const guint8 *buf;      /* the header cluster (or the whole file if shorter) */
  gsize len;
  guint64 file_size;
  guint32 version;
  guint64 backing_offset;
  guint32 backing_size;
  guint32 cluster_bits;
  guint64 size;
  guint32 crypt_method;
  guint32 l1_size;
  guint64 l1_offset;
  guint64 refcount_offset;
  guint32 refcount_clusters;
  guint32 nb_snapshots;
  guint64 snapshots_offset;
  guint64 incompat;
  guint64 autoclear;
  guint32 refcount_order;
  guint32 header_length;
  guint8 compression_type;
  char *backing_format;   /* from the header extension, or NULL */
} Header;

static void
header_clear (Header *h)
{
  g_clear_pointer (&h->backing_format, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Header, header_clear)

void
sk_qcow2_info_clear (SkQcow2Info *info)
{
  g_clear_pointer (&info->backing_file, g_free);
  memset (info, 0, sizeof *info);
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint64
be64 (const guint8 *p)
{
  return ((guint64) be32 (p) << 32) | be32 (p + 4);
}


gboolean
sk_disk_invalid (GError **error, const char *display, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "invalid disk '%s': %s", display, why);
  return FALSE;
}

/* ---- backing file names ---- */

static gboolean
is_layer_name (const char *name)
{
  static const char suffix[] = ".qcow2";
  if (strlen (name) != 64 + strlen (suffix) || strcmp (name + 64, suffix) != 0)
    return FALSE;
  for (int i = 0; i < 64; i++)
    if (!g_ascii_isdigit (name[i]) && !(name[i] >= 'a' && name[i] <= 'f'))
      return FALSE;
  return TRUE;
}

/* Length of a "scheme:" prefix as qemu would read it (letters, digits,
 * '+', '-', '.' before the first ':' with no '/' before it), else 0. */
static gsize
protocol_prefix_len (const char *name)
{
  gsize n = strcspn (name, ":/\\");
  if (name[n] != ':' || n == 0)
    return 0;
  return n + 1;
}

static gboolean
backing_refused (GError **error, const char *name, const char *why)
{
  g_autofree char *shown = g_strescape (name, NULL);
  g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "backing file '%s' %s", shown, why);
  return FALSE;
}

gboolean
sk_qcow2_check_backing_name (const char *name, GError **error)
{
  if (*name == '\0')
    return backing_refused (error, name, "is empty");
  if (name[0] == '/')
    return backing_refused (error, name, "is absolute");
  if (g_str_has_prefix (name, "json:"))
    return backing_refused (error, name, "is a json: specification");
  gsize proto = protocol_prefix_len (name);
  if (proto > 0)
    {
      g_autofree char *prefix = g_strndup (name, proto);
      g_autofree char *why = g_strdup_printf ("uses the protocol prefix '%s'", prefix);
      return backing_refused (error, name, why);
    }
  if (strstr (name, "..") != NULL)
    return backing_refused (error, name, "contains '..'");
  if (strchr (name, '/') != NULL || strchr (name, '\\') != NULL)
    return backing_refused (error, name, "is not a plain file name");
  if (!is_layer_name (name))
    return backing_refused (error, name, "is not a layer name '<sha256 hex>.qcow2'");
  return TRUE;
}

/* ---- the fixed header ---- */

static void
read_fields (Header *h)
{
  const guint8 *b = h->buf;
  h->version = be32 (b + 4);
  h->backing_offset = be64 (b + 8);
  h->backing_size = be32 (b + 16);
  h->cluster_bits = be32 (b + 20);
  h->size = be64 (b + 24);
  h->crypt_method = be32 (b + 32);
  h->l1_size = be32 (b + 36);
  h->l1_offset = be64 (b + 40);
  h->refcount_offset = be64 (b + 48);
  h->refcount_clusters = be32 (b + 56);
  h->nb_snapshots = be32 (b + 60);
  h->snapshots_offset = be64 (b + 64);
  h->refcount_order = 4;
  h->header_length = SK_QCOW2_V2_HEADER_LENGTH;
}

/* Version 3 only, once the buffer is known to hold its 104 bytes. */
static void
read_v3_fields (Header *h)
{
  const guint8 *b = h->buf;
  h->incompat = be64 (b + 72);
  h->autoclear = be64 (b + 88);
  h->refcount_order = be32 (b + 96);
  h->header_length = be32 (b + 100);
}

/* Magic, version and the header's own length; fills the fields. */
static gboolean
parse_fixed (Header *h, GError **error)
{
  if (h->len < 4 || memcmp (h->buf, SK_QCOW2_MAGIC, 4) != 0)
    return sk_disk_invalid (error, h->display, "not a qcow2 image (bad magic)");
  if (h->len < SK_QCOW2_V2_HEADER_LENGTH)
    return sk_disk_invalid (error, h->display, "truncated header (%" G_GUINT64_FORMAT " bytes)", h->file_size);
  read_fields (h);
  if (h->version != 2 && h->version != 3)
    return sk_disk_invalid (error, h->display, "unsupported qcow2 version %u", h->version);
  if (h->version == 3 && h->len < SK_QCOW2_V3_HEADER_LENGTH)
    return sk_disk_invalid (error, h->display, "truncated header (%" G_GUINT64_FORMAT " bytes)", h->file_size);
  if (h->version == 3)
    read_v3_fields (h);
  if (h->cluster_bits < SK_QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > SK_QCOW2_MAX_CLUSTER_BITS)
    return sk_disk_invalid (error, h->display, "cluster_bits %u out of range %d..%d", h->cluster_bits,
                    SK_QCOW2_MIN_CLUSTER_BITS, SK_QCOW2_MAX_CLUSTER_BITS);
  guint32 cluster = 1u << h->cluster_bits;
  if (h->version == 3
      && (h->header_length < SK_QCOW2_V3_HEADER_LENGTH || h->header_length > cluster || h->header_length % 8 != 0))
    return sk_disk_invalid (error, h->display, "bad header length %u", h->header_length);
  if (h->header_length > h->len)
    return sk_disk_invalid (error, h->display, "truncated header (%" G_GUINT64_FORMAT " bytes)", h->file_size);
  if (h->header_length > SK_QCOW2_V3_HEADER_LENGTH)
    h->compression_type = h->buf[SK_QCOW2_V3_HEADER_LENGTH];
  return TRUE;
}

static gboolean
check_size (const Header *h, GError **error)
{
  if (h->size == 0)
    return sk_disk_invalid (error, h->display, "virtual size is zero");
  if (h->size > SK_QCOW2_MAX_VIRTUAL_SIZE)
    return sk_disk_invalid (error, h->display, "virtual size %" G_GUINT64_FORMAT " exceeds the limit of 64 TiB",
                    h->size);
  if (h->size % 512 != 0)
    return sk_disk_invalid (error, h->display, "virtual size %" G_GUINT64_FORMAT " is not a multiple of 512",
                    h->size);
  if (h->refcount_order > 6)
    return sk_disk_invalid (error, h->display, "refcount order %u out of range 0..6", h->refcount_order);
  return TRUE;
}

static gboolean
check_features (const Header *h, GError **error)
{
  if (h->crypt_method != 0)
    return sk_disk_invalid (error, h->display, "uses encryption (method %u)", h->crypt_method);
  if (h->incompat & ~(guint64) INCOMPAT_KNOWN)
    return sk_disk_invalid (error, h->display, "unknown incompatible feature bits 0x%" G_GINT64_MODIFIER "x",
                    h->incompat & ~(guint64) INCOMPAT_KNOWN);
  if (h->incompat & INCOMPAT_DATA_FILE || h->autoclear & AUTOCLEAR_DATA_FILE_RAW)
    return sk_disk_invalid (error, h->display, "has an external data file");
  if (h->incompat & INCOMPAT_CORRUPT)
    return sk_disk_invalid (error, h->display, "is marked corrupt");
  if (h->incompat & INCOMPAT_DIRTY)
    return sk_disk_invalid (error, h->display, "is marked dirty (refcounts need repair)");
  if (h->compression_type > SK_QCOW2_COMPRESSION_ZSTD)
    return sk_disk_invalid (error, h->display, "unknown compression type %u", h->compression_type);
  if ((h->compression_type != SK_QCOW2_COMPRESSION_ZLIB) != !!(h->incompat & INCOMPAT_COMPRESSION))
    return sk_disk_invalid (error, h->display, "compression type %u disagrees with its feature bit",
                    h->compression_type);
  return TRUE;
}

/* @offset is cluster-aligned, and @bytes from it end inside the file. */
static gboolean
table_ok (const Header *h, guint64 offset, guint64 bytes)
{
  guint64 cluster = G_GUINT64_CONSTANT (1) << h->cluster_bits;
  return offset % cluster == 0 && offset >= cluster && offset < h->file_size
         && bytes <= h->file_size - offset;
}

static gboolean
check_tables (const Header *h, GError **error)
{
  guint64 cluster = G_GUINT64_CONSTANT (1) << h->cluster_bits;
  guint64 l2_entries = cluster / ((h->incompat & INCOMPAT_EXTL2) ? 16 : 8);
  guint64 l1_needed = (h->size + cluster * l2_entries - 1) / (cluster * l2_entries);
  if ((guint64) h->l1_size * 8 > MAX_L1_BYTES)
    return sk_disk_invalid (error, h->display, "L1 table of %u entries is too large", h->l1_size);
  if (h->l1_size < l1_needed)
    return sk_disk_invalid (error, h->display, "L1 table of %u entries is too small for the virtual size", h->l1_size);
  if (!table_ok (h, h->l1_offset, (guint64) h->l1_size * 8))
    return sk_disk_invalid (error, h->display, "L1 table offset 0x%" G_GINT64_MODIFIER "x is unaligned or outside the file",
                    h->l1_offset);
  if (h->refcount_clusters == 0 || (guint64) h->refcount_clusters * cluster > MAX_REFTABLE_BYTES)
    return sk_disk_invalid (error, h->display, "refcount table of %u clusters is out of range", h->refcount_clusters);
  if (!table_ok (h, h->refcount_offset, 8))
    return sk_disk_invalid (error, h->display,
                    "refcount table offset 0x%" G_GINT64_MODIFIER "x is unaligned or outside the file",
                    h->refcount_offset);
  if (h->nb_snapshots > MAX_SNAPSHOTS)
    return sk_disk_invalid (error, h->display, "%u snapshots is too many", h->nb_snapshots);
  if (h->nb_snapshots > 0 && !table_ok (h, h->snapshots_offset, 1))
    return sk_disk_invalid (error, h->display,
                    "snapshot table offset 0x%" G_GINT64_MODIFIER "x is unaligned or outside the file",
                    h->snapshots_offset);
  return TRUE;
}

/* ---- header extensions ---- */

static gboolean
read_backing_format (Header *h, const guint8 *data, guint32 len, GError **error)
{
  if (h->backing_format != NULL)
    return sk_disk_invalid (error, h->display, "has two backing format extensions");
  if (len >= 16)
    return sk_disk_invalid (error, h->display, "backing format name is too long");
  if (memchr (data, '\0', len) != NULL)
    return sk_disk_invalid (error, h->display, "backing format name contains a NUL byte");
  h->backing_format = g_strndup ((const char *) data, len);
  return TRUE;
}

static gboolean
check_extension (Header *h, guint32 type, const guint8 *data, guint32 len, GError **error)
{
  switch (type)
    {
    case SK_QCOW2_EXT_BACKING_FORMAT:
      return read_backing_format (h, data, len, error);
    case EXT_CRYPTO_HEADER:
      return sk_disk_invalid (error, h->display, "uses encryption (crypto header extension)");
    case EXT_DATA_FILE:
      return sk_disk_invalid (error, h->display, "has an external data file");
    default:
      /* feature names, bitmaps and extensions we do not know: harmless */
      return TRUE;
    }
}

/* Walks the extensions after the fixed header up to the backing file name
 * (or the end of the first cluster), as qemu does. */
static gboolean
parse_extensions (Header *h, GError **error)
{
  if (h->version < 3)
    return TRUE;
  guint64 end = MIN ((guint64) h->len, G_GUINT64_CONSTANT (1) << h->cluster_bits);
  if (h->backing_offset != 0)
    end = MIN (end, h->backing_offset);
  guint64 off = h->header_length;
  while (off + 8 <= end)
    {
      guint32 type = be32 (h->buf + off);
      guint32 len = be32 (h->buf + off + 4);
      if (type == SK_QCOW2_EXT_END)
        return TRUE;
      if (len > end - off - 8)
        return sk_disk_invalid (error, h->display, "header extension 0x%08x overruns the header", type);
      if (!check_extension (h, type, h->buf + off + 8, len, error))
        return FALSE;
      off += 8 + (((guint64) len + 7) & ~G_GUINT64_CONSTANT (7));
    }
  return TRUE;
}

/* ---- the backing file ---- */

/* The backing file name from the header, NULL when there is none. */
static gboolean
read_backing_name (const Header *h, char **out_name, GError **error)
{
  *out_name = NULL;
  if (h->backing_offset == 0)
    return TRUE;
  if (h->backing_size == 0 || h->backing_size > SK_QCOW2_MAX_BACKING_NAME)
    return sk_disk_invalid (error, h->display, "backing file name length %u out of range 1..%d", h->backing_size,
                    SK_QCOW2_MAX_BACKING_NAME);
  guint64 limit = MIN ((guint64) h->len, G_GUINT64_CONSTANT (1) << h->cluster_bits);
  if (h->backing_offset < h->header_length || h->backing_offset > limit
      || h->backing_size > limit - h->backing_offset)
    return sk_disk_invalid (error, h->display, "backing file name lies outside the header cluster");
  const char *p = (const char *) h->buf + h->backing_offset;
  if (memchr (p, '\0', h->backing_size) != NULL)
    return sk_disk_invalid (error, h->display, "backing file name contains a NUL byte");
  *out_name = g_strndup (p, h->backing_size);
  return TRUE;
}

/* @any_name: skiff made the disk itself (a VM's overlay), so its backing
 * file is a path, compared exactly, rather than a layer name. */
static gboolean
check_backing (const Header *h, const char *backing, const char *expected, gboolean any_name, GError **error)
{
  if (backing == NULL)
    {
      if (expected != NULL)
        return sk_disk_invalid (error, h->display, "has no backing file, expected '%s'", expected);
      return TRUE;
    }
  g_autoptr (GError) local = NULL;
  if (!any_name && !sk_qcow2_check_backing_name (backing, &local))
    return sk_disk_invalid (error, h->display, "%s", local->message);
  if (expected == NULL)
    return sk_disk_invalid (error, h->display, "has a backing file '%s' where none is allowed", backing);
  if (strcmp (backing, expected) != 0)
    return sk_disk_invalid (error, h->display, "backing file '%s' is not the expected '%s'", backing, expected);
  if (h->backing_format == NULL)
    return sk_disk_invalid (error, h->display, "backing file '%s' has no backing format", backing);
  if (strcmp (h->backing_format, "qcow2") != 0)
    {
      g_autofree char *shown = g_strescape (h->backing_format, NULL);
      return sk_disk_invalid (error, h->display, "backing format '%s' is not qcow2", shown);
    }
  return TRUE;
}

/* ---- putting it together ---- */

/* Reads up to one cluster of the largest kind from the start of @fd. */
static GBytes *
read_head (int fd, const char *display, guint64 file_size, GError **error)
{
  gsize want = (gsize) MIN (file_size, (guint64) 1 << SK_QCOW2_MAX_CLUSTER_BITS);
  g_autofree guint8 *buf = g_malloc (want ? want : 1);
  gsize got = 0;
  while (got < want)
    {
      ssize_t n = pread (fd, buf + got, want - got, got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "reading '%s'", display), NULL;
      if (n == 0)
        break;
      got += n;
    }
  return g_bytes_new_take (g_steal_pointer (&buf), got);
}

static gboolean
check_header (Header *h, GError **error)
{
  return parse_fixed (h, error) && check_size (h, error) && check_features (h, error)
         && check_tables (h, error) && parse_extensions (h, error);
}

static gboolean
validate_fd (int fd, const char *display, const char *expected_backing, gboolean any_name, SkQcow2Info *out_info,
             GError **error)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", display);
  if (!S_ISREG (st.st_mode))
    return sk_disk_invalid (error, display, "not a regular file");
  g_autoptr (GBytes) head = read_head (fd, display, st.st_size, error);
  if (head == NULL)
    return FALSE;
  g_auto (Header) h = { .display = display, .file_size = st.st_size };
  h.buf = g_bytes_get_data (head, &h.len);
  if (!check_header (&h, error))
    return FALSE;
  g_autofree char *backing = NULL;
  if (!read_backing_name (&h, &backing, error) || !check_backing (&h, backing, expected_backing, any_name, error))
    return FALSE;
  if (out_info == NULL)
    return TRUE;
  out_info->version = h.version;
  out_info->virtual_size = h.size;
  out_info->cluster_size = 1u << h.cluster_bits;
  out_info->backing_file = g_steal_pointer (&backing);
  out_info->compression_type = h.compression_type;
  out_info->file_size = h.file_size;
  return TRUE;
}

gboolean
sk_qcow2_validate_fd (int fd, const char *display, const char *expected_backing, SkQcow2Info *out_info,
                      GError **error)
{
  if (expected_backing != NULL && !sk_qcow2_check_backing_name (expected_backing, error))
    return g_prefix_error (error, "expected "), FALSE;
  return validate_fd (fd, display, expected_backing, FALSE, out_info, error);
}

gboolean
sk_qcow2_validate (const char *path, const char *expected_backing, SkQcow2Info *out_info, GError **error)
{
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path);
  return sk_qcow2_validate_fd (fd, path, expected_backing, out_info, error);
}

gboolean
sk_qcow2_validate_overlay (const char *path, const char *expected_path, SkQcow2Info *out_info, GError **error)
{
  sk_autofd int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path);
  return validate_fd (fd, path, expected_path, TRUE, out_info, error);
}

/* ---- qemu-img's opinion ---- */

char *
sk_qcow2_qemu_path (const char *path)
{
  if (g_path_is_absolute (path) || g_str_has_prefix (path, "./"))
    return g_strdup (path);
  return g_strconcat ("./", path, NULL);
}

GStrv
sk_qcow2_info_argv (const char *path)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *qpath = sk_qcow2_qemu_path (path);
  g_strv_builder_add_many (b, "qemu-img", "info", "--output=json", "--force-share", "-f", "qcow2", qpath,
                           NULL);
  return g_strv_builder_end (b);
}

static const char *
compression_name (SkQcow2Compression c)
{
  return c == SK_QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib";
}

static gboolean
is_true (json_t *o, const char *key)
{
  return json_is_true (json_object_get (o, key));
}

/* format-specific.data: no data file, no encryption, not corrupt. */
static gboolean
compare_specific (const char *display, json_t *root, const SkQcow2Info *info, GError **error)
{
  json_t *spec = json_object_get (root, "format-specific");
  json_t *data = json_object_get (spec, "data");
  const char *type = json_string_value (json_object_get (spec, "type"));
  if (spec != NULL && g_strcmp0 (type, "qcow2") != 0)
    return sk_disk_invalid (error, display, "qemu-img reports format-specific type '%s'", type ? type : "");
  if (json_object_get (data, "data-file") != NULL)
    return sk_disk_invalid (error, display, "qemu-img reports an external data file");
  if (json_object_get (data, "encrypt") != NULL)
    return sk_disk_invalid (error, display, "qemu-img reports encryption");
  if (is_true (data, "corrupt"))
    return sk_disk_invalid (error, display, "qemu-img reports it corrupt");
  const char *ctype = json_string_value (json_object_get (data, "compression-type"));
  if (ctype != NULL && strcmp (ctype, compression_name (info->compression_type)) != 0)
    return sk_disk_invalid (error, display, "qemu-img reports compression type '%s', the header says '%s'", ctype,
                    compression_name (info->compression_type));
  return TRUE;
}

static gboolean
compare_backing (const char *display, json_t *root, const SkQcow2Info *info, GError **error)
{
  const char *backing = json_string_value (json_object_get (root, "backing-filename"));
  const char *format = json_string_value (json_object_get (root, "backing-filename-format"));
  if (backing == NULL && json_object_get (root, "full-backing-filename") != NULL)
    return sk_disk_invalid (error, display, "qemu-img reports a backing file the header does not name");
  if (g_strcmp0 (backing, info->backing_file) != 0)
    return sk_disk_invalid (error, display, "qemu-img reports backing file '%s', the header says '%s'",
                    backing ? backing : "(none)", info->backing_file ? info->backing_file : "(none)");
  if (backing != NULL && g_strcmp0 (format, "qcow2") != 0)
    return sk_disk_invalid (error, display, "qemu-img reports backing format '%s'", format ? format : "(none)");
  return TRUE;
}

gboolean
sk_qcow2_compare_qemu_img_info (const char *display, const char *json, const SkQcow2Info *info,
                                GError **error)
{
  json_error_t jerr;
  g_autoptr (json_t) root = json_loads (json, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL || !json_is_object (root))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "qemu-img info on '%s': line %d column %d: %s",
                        display, jerr.line, jerr.column, root ? "not an object" : jerr.text),
           FALSE;
  const char *format = json_string_value (json_object_get (root, "format"));
  if (g_strcmp0 (format, "qcow2") != 0)
    return sk_disk_invalid (error, display, "qemu-img reads it as '%s', not qcow2", format ? format : "(none)");
  json_t *vsize = json_object_get (root, "virtual-size");
  if (!json_is_integer (vsize) || (guint64) json_integer_value (vsize) != info->virtual_size)
    return sk_disk_invalid (error, display, "qemu-img reports virtual size %" JSON_INTEGER_FORMAT ", the header says %"
                    G_GUINT64_FORMAT, json_is_integer (vsize) ? json_integer_value (vsize) : -1,
                    info->virtual_size);
  json_t *csize = json_object_get (root, "cluster-size");
  if (csize != NULL && (!json_is_integer (csize) || json_integer_value (csize) != info->cluster_size))
    return sk_disk_invalid (error, display, "qemu-img reports another cluster size");
  if (is_true (root, "encrypted"))
    return sk_disk_invalid (error, display, "qemu-img reports encryption");
  if (is_true (root, "dirty-flag"))
    return sk_disk_invalid (error, display, "qemu-img reports it dirty");
  return compare_backing (display, root, info, error) && compare_specific (display, root, info, error);
}

/* ---- running qemu-img under limits ---- */

gboolean
sk_qcow2_run_limited (const char *const *argv, const SkQemuImgLimits *limits, char **out_stdout,
                      GError **error)
{
  return sk_spawn_sync_limited (argv, limits, out_stdout, error);
}

gboolean
sk_qcow2_check_with_qemu_img (const char *path, const SkQcow2Info *info, GError **error)
{
  g_auto (GStrv) argv = sk_qcow2_info_argv (path);
  g_autofree char *json = NULL;
  if (!sk_qcow2_run_limited ((const char *const *) argv, &sk_qcow2_info_limits, &json, error))
    return g_prefix_error (error, "checking '%s': ", path), FALSE;
  return sk_qcow2_compare_qemu_img_info (path, json, info, error);
}

gboolean
sk_qcow2_verify (const char *path, const char *expected_backing, SkQcow2Info *out_info, GError **error)
{
  g_auto (SkQcow2Info) info = { 0 };
  if (!sk_qcow2_validate (path, expected_backing, &info, error))
    return FALSE;
  if (!sk_qcow2_check_with_qemu_img (path, &info, error))
    return FALSE;
  if (out_info != NULL)
    {
      *out_info = info;
      info.backing_file = NULL;
    }
  return TRUE;
}
