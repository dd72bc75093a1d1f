/* skiff — disk formats accepted from outside (skiff import) and their
 * conversion to qcow2.
 *
 * The format is detected from the content by our own code: qemu is always
 * told the format (-f), never left to probe.  qcow2 goes to store/qcow2.h;
 * raw is taken as it is; vmdk, vdi, vhdx, vpc and qed are converted with
 * `qemu-img convert` only once they are known to name no other file (no
 * backing file, no data file, no extent elsewhere): our own parse first,
 * then qemu-img info under limits.  LUKS, vmdk descriptor files and other
 * formats with a magic (qcow v1 aside: see qcow2.h) are refused.  Every
 * refusal is SK_ERROR_INVALID_IMAGE "invalid disk 'PATH': <why>". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SK_DISK_FORMAT_RAW,
  SK_DISK_FORMAT_QCOW2,
  SK_DISK_FORMAT_VMDK, /* monolithicSparse or streamOptimized only */
  SK_DISK_FORMAT_VDI,
  SK_DISK_FORMAT_VHDX,
  SK_DISK_FORMAT_VPC,
  SK_DISK_FORMAT_QED,
} SkDiskFormat;

/* qemu's driver name ("raw", "qcow2", "vmdk", ...). */
const char *sk_diskfmt_name (SkDiskFormat format);

/* Detects the format of the regular file @fd from its first 4 KiB and last
 * sector.  @display names it in errors.  Refuses empty files, LUKS, vmdk
 * descriptor files ("vmdk descriptor names another file 'X'") and formats
 * we do not convert (bochs, cloop, parallels, dmg, vmdk3). */
gboolean sk_diskfmt_detect_fd (int fd, const char *display, SkDiskFormat *out_format, GError **error);

/* sk_diskfmt_detect_fd on @path (opened read-only; regular files only). */
gboolean sk_diskfmt_detect (const char *path, SkDiskFormat *out_format, GError **error);

/* Checks the text of a vmdk descriptor embedded in a sparse vmdk (@len
 * bytes, need not be NUL-terminated): createType monolithicSparse or
 * streamOptimized, no parentFileNameHint, exactly one SPARSE extent whose
 * name is a plain file name (the file itself). */
gboolean sk_diskfmt_check_vmdk_descriptor (const char *display, const char *text, gsize len,
                                           GError **error);

/* `qemu-img info --output=json --force-share -f FMT PATH` (pure). */
GStrv sk_diskfmt_info_argv (SkDiskFormat format, const char *path);

/* Reads qemu-img's JSON @json about a @format file: same format, no backing
 * file, no data file, no encryption, every extent or child is the file
 * itself; a vmdk's create-type monolithicSparse or streamOptimized. */
gboolean sk_diskfmt_compare_qemu_img_info (const char *display, SkDiskFormat format, const char *json,
                                           GError **error);

/* For vmdk, vdi, vhdx, vpc and qed: our own checks of @path (the vmdk
 * header and descriptor, the qed backing file), then qemu-img info under
 * sk_qcow2_info_limits.  Raw passes; qcow2 is store/qcow2.h's job. */
gboolean sk_diskfmt_check_self_contained (const char *path, SkDiskFormat format, GError **error);

/* `qemu-img convert -q --force-share -f FMT -O qcow2 SRC DST` (pure). */
GStrv sk_diskfmt_convert_argv (SkDiskFormat format, const char *src, const char *dst);

/* Converts @src of @format (not qcow2) into a new qcow2 @dst, after
 * sk_diskfmt_check_self_contained, with qemu-img under CPU and memory
 * limits.  @dst is removed when the conversion fails. */
gboolean sk_diskfmt_convert (SkDiskFormat format, const char *src, const char *dst, GError **error);

G_END_DECLS
