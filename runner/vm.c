/* skiff — VM records and their state on disk. */
#include "runner/vm.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void
sk_vm_free (SkVm *vm)
{
  if (vm == NULL)
    return;
  g_free (vm->id);
  g_free (vm->name);
  g_free (vm->image);
  g_free (vm->image_digest);
  g_free (vm->hostname);
  g_free (vm->network);
  g_free (vm->accel);
  g_clear_pointer (&vm->ports, g_ptr_array_unref);
  g_clear_pointer (&vm->env, g_ptr_array_unref);
  g_free (vm->user);
  g_free (vm->user_data);
  g_free (vm->console_log);
  g_free (vm->boot);
  g_free (vm->kernel);
  g_free (vm->initrd);
  g_free (vm->cmdline);
  g_free (vm->top_layer);
  g_free (vm->accel_used);
  g_free (vm);
}

char *
sk_vm_dir_root (const char *store_root)
{
  return g_build_filename (store_root, "vms", NULL);
}

char *
sk_vm_dir (const char *store_root, const char *id)
{
  return g_build_filename (store_root, "vms", id, NULL);
}

char *
sk_vm_path (const char *store_root, const SkVm *vm, const char *file)
{
  return g_build_filename (store_root, "vms", vm->id, file, NULL);
}

char *
sk_vm_new_id (void)
{
  guint8 raw[32];
  g_autoptr (GRand) r = NULL;
  FILE *f = fopen ("/dev/urandom", "re");
  if (f == NULL || fread (raw, 1, sizeof raw, f) != sizeof raw)
    {
      r = g_rand_new ();
      for (guint i = 0; i < sizeof raw; i++)
        raw[i] = g_rand_int (r) & 0xff;
    }
  if (f)
    fclose (f);
  GString *s = g_string_sized_new (65);
  for (guint i = 0; i < sizeof raw; i++)
    g_string_append_printf (s, "%02x", raw[i]);
  return g_string_free (s, FALSE);
}

char *
sk_vm_random_name (void)
{
  static const char *adj[] = { "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen",
                               "lucid", "merry", "nifty", "proud", "quiet", "sharp", "tidy", "witty" };
  static const char *noun[] = { "albatross", "beacon", "cutter", "dinghy", "ferry", "galleon", "harbor",
                                "jetty", "ketch", "lighthouse", "mooring", "pilot", "raft", "schooner",
                                "tender", "yawl" };
  return g_strdup_printf ("%s_%s_%u", adj[g_random_int_range (0, G_N_ELEMENTS (adj))],
                          noun[g_random_int_range (0, G_N_ELEMENTS (noun))], g_random_int_range (0, 10000));
}

gboolean
sk_vm_check_name (const char *name, GError **error)
{
  gboolean ok = name && g_ascii_isalnum (name[0]) && strlen (name) <= 128;
  for (const char *p = name; ok && *p; p++)
    ok = g_ascii_isalnum (*p) || *p == '_' || *p == '.' || *p == '-';
  if (!ok)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "invalid VM name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name ? name : ""),
           FALSE;
  return TRUE;
}

/* ---- JSON ---- */

static void
set_str (json_t *o, const char *key, const char *v)
{
  if (v)
    json_object_set_new (o, key, json_string (v));
}

static json_t *
strv_to_json (GPtrArray *a)
{
  json_t *arr = json_array ();
  for (guint i = 0; a && i < a->len; i++)
    json_array_append_new (arr, json_string (a->pdata[i]));
  return arr;
}

static json_t *
vm_to_json (const SkVm *vm)
{
  json_t *o = json_object ();
  set_str (o, "id", vm->id);
  set_str (o, "name", vm->name);
  set_str (o, "image", vm->image);
  set_str (o, "image_digest", vm->image_digest);
  json_object_set_new (o, "created", json_integer (vm->created));
  json_object_set_new (o, "memory_mib", json_integer (vm->memory_mib));
  json_object_set_new (o, "cpus", json_integer (vm->cpus));
  json_object_set_new (o, "disk_size", json_integer (vm->disk_size));
  set_str (o, "hostname", vm->hostname);
  set_str (o, "network", vm->network);
  set_str (o, "accel", vm->accel);
  json_object_set_new (o, "auto_remove", json_boolean (vm->auto_remove));
  json_object_set_new (o, "ports", strv_to_json (vm->ports));
  json_object_set_new (o, "env", strv_to_json (vm->env));
  set_str (o, "user", vm->user);
  set_str (o, "user_data", vm->user_data);
  set_str (o, "console_log", vm->console_log);
  set_str (o, "boot", vm->boot);
  set_str (o, "kernel", vm->kernel);
  set_str (o, "initrd", vm->initrd);
  set_str (o, "cmdline", vm->cmdline);
  set_str (o, "top_layer", vm->top_layer);
  json_object_set_new (o, "ssh_port", json_integer (vm->ssh_port));
  set_str (o, "accel_used", vm->accel_used);
  json_object_set_new (o, "started", json_integer (vm->started));
  json_object_set_new (o, "finished", json_integer (vm->finished));
  return o;
}

