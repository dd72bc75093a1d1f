/* skiff — creating a VM from an image. */
#include "runner/runner.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "oci/config.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/reference.h"
#include "runner/portspec.h"
#include "runner/qemu.h"
#include "runner/seed.h"
#include "runner/ssh.h"
#include "runner/sshkey.h"
#include "runner/userdata.h"
#include "store/qcow2.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A free TCP port on 127.0.0.1, as the kernel hands one out. */
static guint
free_port (GError **error)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "socket"), 0;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0 || getsockname (fd, (struct sockaddr *) &a, &len) < 0)
    {
      int errsv = errno;
      close (fd);
      return sk_error_from_errno (error, errsv, "picking a free port"), 0;
    }
  close (fd);
  return ntohs (a.sin_port);
}

static GPtrArray *
default_pubkeys (void)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = g_build_filename (g_get_home_dir (), ".ssh", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".pub"))
      g_ptr_array_add (out, g_build_filename (dir, name, NULL));
  return out;
}

/* Reads every key line of the given public key files (or the .pub files in ~/.ssh). */
static gboolean
collect_keys (GPtrArray *files, GPtrArray *keys, GError **error)
{
  g_autoptr (GPtrArray) defaults = files ? NULL : default_pubkeys ();
  GPtrArray *list = files ? files : defaults;
  for (guint i = 0; i < list->len; i++)
    {
      g_autofree char *text = NULL;
      if (!g_file_get_contents (list->pdata[i], &text, NULL, error))
        return g_prefix_error (error, "--ssh-key: "), FALSE;
      g_auto (GStrv) lines = g_strsplit (text, "\n", 0);
      for (char **l = lines; *l; l++)
        if (g_strstrip (*l)[0] && (*l)[0] != '#')
          g_ptr_array_add (keys, g_strdup (*l));
    }
  return TRUE;
}

static char *
read_pub (const char *path, GError **error)
{
  g_autofree char *pub = g_strconcat (path, ".pub", NULL);
  char *text = NULL;
  if (!g_file_get_contents (pub, &text, NULL, error))
    return NULL;
  return g_strstrip (text);
}

/* The VM's keys, cloud-init documents and seed ISO. */
static gboolean
make_seed (const char *root, SkVm *vm, const SkRunOptions *opts, const char *default_user, GError **error)
{
  g_autofree char *key = sk_vm_path (root, vm, "id_ed25519");
  g_autofree char *hostkey = sk_vm_path (root, vm, "ssh_host_ed25519_key");
  g_autoptr (SkUserDataSpec) spec = sk_userdata_spec_new ();
  spec->instance_id = g_strdup (vm->id);
  spec->hostname = g_strdup (vm->hostname);
  spec->default_user = g_strdup (default_user);
  if (!collect_keys (opts->ssh_keys, spec->authorized_keys, error))
    return FALSE;
  g_autofree char *mine = read_pub (key, error);
  if (mine == NULL || !g_file_get_contents (hostkey, &spec->host_key_private, NULL, error))
    return FALSE;
  g_ptr_array_add (spec->authorized_keys, g_steal_pointer (&mine));
  spec->host_key_public = read_pub (hostkey, error);
  if (spec->host_key_public == NULL)
    return FALSE;
  for (guint i = 0; opts->env && i < opts->env->len; i++)
    g_ptr_array_add (spec->env, g_strdup (opts->env->pdata[i]));

  g_autoptr (GBytes) supplied = NULL;
  if (opts->user_data_file)
    {
      g_autoptr (GFile) f = g_file_new_for_path (opts->user_data_file);
      supplied = g_file_load_bytes (f, NULL, NULL, error);
      if (supplied == NULL)
        return g_prefix_error (error, "--user-data '%s': ", opts->user_data_file), FALSE;
    }
  g_autofree char *user_data = NULL;
  if (!sk_userdata_build (spec, supplied, &user_data, error))
    return FALSE;
  g_autofree char *meta = sk_userdata_meta_data (vm->id, vm->hostname);
  g_autofree char *seed = sk_vm_path (root, vm, "seed.iso");
  SkSeedFiles files = { .meta_data = meta, .user_data = user_data };
  if (!sk_seed_write_iso (seed, &files, error))
    return FALSE;
  g_autofree char *kh = sk_vm_path (root, vm, "known_hosts");
  g_autofree char *line = sk_ssh_known_hosts_line (spec->host_key_public, vm->ssh_port);
  return sk_file_write_atomic_nosync (kh, line, strlen (line), 0644, error);
}

