/* skiff — disk format detection by content and conversion to qcow2.
 * See store/diskfmt.h for the rules. */
#include "store/diskfmt.h"
#include "store/qcow2.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_SIZE 4096
#define SECTOR 512
#define VMDK_MAX_DESC_SECTORS 2048   /* 1 MiB of descriptor text */
#define QED_F_BACKING_FILE 0x1u

static const char *const format_names[] = {
  [SK_DISK_FORMAT_RAW] = "raw",   [SK_DISK_FORMAT_QCOW2] = "qcow2", [SK_DISK_FORMAT_VMDK] = "vmdk",
  [SK_DISK_FORMAT_VDI] = "vdi",   [SK_DISK_FORMAT_VHDX] = "vhdx",   [SK_DISK_FORMAT_VPC] = "vpc",
  [SK_DISK_FORMAT_QED] = "qed",
};

const char *
sk_diskfmt_name (SkDiskFormat format)
{
  g_return_val_if_fail ((guint) format < G_N_ELEMENTS (format_names), "raw");
  return format_names[format];
}


static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
le64 (const guint8 *p)
{
  return (guint64) le32 (p) | ((guint64) le32 (p + 4) << 32);
}

/* Reads exactly @len bytes at @offset (fewer only at the end of the file). */
static gboolean
pread_all (int fd, const char *display, void *buf, gsize len, guint64 offset, gsize *out_got, GError **error)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = pread (fd, (char *) buf + got, len - got, offset + got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return sk_error_from_errno (error, errno, "reading '%s'", display);
      if (n == 0)
        break;
      got += n;
    }
  *out_got = got;
  return TRUE;
}

/* ---- vmdk descriptors ---- */

typedef struct {
  char *create_type;
  char *parent_hint;
  GPtrArray *extents;  /* file names, "" for an extent without one */
  GPtrArray *types;    /* SPARSE, FLAT, ZERO, ... */
} VmdkDesc;