static char *
get_str (json_t *o, const char *key)
{
  const char *v = json_string_value (json_object_get (o, key));
  return v ? g_strdup (v) : NULL;
}

static GPtrArray *
json_to_strv (json_t *arr)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
    if (json_is_string (v))
      g_ptr_array_add (a, g_strdup (json_string_value (v)));
  return a;
}

static SkVm *
vm_from_json (json_t *o)
{
  SkVm *vm = g_new0 (SkVm, 1);
  vm->id = get_str (o, "id");
  vm->name = get_str (o, "name");
  vm->image = get_str (o, "image");
  vm->image_digest = get_str (o, "image_digest");
  vm->created = json_integer_value (json_object_get (o, "created"));
  vm->memory_mib = json_integer_value (json_object_get (o, "memory_mib"));
  vm->cpus = json_integer_value (json_object_get (o, "cpus"));
  vm->disk_size = json_integer_value (json_object_get (o, "disk_size"));
  vm->hostname = get_str (o, "hostname");
  vm->network = get_str (o, "network");
  vm->accel = get_str (o, "accel");
  vm->auto_remove = json_is_true (json_object_get (o, "auto_remove"));
  vm->ports = json_to_strv (json_object_get (o, "ports"));
  vm->env = json_to_strv (json_object_get (o, "env"));
  vm->user = get_str (o, "user");
  vm->user_data = get_str (o, "user_data");
  vm->console_log = get_str (o, "console_log");
  vm->boot = get_str (o, "boot");
  vm->kernel = get_str (o, "kernel");
  vm->initrd = get_str (o, "initrd");
  vm->cmdline = get_str (o, "cmdline");
  vm->top_layer = get_str (o, "top_layer");
  vm->ssh_port = json_integer_value (json_object_get (o, "ssh_port"));
  vm->accel_used = get_str (o, "accel_used");
  vm->started = json_integer_value (json_object_get (o, "started"));
  vm->finished = json_integer_value (json_object_get (o, "finished"));
  return vm;
}

static gboolean
save (const char *store_root, const SkVm *vm, gboolean sync, GError **error)
{
  g_autoptr (json_t) o = vm_to_json (vm);
  g_autofree char *text = json_dumps (o, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  g_autofree char *path = sk_vm_path (store_root, vm, "record.json");
  return sync ? sk_file_write_atomic (path, text, strlen (text), 0644, error)
              : sk_file_write_atomic_nosync (path, text, strlen (text), 0644, error);
}

gboolean
sk_vm_save (const char *store_root, const SkVm *vm, GError **error)
{
  return save (store_root, vm, TRUE, error);
}

gboolean
sk_vm_save_unsynced (const char *store_root, const SkVm *vm, GError **error)
{
  return save (store_root, vm, FALSE, error);
}

static gboolean
fsync_path (int dfd, const char *name, const char *display, GError **error)
{
  sk_autofd int fd = openat (dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    return TRUE; /* a temporary that was renamed meanwhile */
  if (fd < 0 || fsync (fd) < 0)
    return sk_error_from_errno (error, errno, "syncing '%s/%s'", display, name);
  return TRUE;
}

gboolean
sk_vm_sync (const char *store_root, const SkVm *vm, GError **error)
{
  g_autofree char *dir = sk_vm_dir (store_root, vm->id);
  sk_autofd int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return sk_error_from_errno (error, errno, "opening '%s'", dir);
  g_autoptr (GDir) d = g_dir_open (dir, 0, error);
  if (d == NULL)
    return FALSE;
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      struct stat st;
      /* Files only: not console.log when it links to the user's file,
       * not qemu's sockets. */
      if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)
          && !fsync_path (dfd, name, dir, error))
        return FALSE;
    }
  g_autofree char *vms = sk_vm_dir_root (store_root);
  g_autofree char *names = g_build_filename (vms, "names", NULL);
  if (fsync (dfd) < 0)
    return sk_error_from_errno (error, errno, "syncing '%s'", dir);
  return fsync_path (AT_FDCWD, vms, "", error) && fsync_path (AT_FDCWD, names, "", error);
}

