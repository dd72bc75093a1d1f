/* skiff — the VM lifecycle: create, start (under a monitor), stop, kill,
 * remove, wait, and SSH access. */
#pragma once

#include "runner/vm.h"
#include "store/store.h"

G_BEGIN_DECLS

typedef struct {
  const char *image;          /* as the user named it */
  const char *name;           /* NULL: a random one */
  guint memory_mib;           /* 0: the image's */
  guint cpus;                 /* 0: the image's */
  guint64 disk_size;          /* 0: the image's; else grow the overlay to it */
  GPtrArray *ports;           /* -p specs as typed */
  GPtrArray *env;             /* "K=V" */
  const char *user_data_file; /* NULL: generated */
  GPtrArray *ssh_keys;        /* public key files; NULL: the .pub files in ~/.ssh */
  const char *hostname;       /* NULL: the VM's name */
  const char *network;        /* "user" (default) or "none" */
  const char *accel;          /* "auto" (default), "kvm", "tcg" */
  const char *console_log;    /* copy of the console, or NULL */
  gboolean auto_remove;
} SkRunOptions;

/* Makes a VM of an image in @store: holds the image, checks out its
 * layers, creates the overlay, keys and seed ISO, records it.  On failure
 * nothing is left behind.  Not yet durable: sk_runner_start or
 * sk_vm_sync makes it so. */
SkVm *sk_runner_create (SkStore *store, SkStoreImage *img, const SkRunOptions *opts, GError **error);

/* Which accelerator a VM gets: "kvm" only when requested or "auto" and
 * the probe says KVM runs guests.  @out_warning gets the line to show
 * when falling back to TCG. */
char *sk_runner_choose_accel (const char *store_root, const char *requested, char **out_warning,
                              GError **error);

/* Starts qemu under a detached monitor process (`skiff-monitor ROOT ID`,
 * the program next to @self_exe, skiff's own binary), makes the VM's
 * files durable (sk_vm_sync) and waits until qemu runs; a qemu that fails
 * to start is reported with its stderr.  The
 * monitor is a child of the caller (@out_monitor_pid, may be NULL): its
 * exit status is the VM's. */
gboolean sk_runner_start (const char *store_root, SkVm *vm, const char *self_exe, int *out_monitor_pid,
                          GError **error);

/* The monitor's body (skiff-monitor's main): runs qemu, records its exit;
 * for an auto-remove VM it ends by exec'ing `skiff __autoremove`. */
int sk_runner_monitor (const char *store_root, const char *id);

/* --rm, after the VM exited: removes its directory and releases its
 * image.  SK_ERROR_BUSY when the VM is not exited. */
gboolean sk_runner_auto_remove (SkStore *store, const char *id, GError **error);

/* ACPI power-off over QMP, then SIGKILL after @timeout_s seconds. */
gboolean sk_runner_stop (const char *store_root, SkVm *vm, guint timeout_s, GError **error);
/* Sends @sig to qemu and waits for the monitor to record the exit. */
gboolean sk_runner_kill (const char *store_root, SkVm *vm, int sig, GError **error);
/* Pauses (@pause) or resumes a running VM's CPUs over QMP; a paused VM's
 * disks are flushed, so its overlay can be read consistently. */
gboolean sk_runner_pause (const char *store_root, SkVm *vm, gboolean pause, GError **error);
/* Removes a VM (refuses a running one unless @force, which kills it). */
gboolean sk_runner_remove (SkStore *store, SkVm *vm, gboolean force, GError **error);
/* Blocks until the VM has exited; returns its exit code. */
int sk_runner_wait (const char *store_root, SkVm *vm, GError **error);

/* Waits until SSH into the VM works, up to @timeout_s; SK_ERROR_FAILED
 * naming the VM and what was last seen otherwise. */
gboolean sk_runner_wait_ssh (const char *store_root, SkVm *vm, guint timeout_s, GError **error);
/* argv of ssh into the VM running @cmd (NULL: a shell). */
GStrv sk_runner_ssh_argv (const char *store_root, SkVm *vm, gboolean tty, const char *const *cmd);

G_END_DECLS