static void
vmdk_desc_clear (VmdkDesc *d)
{
  g_clear_pointer (&d->create_type, g_free);
  g_clear_pointer (&d->parent_hint, g_free);
  g_clear_pointer (&d->extents, g_ptr_array_unref);
  g_clear_pointer (&d->types, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VmdkDesc, vmdk_desc_clear)

static char *
unquote (const char *s)
{
  gsize n = strlen (s);
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
    return g_strndup (s + 1, n - 2);
  return g_strdup (s);
}

/* `RW 20480 SPARSE "name.vmdk" [offset]`: the type and the quoted name. */
static void
parse_extent (VmdkDesc *d, const char *line)
{
  g_auto (GStrv) words = g_strsplit_set (line, " \t", 4);
  guint n = g_strv_length (words);
  g_ptr_array_add (d->types, g_strdup (n > 2 ? words[2] : ""));
  const char *q = strchr (line, '"');
  const char *end = q ? strchr (q + 1, '"') : NULL;
  g_ptr_array_add (d->extents, end ? g_strndup (q + 1, end - q - 1) : g_strdup (""));
}

static gboolean
is_extent_line (const char *line)
{
  static const char *const access[] = { "RW ", "RDONLY ", "NOACCESS ", "RW\t", "RDONLY\t", "NOACCESS\t" };
  for (gsize i = 0; i < G_N_ELEMENTS (access); i++)
    if (g_str_has_prefix (line, access[i]))
      return TRUE;
  return FALSE;
}

static void
parse_descriptor_line (VmdkDesc *d, char *line)
{
  g_strstrip (line);
  if (*line == '\0' || *line == '#')
    return;
  if (is_extent_line (line))
    return parse_extent (d, line);
  char *eq = strchr (line, '=');
  if (eq == NULL)
    return;
  *eq = '\0';
  const char *key = g_strstrip (line);
  const char *value = g_strstrip (eq + 1);
  if (g_ascii_strcasecmp (key, "createType") == 0)
    g_free (d->create_type), d->create_type = unquote (value);
  else if (g_ascii_strcasecmp (key, "parentFileNameHint") == 0)
    g_free (d->parent_hint), d->parent_hint = unquote (value);
}

static void
parse_descriptor (VmdkDesc *d, const char *text, gsize len)
{
  d->extents = g_ptr_array_new_with_free_func (g_free);
  d->types = g_ptr_array_new_with_free_func (g_free);
  gsize n = strnlen (text, len);
  g_autofree char *copy = g_strndup (text, n);
  g_auto (GStrv) lines = g_strsplit_set (copy, "\r\n", -1);
  for (char **l = lines; *l != NULL; l++)
    parse_descriptor_line (d, *l);
}

static gboolean
is_plain_name (const char *name)
{
  return *name != '\0' && strchr (name, '/') == NULL && strchr (name, '\\') == NULL && strchr (name, ':') == NULL
         && strcmp (name, ".") != 0 && strcmp (name, "..") != 0;
}

gboolean
sk_diskfmt_check_vmdk_descriptor (const char *display, const char *text, gsize len, GError **error)
{
  g_auto (VmdkDesc) d = { 0 };
  parse_descriptor (&d, text, len);
  if (d.parent_hint != NULL)
    {
      g_autofree char *shown = g_strescape (d.parent_hint, NULL);
      return sk_disk_invalid (error, display, "vmdk names a parent file '%s'", shown);
    }
  if (g_strcmp0 (d.create_type, "monolithicSparse") != 0 && g_strcmp0 (d.create_type, "streamOptimized") != 0)
    {
      g_autofree char *shown = g_strescape (d.create_type ? d.create_type : "(none)", NULL);
      return sk_disk_invalid (error, display, "vmdk createType '%s' is not monolithicSparse or streamOptimized", shown);
    }
  if (d.extents->len == 0)
    return sk_disk_invalid (error, display, "vmdk descriptor has no extent");
  for (guint i = 0; i < d.extents->len; i++)
    {
      const char *name = d.extents->pdata[i];
      g_autofree char *shown = g_strescape (name, NULL);
      if (i > 0 || !is_plain_name (name))
        return sk_disk_invalid (error, display, "vmdk descriptor names another file '%s'", shown);
      if (strcmp (d.types->pdata[i], "SPARSE") != 0)
        return sk_disk_invalid (error, display, "vmdk extent '%s' is not SPARSE", shown);
    }
  return TRUE;
}

/* A text descriptor names its extents: always refused, naming one. */
static gboolean
refuse_text_descriptor (const char *display, const char *text, gsize len, GError **error)
{
  g_auto (VmdkDesc) d = { 0 };
  parse_descriptor (&d, text, len);
  if (d.extents->len == 0)
    return sk_disk_invalid (error, display, "vmdk descriptor files are not supported");
  g_autofree char *shown = g_strescape (d.extents->pdata[0], NULL);
  return sk_disk_invalid (error, display, "vmdk descriptor names another file '%s'", shown);
}

/* The text of a vmdk descriptor file, as qemu recognises one: after blank
 * and comment lines, a "version=" line. */
static gboolean
looks_like_descriptor (const guint8 *head, gsize len)
{
  gsize i = 0;
  while (i < len)
    {
      while (i < len && g_ascii_isspace (head[i]))
        i++;
      if (i < len && head[i] == '#')
        {
          while (i < len && head[i] != '\n')
            i++;
          continue;
        }
      return len - i >= 8 && memcmp (head + i, "version=", 8) == 0;
    }
  return FALSE;
}

/* ---- detection ---- */

typedef struct {
  const char *magic;
  gsize offset;
  gsize len;
  const char *name;
} Magic;

/* Formats qemu knows that we refuse to convert. */
static const Magic refused_magics[] = {
  { "LUKS\xba\xbe", 0, 6, "luks (encrypted)" },
  { "COWD", 0, 4, "vmdk3 (COWD)" },
  { "Bochs Virtual HD Image", 0, 22, "bochs" },
  { "WithoutFreeSpace", 0, 16, "parallels" },
  { "WithouFreSpacExt", 0, 16, "parallels" },
  { "#!/bin/sh\n#V2.0 Format", 0, 22, "cloop" },
};

static gboolean
has_magic (const guint8 *buf, gsize len, const char *magic, gsize offset, gsize mlen)
{
  return len >= offset + mlen && memcmp (buf + offset, magic, mlen) == 0;
}

/* The format from the head of the file; FALSE with @error for refusals. */
static gboolean
detect_head (const char *display, const guint8 *head, gsize len, SkDiskFormat *out, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refused_magics); i++)
    if (has_magic (head, len, refused_magics[i].magic, refused_magics[i].offset, refused_magics[i].len))
      return sk_disk_invalid (error, display, "unsupported format '%s'", refused_magics[i].name);
  static const struct { const char *magic; gsize offset, len; SkDiskFormat format; } known[] = {
    { "QFI\xfb", 0, 4, SK_DISK_FORMAT_QCOW2 },      { "KDMV", 0, 4, SK_DISK_FORMAT_VMDK },
    { "\x7f\x10\xda\xbe", 0x40, 4, SK_DISK_FORMAT_VDI }, { "vhdxfile", 0, 8, SK_DISK_FORMAT_VHDX },
    { "conectix", 0, 8, SK_DISK_FORMAT_VPC },       { "QED\0", 0, 4, SK_DISK_FORMAT_QED },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (has_magic (head, len, known[i].magic, known[i].offset, known[i].len))
      return *out = known[i].format, TRUE;
  if (looks_like_descriptor (head, len))
    return refuse_text_descriptor (display, (const char *) head, len, error);
  *out = SK_DISK_FORMAT_RAW;
  return TRUE;
}