SkVm *
sk_vm_load (const char *store_root, const char *id, GError **error)
{
  g_autofree char *dir = sk_vm_dir (store_root, id);
  g_autofree char *path = g_build_filename (dir, "record.json", NULL);
  json_error_t jerr;
  g_autoptr (json_t) o = json_load_file (path, 0, &jerr);
  if (o == NULL)
    {
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "no such VM '%s'", id), NULL;
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "VM record '%s': line %d: %s", path, jerr.line,
                          jerr.text), NULL;
    }
  SkVm *vm = vm_from_json (o);
  if (vm->id == NULL || !g_str_equal (vm->id, id))
    {
      sk_vm_free (vm);
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "VM record '%s' names another id", path), NULL;
    }
  return vm;
}

gboolean
sk_vm_create_dir (const char *store_root, SkVm *vm, GError **error)
{
  g_autofree char *names = g_build_filename (store_root, "vms", "names", NULL);
  g_autofree char *dir = sk_vm_dir (store_root, vm->id);
  if (g_mkdir_with_parents (names, 0755) < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", names);
  if (mkdir (dir, 0700) < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", dir);
  g_autofree char *link = g_build_filename (names, vm->name, NULL);
  if (symlink (vm->id, link) < 0)
    {
      int errsv = errno;
      (void) rmdir (dir);
      if (errsv == EEXIST)
        {
          g_autofree char *other = g_file_read_link (link, NULL);
          return g_set_error (error, SK_ERROR, SK_ERROR_EXISTS,
                              "the name '%s' is already in use by VM %.12s: remove it or pick another name",
                              vm->name, other ? other : "?"), FALSE;
        }
      return sk_error_from_errno (error, errsv, "reserving the name '%s'", vm->name);
    }
  if (!sk_vm_save_unsynced (store_root, vm, error))
    {
      (void) unlink (link);
      return FALSE;
    }
  return TRUE;
}

static gint
vm_newest_first (gconstpointer a, gconstpointer b)
{
  const SkVm *x = *(SkVm **) a, *y = *(SkVm **) b;
  if (x->created != y->created)
    return x->created < y->created ? 1 : -1;
  return g_strcmp0 (x->id, y->id);
}

GPtrArray *
sk_vm_list (const char *store_root, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_vm_free);
  g_autofree char *root = sk_vm_dir_root (store_root);
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      if (strlen (name) != 64)
        continue;
      g_autoptr (GError) local = NULL;
      SkVm *vm = sk_vm_load (store_root, name, &local);
      if (vm)
        g_ptr_array_add (out, vm);
      /* A directory without a record is a create that died half-way:
       * invisible, and removed by the next `rm`/prune of that id. */
    }
  g_ptr_array_sort (out, vm_newest_first);
  return g_steal_pointer (&out);
}

SkVm *
sk_vm_lookup (const char *store_root, const char *key, GError **error)
{
  g_autofree char *link = g_build_filename (store_root, "vms", "names", key, NULL);
  g_autofree char *target = strchr (key, '/') ? NULL : g_file_read_link (link, NULL);
  if (target)
    return sk_vm_load (store_root, target, error);
  g_autoptr (GPtrArray) all = sk_vm_list (store_root, error);
  if (all == NULL)
    return NULL;
  int found = -1;
  for (guint i = 0; strlen (key) >= 3 && i < all->len; i++)
    if (g_str_has_prefix (((SkVm *) all->pdata[i])->id, key))
      {
        if (found >= 0)
          return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "VM id '%s' is ambiguous", key), NULL;
        found = i;
      }
  if (found < 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "no such VM '%s'", key), NULL;
  return g_ptr_array_steal_index (all, found);
}

static gboolean
remove_tree (const char *dir, GError **error)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return TRUE;
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        {
          if (!remove_tree (p, error))
            return FALSE;
        }
      else if (unlink (p) < 0 && errno != ENOENT)
        return sk_error_from_errno (error, errno, "removing '%s'", p);
    }
  if (rmdir (dir) < 0 && errno != ENOENT)
    return sk_error_from_errno (error, errno, "removing '%s'", dir);
  return TRUE;
}

gboolean
sk_vm_remove_dir (const char *store_root, const SkVm *vm, GError **error)
{
  /* The record goes first: a VM without one is invisible, so a crash in
   * the middle never shows a half-removed VM. */
  g_autofree char *record = sk_vm_path (store_root, vm, "record.json");
  if (unlink (record) < 0 && errno != ENOENT)
    return sk_error_from_errno (error, errno, "removing '%s'", record);
  g_autofree char *link = g_build_filename (store_root, "vms", "names", vm->name, NULL);
  g_autofree char *target = g_file_read_link (link, NULL);
  if (target && g_str_equal (target, vm->id))
    (void) unlink (link);
  g_autofree char *dir = sk_vm_dir (store_root, vm->id);
  return remove_tree (dir, error);
}

/* ---- liveness ---- */

