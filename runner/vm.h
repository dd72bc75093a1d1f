/* skiff — a VM's state on disk: one directory per VM under <root>/vms.
 *
 *   vms/<id>/record.json   what the VM is (written atomically)
 *   vms/<id>/overlay.qcow2 its own writable disk on the image's chain
 *   vms/<id>/seed.iso      the cloud-init NoCloud seed of this run
 *   vms/<id>/qmp.sock      qemu's QMP socket
 *   vms/<id>/console.sock  the serial console, for attach
 *   vms/<id>/console.log   everything the console printed
 *   vms/<id>/id_ed25519    skiff's key for this VM (and .pub)
 *   vms/<id>/known_hosts   the guest's pinned host key
 *   vms/<id>/ssh_host_ed25519_key  the host key injected by cloud-init
 *   vms/<id>/monitor.pid, qemu.pid, exit   the supervisor's traces
 *   vms/names/<name>       symlink to <id>: names are unique by symlink()
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  SK_VM_CREATED,
  SK_VM_RUNNING,
  SK_VM_EXITED,
} SkVmState;

typedef struct {
  char *id;            /* 64 hex */
  char *name;
  char *image;         /* as the user named it */
  char *image_digest;  /* manifest digest */
  gint64 created;
  /* settings */
  guint memory_mib;
  guint cpus;
  guint64 disk_size;   /* 0: the image's */
  char *hostname;
  char *network;       /* "user" or "none" */
  char *accel;         /* requested: "auto", "kvm", "tcg" */
  gboolean auto_remove;
  GPtrArray *ports;    /* canonical -p specs, "127.0.0.1:8080:80/tcp" */
  GPtrArray *env;      /* "K=V" */
  char *user;          /* default cloud-init user */
  char *user_data;     /* path of the user's user-data copy in the VM dir, or NULL */
  char *console_log;   /* extra copy of the console, or NULL */
  /* boot (from the image's config) */
  char *boot;          /* "kernel", "bios", "uefi" */
  char *kernel;        /* paths under the store's boot/ dir */
  char *initrd;
  char *cmdline;
  char *top_layer;     /* path of the image's top layer <hex>.qcow2 */
  guint ssh_port;      /* host port forwarded to the guest's 22 */
  char *accel_used;    /* what the last start ran with */
  /* life */
  gint64 started;
  gint64 finished;
} SkVm;

void sk_vm_free (SkVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkVm, sk_vm_free)

/* The directory holding every VM. */
char *sk_vm_dir_root (const char *store_root);
char *sk_vm_dir (const char *store_root, const char *id);
char *sk_vm_path (const char *store_root, const SkVm *vm, const char *file);

/* A fresh random id (64 hex). */
char *sk_vm_new_id (void);
/* A docker-style random name ("brave_turing"). */
char *sk_vm_random_name (void);
/* Checks a user-given name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, SK_ERROR_USAGE. */
gboolean sk_vm_check_name (const char *name, GError **error);

/* Creates the VM's directory, reserves its name (SK_ERROR_EXISTS when
 * taken) and writes its record, not yet durably (sk_vm_sync). */
gboolean sk_vm_create_dir (const char *store_root, SkVm *vm, GError **error);
/* Replaces the record atomically and durably (fsync). */
gboolean sk_vm_save (const char *store_root, const SkVm *vm, GError **error);
/* Replaces the record atomically, without the fsync: for the path to
 * qemu's start, which calls sk_vm_sync once qemu is on its way. */
gboolean sk_vm_save_unsynced (const char *store_root, const SkVm *vm, GError **error);
/* Makes the VM durable: fsyncs every regular file of its directory, the
 * directory, and the entries naming it (vms/, vms/names/). */
gboolean sk_vm_sync (const char *store_root, const SkVm *vm, GError **error);
SkVm *sk_vm_load (const char *store_root, const char *id, GError **error);
/* Finds a VM by name, full id or unique id prefix. SK_ERROR_NOT_FOUND. */
SkVm *sk_vm_lookup (const char *store_root, const char *name_or_id, GError **error);
/* Every VM, newest first. */
GPtrArray *sk_vm_list (const char *store_root, GError **error);
/* Removes the VM's directory and name; the caller stopped it first. */
gboolean sk_vm_remove_dir (const char *store_root, const SkVm *vm, GError **error);

/* What the VM is doing now, from its traces (pid files checked against
 * /proc, the exit file): never from a stale record alone. */
typedef struct {
  SkVmState state;
  int exit_code;       /* valid when exited; -1 unknown */
  char *exit_reason;   /* "killed", "qemu failed", ... or NULL */
  int qemu_pid;        /* >0 when running */
  int monitor_pid;     /* >0 when a monitor is alive */
} SkVmStatus;
void sk_vm_status_clear (SkVmStatus *st);
void sk_vm_status (const char *store_root, const SkVm *vm, SkVmStatus *out);

/* "Up 3 minutes", "Exited (0) 2 seconds ago", "Created". */
char *sk_vm_status_string (const SkVm *vm, const SkVmStatus *st, gint64 now);

/* Records a pid with its /proc start time, so a reused pid never looks
 * alive (atomically, not fsynced: no process survives a crash). */
gboolean sk_vm_write_pid (const char *path, int pid, GError **error);
/* The pid recorded in @path if that very process still runs, else 0. */
int sk_vm_read_live_pid (const char *path);

G_END_DECLS
