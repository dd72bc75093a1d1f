/* skiff — qemu and qemu-img command lines, built by pure functions.
 *
 * The VM's machine, as sk_qemu_build_argv lays it out:
 *   - direct kernel boot on x86_64 uses `-M microvm,acpi=on` with
 *     virtio-mmio devices (Debian's kernel finds them only through ACPI);
 *     everything else uses q35 with virtio-pci devices.
 *   - `-nodefaults -no-user-config -display none`: no VGA, no default NIC,
 *     no monitor on stdio; qemu's stdout/stderr carry only its own errors.
 *   - disk: a qcow2 node over a file node (qemu follows the overlay's
 *     backing chain itself), `discard=unmap` so guest TRIM shrinks it;
 *     the seed ISO: a read-only raw virtio-blk disk (no AHCI in cloud
 *     kernels).  The disk is /dev/vda, the seed /dev/vdb.
 *   - user-mode network with one `hostfwd` per port mapping, a virtio NIC
 *     (with `romfile=` on q35 so SeaBIOS skips iPXE), and virtio-rng.
 *   - the serial console is a unix socket chardev that also appends to the
 *     console log: `logs` reads the file, `attach` connects to the socket,
 *     and output is logged while nobody is attached.
 *   - QMP on a unix socket; `-pidfile`; qemu stays in the foreground (the
 *     monitor process supervises it, no -daemonize).
 *   - `-no-reboot`, and `panic=-1` in a direct-boot kernel's command
 *     line: a guest reboot or kernel panic ends qemu (exit status 0) like a
 *     container's process ending; the QMP SHUTDOWN event's reason tells
 *     them apart ("guest-shutdown", "guest-reset", "guest-panic").
 *   - `-sandbox on` with obsolete, elevateprivileges, spawn and
 *     resourcecontrol denied: qemu needs none of them here. */
#pragma once

#include <glib.h>

#include "oci/config.h" /* SkBootMode */
#include "runner/portspec.h"

G_BEGIN_DECLS

/* What to run.  Strings are borrowed; NULL means absent.  Paths are given
 * to qemu as they are: relative ones resolve against qemu's working
 * directory (useful for sockets, whose paths are limited to 107 bytes). */
typedef struct {
  const char *qemu;          /* binary path */
  const char *accel;         /* "kvm" or "tcg" */
  SkBootMode boot;
  const char *kernel;        /* kernel mode: kernel, optional initrd, cmdline */
  const char *initrd;
  const char *cmdline;       /* completed by sk_qemu_kernel_cmdline */
  gboolean microvm;          /* kernel mode only: -M microvm, virtio-mmio */
  const char *firmware_code; /* UEFI: read-only OVMF code (pflash0) */
  const char *firmware_vars; /* UEFI: this VM's writable copy of the vars (pflash1) */
  guint memory_mib;
  guint cpus;
  const char *disk;          /* the VM's overlay qcow2 */
  const char *seed;          /* the seed ISO, or NULL */
  gboolean network_user;     /* user-mode net with hostfwd; FALSE: no NIC */
  const SkPortMap *ports;
  guint n_ports;
  const char *qmp_socket;    /* unix socket, qemu listens */
  const char *console_log;   /* the console is appended here, or NULL */
  const char *serial_socket; /* unix socket for attach, or NULL */
  const char *pidfile;       /* or NULL */
  guint64 tsc_khz;           /* >0 under TCG: tsc_early_khz= on the cmdline */
  const char *name;          /* -name, or NULL */
  gboolean paused;           /* -S: start with the CPUs stopped (QMP `cont`) */
} SkQemuSpec;

/* Checks what sk_qemu_build_argv would otherwise pass blindly: required
 * fields for the boot mode, accel, sizes, socket path lengths, ports
 * without a network, IPv6 host addresses (qemu 7.2's user network binds
 * IPv4 only).  SK_ERROR_USAGE for user-fixable settings, SK_ERROR_UNSUPPORTED
 * for IPv6, SK_ERROR_FAILED for a caller's mistake. */
gboolean sk_qemu_spec_check (const SkQemuSpec *spec, GError **error);

/* The qemu argv for @spec (see the top of this header).  Pure; the spec is
 * assumed to pass sk_qemu_spec_check.  Option values are escaped for
 * qemu's `a=b,c=d` syntax (a ',' in a path is doubled). */
GStrv sk_qemu_build_argv (const SkQemuSpec *spec);

/* @base completed for a skiff VM: `console=ttyS0` unless @base names a
 * console, `panic=-1` unless it sets panic=, and `tsc_early_khz=@tsc_khz`
 * when @tsc_khz > 0 and @base has none.  Additions go before a `--`
 * (whatever follows it belongs to init).  @base may be NULL. */
char *sk_qemu_kernel_cmdline (const char *base, guint64 tsc_khz);

/* @value with every ',' doubled, for qemu's option syntax. */
char *sk_qemu_escape_option (const char *value);

/* `qemu-img resize -f qcow2 IMAGE SIZE` (growing only: no --shrink). */
GStrv sk_qemu_img_resize_argv (const char *image, guint64 size);

/* `qemu-img info --output=json -f qcow2 IMAGE`: no format probing. */
GStrv sk_qemu_img_info_argv (const char *image);

typedef struct {
  char *format;           /* "qcow2" */
  guint64 virtual_size;
  guint64 actual_size;
  char *backing_filename; /* as written in the header, or NULL */
  char *backing_format;
} SkQemuImgInfo;

void sk_qemu_img_info_free (SkQemuImgInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkQemuImgInfo, sk_qemu_img_info_free)

/* Reads the JSON printed by sk_qemu_img_info_argv's command.
 * SK_ERROR_INVALID_DATA when it does not parse or lacks virtual-size. */
SkQemuImgInfo *sk_qemu_img_parse_info (const char *json, GError **error);

/* The TSC frequency in kHz from /proc/cpuinfo text: the first processor's
 * "cpu MHz", else the "@ 2.30GHz" of its model name.  0 if neither. */
guint64 sk_qemu_parse_cpuinfo_khz (const char *cpuinfo);

/* The host's TSC frequency in kHz: sysfs tsc_freq_khz when the kernel
 * exports it, else from /proc/cpuinfo.  0 if unknown. */
guint64 sk_qemu_host_tsc_khz (void);

G_END_DECLS