/* Field 22 of /proc/PID/stat: the process's start time in clock ticks. */
static guint64
proc_start_time (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  const char *p = strrchr (text, ')');
  if (p == NULL)
    return 0;
  g_auto (GStrv) f = g_strsplit (p + 2, " ", 0);
  if (g_strv_length (f) < 20)
    return 0;
  if (f[0][0] == 'Z' || f[0][0] == 'X')
    return 0; /* a zombie is dead for our purposes */
  return g_ascii_strtoull (f[19], NULL, 10);
}

gboolean
sk_vm_write_pid (const char *path, int pid, GError **error)
{
  g_autofree char *text = g_strdup_printf ("%d %" G_GUINT64_FORMAT "\n", pid, proc_start_time (pid));
  /* No fsync: a pid outlives no crash of the machine. */
  return sk_file_write_atomic_nosync (path, text, strlen (text), 0644, error);
}

int
sk_vm_read_live_pid (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  int pid = 0;
  guint64 start = 0;
  if (sscanf (text, "%d %" G_GUINT64_FORMAT, &pid, &start) != 2 || pid <= 0)
    return 0;
  if (kill (pid, 0) < 0 && errno == ESRCH)
    return 0;
  guint64 now = proc_start_time (pid);
  return now != 0 && now == start ? pid : 0;
}

void
sk_vm_status_clear (SkVmStatus *st)
{
  g_clear_pointer (&st->exit_reason, g_free);
}

#define SETTLE_POLL_US (10 * 1000)
#define SETTLE_POLLS 300 /* 3 s */

void
sk_vm_status (const char *store_root, const SkVm *vm, SkVmStatus *out)
{
  memset (out, 0, sizeof *out);
  out->exit_code = -1;
  g_autofree char *qpid = sk_vm_path (store_root, vm, "qemu.pid");
  g_autofree char *mpid = sk_vm_path (store_root, vm, "monitor.pid");
  g_autofree char *exitf = sk_vm_path (store_root, vm, "exit");
  out->qemu_pid = sk_vm_read_live_pid (qpid);
  out->monitor_pid = sk_vm_read_live_pid (mpid);
  /* Between qemu's exit (or before its start) and the monitor's record of
   * it, a live monitor is about to write the truth: wait for it a moment
   * rather than calling the VM killed. */
  for (guint i = 0; i < SETTLE_POLLS && vm->started > 0 && out->qemu_pid == 0 && out->monitor_pid > 0
                    && !g_file_test (exitf, G_FILE_TEST_EXISTS);
       i++)
    {
      g_usleep (SETTLE_POLL_US);
      out->qemu_pid = sk_vm_read_live_pid (qpid);
      out->monitor_pid = sk_vm_read_live_pid (mpid);
    }
  g_autofree char *exit_text = NULL;
  if (out->qemu_pid > 0)
    out->state = SK_VM_RUNNING;
  else if (g_file_get_contents (exitf, &exit_text, NULL, NULL))
    {
      out->state = SK_VM_EXITED;
      g_auto (GStrv) parts = g_strsplit (g_strchomp (exit_text), " ", 2);
      out->exit_code = parts[0] ? atoi (parts[0]) : -1;
      out->exit_reason = parts[0] && parts[1] ? g_strdup (parts[1]) : NULL;
    }
  else if (vm->started > 0)
    {
      /* Started, no exit recorded, qemu gone: the supervisor died too
       * (SIGKILL of both, or a host crash). */
      out->state = SK_VM_EXITED;
      out->exit_code = 137;
      out->exit_reason = g_strdup ("killed");
    }
  else
    out->state = SK_VM_CREATED;
}

static char *
duration (gint64 secs)
{
  if (secs < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " second%s", secs, secs == 1 ? "" : "s");
  if (secs < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT " minute%s", secs / 60, secs / 60 == 1 ? "" : "s");
  if (secs < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT " hour%s", secs / 3600, secs / 3600 == 1 ? "" : "s");
  return g_strdup_printf ("%" G_GINT64_FORMAT " day%s", secs / 86400, secs / 86400 == 1 ? "" : "s");
}

char *
sk_vm_status_string (const SkVm *vm, const SkVmStatus *st, gint64 now)
{
  switch (st->state)
    {
    case SK_VM_RUNNING:
      {
        g_autofree char *d = duration (MAX (0, now - vm->started));
        return g_strdup_printf ("Up %s", d);
      }
    case SK_VM_EXITED:
      {
        g_autofree char *age = sk_format_age (vm->finished ? vm->finished : vm->started, now);
        return g_strdup_printf ("Exited (%d) %s", st->exit_code, age);
      }
    case SK_VM_CREATED:
    default:
      return g_strdup ("Created");
    }
}