/* Trailers in the last sector: a fixed VHD footer, a dmg "koly" block. */
static gboolean
detect_tail (int fd, const char *display, guint64 size, SkDiskFormat *inout, GError **error)
{
  if (*inout != SK_DISK_FORMAT_RAW || size < 2 * SECTOR)
    return TRUE;
  guint8 tail[SECTOR];
  gsize got = 0;
  if (!pread_all (fd, display, tail, sizeof tail, size - SECTOR, &got, error))
    return FALSE;
  if (has_magic (tail, got, "koly", 0, 4))
    return sk_disk_invalid (error, display, "unsupported format 'dmg'");
  if (has_magic (tail, got, "conectix", 0, 8))
    *inout = SK_DISK_FORMAT_VPC;
  return TRUE;
}

gboolean
sk_diskfmt_detect_fd (int fd, const char *display, SkDiskFormat *out_format, GError **error)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", display);
  if (!S_ISREG (st.st_mode))
    return sk_disk_invalid (error, display, "not a regular file");
  if (st.st_size == 0)
    return sk_disk_invalid (error, display, "is empty");
  guint8 head[HEAD_SIZE];
  gsize got = 0;
  if (!pread_all (fd, display, head, sizeof head, 0, &got, error))
    return FALSE;
  SkDiskFormat format = SK_DISK_FORMAT_RAW;
  if (!detect_head (display, head, got, &format, error)
      || !detect_tail (fd, display, st.st_size, &format, error))
    return FALSE;
  *out_format = format;
  return TRUE;
}

static int
open_regular (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", path), -1;
  return fd;
}

gboolean
sk_diskfmt_detect (const char *path, SkDiskFormat *out_format, GError **error)
{
  sk_autofd int fd = open_regular (path, error);
  return fd >= 0 && sk_diskfmt_detect_fd (fd, path, out_format, error);
}

/* ---- our own checks of sparse vmdk and qed headers ---- */

