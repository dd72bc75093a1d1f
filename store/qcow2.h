/* skiff — validation of qcow2 layers from outside (pull, load, import).
 *
 * Two opinions must agree before a qcow2 reaches the store or qemu:
 *   1. our own parse of the header and its extensions (never trusting
 *      qemu's probing), which enforces the backing-chain rule of DESIGN.md:
 *      no backing file for a base layer, exactly "<64 hex>.qcow2" (relative,
 *      format qcow2) for the others; no encryption, no external data file,
 *      no unknown incompatible feature, sane sizes and offsets;
 *   2. `qemu-img info --output=json --force-share -f qcow2`, run under CPU
 *      and memory limits, only after (1) passed: qemu-img opens an external
 *      data file, so it must never see one.
 * Every refusal is SK_ERROR_INVALID_IMAGE "invalid disk 'PATH': <why>". */
#pragma once

#include <glib.h>

#include "common/util.h"

G_BEGIN_DECLS

/* "invalid disk 'DISPLAY': <why>" with SK_ERROR_INVALID_IMAGE; returns FALSE. */
gboolean sk_disk_invalid (GError **error, const char *display, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* docs/interop/qcow2.txt */
#define SK_QCOW2_MAGIC "QFI\xfb"
#define SK_QCOW2_V2_HEADER_LENGTH 72
#define SK_QCOW2_V3_HEADER_LENGTH 104
#define SK_QCOW2_MAX_BACKING_NAME 1023 /* qemu's limit */
#define SK_QCOW2_EXT_END 0x00000000u
#define SK_QCOW2_EXT_BACKING_FORMAT 0xe2792acau

#define SK_QCOW2_MAX_VIRTUAL_SIZE (G_GUINT64_CONSTANT (64) << 40) /* 64 TiB */
#define SK_QCOW2_MIN_CLUSTER_BITS 9
#define SK_QCOW2_MAX_CLUSTER_BITS 21

typedef enum {
  SK_QCOW2_COMPRESSION_ZLIB = 0,
  SK_QCOW2_COMPRESSION_ZSTD = 1,
} SkQcow2Compression;

typedef struct {
  guint32 version;           /* 2 or 3 */
  guint64 virtual_size;      /* bytes, a multiple of 512 */
  guint32 cluster_size;
  char *backing_file;        /* "<hex>.qcow2", or NULL for a base layer */
  SkQcow2Compression compression_type;
  guint64 file_size;
} SkQcow2Info;

/* Frees the strings inside @info and zeroes it (for g_auto). */
void sk_qcow2_info_clear (SkQcow2Info *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SkQcow2Info, sk_qcow2_info_clear)

/* TRUE when @name is a layer file name "<64 lowercase hex>.qcow2".  Else
 * SK_ERROR_INVALID_IMAGE saying why ("is absolute", "contains '..'",
 * "uses the protocol prefix 'nbd:'", ...), worded "backing file 'NAME' ...". */
gboolean sk_qcow2_check_backing_name (const char *name, GError **error);

/* Parses the qcow2 header read from @fd (a regular file, any offset: pread
 * only) and applies every rule above.  @display names the file in errors.
 * @expected_backing NULL: the image must have no backing file; otherwise it
 * must be exactly @expected_backing (itself a valid layer name).  On
 * success fills @out_info (may be NULL), which the caller clears. */
gboolean sk_qcow2_validate_fd (int fd, const char *display, const char *expected_backing,
                               SkQcow2Info *out_info, GError **error);

/* sk_qcow2_validate_fd on @path, opened read-only (never following into a
 * FIFO or device: only regular files are accepted). */
gboolean sk_qcow2_validate (const char *path, const char *expected_backing, SkQcow2Info *out_info,
                            GError **error);

/* The same rules for a disk skiff made itself on a path it chose (a VM's
 * overlay on "../../layers/<hex>.qcow2"): the backing file must be exactly
 * @expected_path (format qcow2) instead of a layer name.  @path itself
 * must not be a symlink. */
gboolean sk_qcow2_validate_overlay (const char *path, const char *expected_path, SkQcow2Info *out_info,
                                    GError **error);

/* @path as a qemu command-line file name: "./" is put before a relative
 * path so a ':' in it is never read as a protocol ("nbd:", "json:"). */
char *sk_qcow2_qemu_path (const char *path);

/* `qemu-img info --output=json --force-share -f qcow2 PATH` (pure). */
GStrv sk_qcow2_info_argv (const char *path);

/* Compares qemu-img's JSON opinion @json with our parse @info of the same
 * file: format qcow2, same virtual size, same backing file (or none) with
 * format qcow2, no data-file, no encryption, not dirty or corrupt.
 * SK_ERROR_INVALID_IMAGE naming the disagreement; SK_ERROR_INVALID_DATA
 * when @json does not parse. */
gboolean sk_qcow2_compare_qemu_img_info (const char *display, const char *json, const SkQcow2Info *info,
                                         GError **error);

/* Limits applied to qemu-img children (setrlimit in the child). */
typedef SkSpawnLimits SkQemuImgLimits;

/* 30 s of CPU, 1 GiB of address space: enough for `info` on any sane file. */
extern const SkQemuImgLimits sk_qcow2_info_limits;

/* An hour of CPU, 4 GiB of address space: for `convert`, which reads the
 * whole disk on a pool of threads, each with its own stack and malloc
 * arena (a busy machine makes qemu start more of them: 1 GiB was seen to
 * run out while converting a small vmdk). */
extern const SkQemuImgLimits sk_qcow2_convert_limits;

/* Runs @argv (argv[0] from PATH) with @limits, no shell, logging the argv at
 * debug level; stores its stdout in @out_stdout (may be NULL).  Failure is
 * SK_ERROR_CHILD_FAILED "<prog>: exit status N: <last stderr line>" or
 * "<prog>: killed by signal N ...". */
gboolean sk_qcow2_run_limited (const char *const *argv, const SkQemuImgLimits *limits, char **out_stdout,
                               GError **error);

/* Runs sk_qcow2_info_argv under sk_qcow2_info_limits and compares its
 * answer with @info (from sk_qcow2_validate on the same @path). */
gboolean sk_qcow2_check_with_qemu_img (const char *path, const SkQcow2Info *info, GError **error);

/* Both opinions: sk_qcow2_validate, then sk_qcow2_check_with_qemu_img. */
gboolean sk_qcow2_verify (const char *path, const char *expected_backing, SkQcow2Info *out_info,
                          GError **error);

/* ---- writing ---- */

/* The whole file of a fresh, empty qcow2 v3 image of @virtual_size bytes
 * (rounded up to a multiple of 512, as qemu-img does) on top of
 * @backing_file with backing format qcow2: 64 KiB clusters, 16-bit
 * refcounts, zlib compression type, no data clusters; the layout
 * `qemu-img create -f qcow2 -F qcow2 -b BACKING -u FILE SIZE` writes
 * (header, refcount table, refcount block, L1 table).  Pure.
 * SK_ERROR_USAGE when the size is zero or over SK_QCOW2_MAX_VIRTUAL_SIZE,
 * or the backing name is empty or longer than SK_QCOW2_MAX_BACKING_NAME. */
GBytes *sk_qcow2_build_overlay (const char *backing_file, guint64 virtual_size, GError **error);

/* Writes sk_qcow2_build_overlay's image to @path, a new file (O_EXCL),
 * mode 0644, not fsynced (the caller decides when durability matters).
 * The backing file is neither opened nor checked.  Errors name @path. */
gboolean sk_qcow2_create_overlay (const char *path, const char *backing_file, guint64 virtual_size,
                                  GError **error);

G_END_DECLS