/* --console-log FILE: qemu appends the console to console.log, which is
 * then a symlink to FILE, so `skiff logs` and the user's file are one. */
static gboolean
link_console_log (const char *root, SkVm *vm, GError **error)
{
  if (vm->console_log == NULL)
    return TRUE;
  g_autofree char *dir = g_path_get_dirname (vm->console_log);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "--console-log: no directory '%s'", dir), FALSE;
  g_autofree char *link = sk_vm_path (root, vm, "console.log");
  if (symlink (vm->console_log, link) < 0)
    return sk_error_from_errno (error, errno, "--console-log '%s'", vm->console_log);
  return TRUE;
}

/* The virtual size of the image's top layer, from its own header (checked
 * against its parent's name): the overlay's size unless --disk-size. */
static gboolean
top_layer_size (const char *root, SkVm *vm, SkConfig *config, guint64 *out, GError **error)
{
  g_autofree char *path = g_build_filename (root, "layers", vm->top_layer, NULL);
  guint n = config->diff_ids->len;
  g_autofree char *parent = n > 1 ? g_strdup_printf ("%s.qcow2", sk_digest_hex (config->diff_ids->pdata[n - 2]))
                                  : NULL;
  g_auto (SkQcow2Info) info = { 0 };
  if (!sk_qcow2_validate (path, parent, &info, error))
    return FALSE;
  *out = info.virtual_size;
  return TRUE;
}

/* The overlay and both key pairs, in-process: helper programs (qemu-img,
 * ssh-keygen) would cost several ms each, most of it process start. */
static gboolean
make_disk_and_keys (const char *root, SkVm *vm, SkConfig *config, GError **error)
{
  guint64 image_size;
  if (!top_layer_size (root, vm, config, &image_size, error))
    return FALSE;
  if (vm->disk_size && vm->disk_size < image_size)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "--disk-size %" G_GUINT64_FORMAT " is smaller than the image's disk (%" G_GUINT64_FORMAT
                        " bytes): disks only grow", vm->disk_size, image_size), FALSE;
  g_autofree char *overlay = sk_vm_path (root, vm, "overlay.qcow2");
  g_autofree char *backing = g_build_filename ("..", "..", "layers", vm->top_layer, NULL);
  g_autofree char *key = sk_vm_path (root, vm, "id_ed25519");
  g_autofree char *hostkey = sk_vm_path (root, vm, "ssh_host_ed25519_key");
  g_autofree char *comment = g_strdup_printf ("skiff-%.12s", vm->id);
  return sk_qcow2_create_overlay (overlay, backing, vm->disk_size ? vm->disk_size : image_size, error)
         && sk_sshkey_generate_ed25519 (key, comment, error) && sk_sshkey_generate_ed25519 (hostkey, comment, error);
}

/* Canonical -p specs, checked. */
static gboolean
parse_ports (const SkRunOptions *opts, SkVm *vm, GError **error)
{
  vm->ports = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; opts->ports && i < opts->ports->len; i++)
    {
      SkPortMap pm;
      if (!sk_port_map_parse (opts->ports->pdata[i], &pm, error))
        return FALSE;
      g_ptr_array_add (vm->ports, sk_port_map_to_spec (&pm));
    }
  return TRUE;
}