static gboolean
check_vmdk_header (int fd, const char *display, guint64 file_size, GError **error)
{
  guint8 h[SECTOR];
  gsize got = 0;
  if (!pread_all (fd, display, h, sizeof h, 0, &got, error))
    return FALSE;
  if (got < 80)
    return sk_disk_invalid (error, display, "truncated vmdk header");
  guint64 capacity = le64 (h + 12), desc_offset = le64 (h + 28), desc_size = le64 (h + 36);
  /* qemu reads a sparse file of capacity 0 as a descriptor file naming
   * other extents */
  if (capacity == 0 || capacity > SK_QCOW2_MAX_VIRTUAL_SIZE / SECTOR)
    return sk_disk_invalid (error, display, "vmdk capacity %" G_GUINT64_FORMAT " sectors out of range", capacity);
  if (desc_offset == 0 || desc_size == 0 || desc_size > VMDK_MAX_DESC_SECTORS
      || desc_offset > file_size / SECTOR || desc_size > file_size / SECTOR - desc_offset)
    return sk_disk_invalid (error, display, "vmdk has no valid embedded descriptor");
  gsize len = desc_size * SECTOR;
  g_autofree char *text = g_malloc (len);
  if (!pread_all (fd, display, text, len, desc_offset * SECTOR, &got, error))
    return FALSE;
  return sk_diskfmt_check_vmdk_descriptor (display, text, got, error);
}

static gboolean
check_qed_header (int fd, const char *display, GError **error)
{
  guint8 h[64];
  gsize got = 0;
  if (!pread_all (fd, display, h, sizeof h, 0, &got, error))
    return FALSE;
  if (got < sizeof h)
    return sk_disk_invalid (error, display, "truncated qed header");
  if (le64 (h + 16) & QED_F_BACKING_FILE)
    return sk_disk_invalid (error, display, "qed image has a backing file");
  return TRUE;
}

/* ---- qemu-img's opinion ---- */

GStrv
sk_diskfmt_info_argv (SkDiskFormat format, const char *path)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *qpath = sk_qcow2_qemu_path (path);
  g_strv_builder_add_many (b, "qemu-img", "info", "--output=json", "--force-share", "-f",
                           sk_diskfmt_name (format), qpath, NULL);
  return g_strv_builder_end (b);
}

static gboolean
names_no_backing (const char *display, json_t *o, GError **error)
{
  static const char *const keys[] = { "backing-filename", "full-backing-filename", "backing-filename-format" };
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    if (json_object_get (o, keys[i]) != NULL)
      return sk_disk_invalid (error, display, "qemu-img reports a backing file");
  if (json_is_true (json_object_get (o, "encrypted")))
    return sk_disk_invalid (error, display, "qemu-img reports encryption");
  return TRUE;
}

/* Every entry of @array (an ImageInfo, or {name, info: ImageInfo} when
 * @member is set) is the file itself and names no backing file. */
static gboolean
check_nodes (const char *display, json_t *array, const char *member, const char *self, GError **error)
{
  size_t i;
  json_t *node;
  json_array_foreach (array, i, node)
    {
      json_t *info = member ? json_object_get (node, member) : node;
      const char *name = json_string_value (json_object_get (info, "filename"));
      if (g_strcmp0 (name, self) != 0)
        {
          g_autofree char *shown = g_strescape (name ? name : "(none)", NULL);
          return sk_disk_invalid (error, display, "qemu-img reports another file '%s'", shown);
        }
      if (!names_no_backing (display, info, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
compare_specific (const char *display, SkDiskFormat format, json_t *root, const char *self, GError **error)
{
  json_t *data = json_object_get (json_object_get (root, "format-specific"), "data");
  if (json_object_get (data, "data-file") != NULL)
    return sk_disk_invalid (error, display, "qemu-img reports an external data file");
  if (json_object_get (data, "encrypt") != NULL)
    return sk_disk_invalid (error, display, "qemu-img reports encryption");
  if (!check_nodes (display, json_object_get (data, "extents"), NULL, self, error)
      || !check_nodes (display, json_object_get (root, "children"), "info", self, error))
    return FALSE;
  if (format != SK_DISK_FORMAT_VMDK)
    return TRUE;
  const char *create = json_string_value (json_object_get (data, "create-type"));
  if (g_strcmp0 (create, "monolithicSparse") != 0 && g_strcmp0 (create, "streamOptimized") != 0)
    return sk_disk_invalid (error, display, "qemu-img reports vmdk create-type '%s'", create ? create : "(none)");
  return TRUE;
}

gboolean
sk_diskfmt_compare_qemu_img_info (const char *display, SkDiskFormat format, const char *json, GError **error)
{
  json_error_t jerr;
  g_autoptr (json_t) root = json_loads (json, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL || !json_is_object (root))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "qemu-img info on '%s': line %d column %d: %s",
                        display, jerr.line, jerr.column, root ? "not an object" : jerr.text),
           FALSE;
  const char *got = json_string_value (json_object_get (root, "format"));
  if (g_strcmp0 (got, sk_diskfmt_name (format)) != 0)
    return sk_disk_invalid (error, display, "qemu-img reads it as '%s', not %s", got ? got : "(none)",
                    sk_diskfmt_name (format));
  json_t *vsize = json_object_get (root, "virtual-size");
  if (!json_is_integer (vsize) || json_integer_value (vsize) <= 0
      || (guint64) json_integer_value (vsize) > SK_QCOW2_MAX_VIRTUAL_SIZE)
    return sk_disk_invalid (error, display, "qemu-img reports no sane virtual size");
  const char *self = json_string_value (json_object_get (root, "filename"));
  if (self == NULL)
    return sk_disk_invalid (error, display, "qemu-img reports no file name");
  return names_no_backing (display, root, error) && compare_specific (display, format, root, self, error);
}

static gboolean
own_checks (const char *path, SkDiskFormat format, GError **error)
{
  sk_autofd int fd = open_regular (path, error);
  if (fd < 0)
    return FALSE;
  SkDiskFormat found;
  if (!sk_diskfmt_detect_fd (fd, path, &found, error))
    return FALSE;
  if (found != format)
    return sk_disk_invalid (error, path, "content is %s, not %s", sk_diskfmt_name (found), sk_diskfmt_name (format));
  struct stat st;
  if (fstat (fd, &st) < 0)
    return sk_error_from_errno (error, errno, "reading '%s'", path);
  if (format == SK_DISK_FORMAT_VMDK)
    return check_vmdk_header (fd, path, st.st_size, error);
  if (format == SK_DISK_FORMAT_QED)
    return check_qed_header (fd, path, error);
  return TRUE;
}

gboolean
sk_diskfmt_check_self_contained (const char *path, SkDiskFormat format, GError **error)
{
  g_return_val_if_fail (format != SK_DISK_FORMAT_QCOW2, FALSE);
  if (!own_checks (path, format, error))
    return FALSE;
  if (format == SK_DISK_FORMAT_RAW)
    return TRUE;
  g_auto (GStrv) argv = sk_diskfmt_info_argv (format, path);
  g_autofree char *json = NULL;
  if (!sk_qcow2_run_limited ((const char *const *) argv, &sk_qcow2_info_limits, &json, error))
    return g_prefix_error (error, "checking '%s': ", path), FALSE;
  return sk_diskfmt_compare_qemu_img_info (path, format, json, error);
}

/* ---- conversion ---- */

GStrv
sk_diskfmt_convert_argv (SkDiskFormat format, const char *src, const char *dst)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autofree char *qsrc = sk_qcow2_qemu_path (src);
  g_autofree char *qdst = sk_qcow2_qemu_path (dst);
  g_strv_builder_add_many (b, "qemu-img", "convert", "-q", "--force-share", "-f", sk_diskfmt_name (format),
                           "-O", "qcow2", qsrc, qdst, NULL);
  return g_strv_builder_end (b);
}

gboolean
sk_diskfmt_convert (SkDiskFormat format, const char *src, const char *dst, GError **error)
{
  g_return_val_if_fail (format != SK_DISK_FORMAT_QCOW2, FALSE);
  if (!sk_diskfmt_check_self_contained (src, format, error))
    return FALSE;
  g_auto (GStrv) argv = sk_diskfmt_convert_argv (format, src, dst);
  if (!sk_qcow2_run_limited ((const char *const *) argv, &sk_qcow2_convert_limits, NULL, error))
    {
      (void) g_unlink (dst);
      return g_prefix_error (error, "converting '%s' to qcow2: ", src), FALSE;
    }
  return TRUE;
}