static gboolean
fill_from_image (SkVm *vm, SkStoreImage *img, const SkRunOptions *opts, const char *boot_dir, SkConfig **out_config,
                 GError **error)
{
  g_autoptr (SkConfig) config = sk_config_parse (img->config, error);
  g_autoptr (SkManifest) m = config ? sk_manifest_parse (img->manifest, NULL, error) : NULL;
  if (m == NULL)
    return g_prefix_error (error, "image '%s': ", opts->image), FALSE;
  /* qemu here emulates this machine's architecture only */
  if (g_strcmp0 (config->architecture, sk_oci_host_arch ()) != 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED, "image '%s' is for %s, and this machine runs %s guests",
                        opts->image, config->architecture ? config->architecture : "an unknown architecture",
                        sk_oci_host_arch ()), FALSE;
  vm->memory_mib = opts->memory_mib ? opts->memory_mib : config->memory_mib;
  vm->cpus = opts->cpus ? opts->cpus : config->cpus;
  vm->boot = g_strdup (sk_boot_mode_to_string (config->boot));
  vm->cmdline = g_strdup (config->cmdline);
  vm->user = g_strdup (config->user);
  for (guint i = 0; i < m->layers->len; i++)
    {
      SkDescriptor *d = m->layers->pdata[i];
      g_autofree char *path = g_build_filename (boot_dir, sk_digest_hex (d->digest), NULL);
      if (g_str_equal (d->media_type, SK_MEDIA_TYPE_KERNEL))
        vm->kernel = g_steal_pointer (&path);
      else if (g_str_equal (d->media_type, SK_MEDIA_TYPE_INITRD))
        vm->initrd = g_steal_pointer (&path);
    }
  if (config->diff_ids->len == 0)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE, "image '%s' has no disk layer", opts->image), FALSE;
  const char *top = config->diff_ids->pdata[config->diff_ids->len - 1];
  vm->top_layer = g_strdup_printf ("%s.qcow2", sk_digest_hex (top));
  *out_config = g_steal_pointer (&config);
  return TRUE;
}

static SkVm *
vm_new (SkStoreImage *img, const SkRunOptions *opts, GError **error)
{
  g_autoptr (SkVm) vm = g_new0 (SkVm, 1);
  vm->id = sk_vm_new_id ();
  vm->name = opts->name ? g_strdup (opts->name) : sk_vm_random_name ();
  if (!sk_vm_check_name (vm->name, error))
    return NULL;
  /* A VM name may hold '_' and '.', a hostname label may not. */
  vm->hostname = opts->hostname ? g_strdup (opts->hostname) : g_strdelimit (g_strdup (vm->name), "_.", '-');
  if (!sk_userdata_check_hostname (vm->hostname, error))
    return NULL;
  for (guint i = 0; opts->env && i < opts->env->len; i++)
    if (!sk_userdata_check_env (opts->env->pdata[i], error))
      return NULL;
  vm->image = g_strdup (opts->image);
  vm->image_digest = g_strdup (img->digest);
  vm->created = g_get_real_time () / G_USEC_PER_SEC;
  vm->disk_size = opts->disk_size;
  vm->network = g_strdup (opts->network ? opts->network : "user");
  if (!g_str_equal (vm->network, "user") && !g_str_equal (vm->network, "none"))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid --network '%s': expected user or none",
                        vm->network), NULL;
  vm->accel = g_strdup (opts->accel ? opts->accel : "auto");
  vm->auto_remove = opts->auto_remove;
  vm->env = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; opts->env && i < opts->env->len; i++)
    g_ptr_array_add (vm->env, g_strdup (opts->env->pdata[i]));
  if (opts->console_log)
    {
      g_autofree char *cwd = g_get_current_dir ();
      vm->console_log = g_path_is_absolute (opts->console_log) ? g_strdup (opts->console_log)
                                                               : g_build_filename (cwd, opts->console_log, NULL);
    }
  if (!parse_ports (opts, vm, error))
    return NULL;
  return g_steal_pointer (&vm);
}

SkVm *
sk_runner_create (SkStore *store, SkStoreImage *img, const SkRunOptions *opts, GError **error)
{
  const char *root = sk_store_root (store);
  g_autoptr (SkVm) vm = vm_new (img, opts, error);
  g_autoptr (SkConfig) config = NULL;
  g_autofree char *boot_dir = g_build_filename (root, "boot", NULL);
  if (vm == NULL || !fill_from_image (vm, img, opts, boot_dir, &config, error))
    return NULL;
  vm->ssh_port = free_port (error);
  if (vm->ssh_port == 0 || !sk_vm_create_dir (root, vm, error))
    return NULL;
  /* From here on a failure removes what was made. */
  if (!link_console_log (root, vm, error) || !sk_store_hold (store, img->digest, vm->id, error) || !sk_store_checkout (store, img, error)
      || !make_disk_and_keys (root, vm, config, error)
      || !make_seed (root, vm, opts, config->user, error) || !sk_vm_save_unsynced (root, vm, error))
    {
      (void) sk_vm_remove_dir (root, vm, NULL);
      (void) sk_store_release (store, img->digest, vm->id, NULL);
      return NULL;
    }
  return g_steal_pointer (&vm);
}
