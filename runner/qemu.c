#include "runner/qemu.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <string.h>
#include <sys/un.h>

#define SK_QEMU_MIN_MEMORY_MIB 32
#define SK_QEMU_MAX_CPUS 255

char *
sk_qemu_escape_option (const char *value)
{
  GString *s = g_string_sized_new (strlen (value) + 8);
  for (const char *p = value; *p != '\0'; p++)
    {
      g_string_append_c (s, *p);
      if (*p == ',')
        g_string_append_c (s, ',');
    }
  return g_string_free (s, FALSE);
}

/* ---- spec check ---- */

static gboolean
check_socket_path (const char *what, const char *path, GError **error)
{
  if (strlen (path) >= sizeof ((struct sockaddr_un *) 0)->sun_path)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                   "%s socket path '%s' is too long for a unix socket (%zu bytes, at most %zu)",
                   what, path, strlen (path), sizeof ((struct sockaddr_un *) 0)->sun_path - 1);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_boot (const SkQemuSpec *spec, GError **error)
{
  if (spec->boot == SK_BOOT_KERNEL && (spec->kernel == NULL || *spec->kernel == '\0'))
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_IMAGE,
                        "kernel boot without a kernel"), FALSE;
  if (spec->boot != SK_BOOT_KERNEL && spec->microvm)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                        "microvm needs direct kernel boot, not '%s'",
                        sk_boot_mode_to_string (spec->boot)), FALSE;
  if (spec->boot == SK_BOOT_UEFI && (spec->firmware_code == NULL || spec->firmware_vars == NULL))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND,
                        "uefi boot needs firmware code and vars files"), FALSE;
  return TRUE;
}

static gboolean
check_resources (const SkQemuSpec *spec, GError **error)
{
  if (spec->accel == NULL || (!g_str_equal (spec->accel, "kvm") && !g_str_equal (spec->accel, "tcg")))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "unknown accelerator '%s' (expected kvm or tcg)",
                        spec->accel ? spec->accel : ""), FALSE;
  if (spec->memory_mib < SK_QEMU_MIN_MEMORY_MIB)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "memory of %u MiB is below the minimum of %u MiB",
                        spec->memory_mib, SK_QEMU_MIN_MEMORY_MIB), FALSE;
  if (spec->cpus < 1 || spec->cpus > SK_QEMU_MAX_CPUS)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "%u cpus is not a number from 1 to %u",
                        spec->cpus, SK_QEMU_MAX_CPUS), FALSE;
  return TRUE;
}

static gboolean
check_ports (const SkQemuSpec *spec, GError **error)
{
  if (spec->n_ports > 0 && !spec->network_user)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "port mappings need the user-mode network"), FALSE;
  for (guint i = 0; i < spec->n_ports; i++)
    if (sk_port_map_is_ipv6 (&spec->ports[i]))
      {
        g_autofree char *s = sk_port_map_to_spec (&spec->ports[i]);
        return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED,
                            "port mapping '%s': qemu's user-mode network forwards only "
                            "IPv4 host addresses", s), FALSE;
      }
  return TRUE;
}

gboolean
sk_qemu_spec_check (const SkQemuSpec *spec, GError **error)
{
  if (spec->qemu == NULL || spec->disk == NULL || spec->qmp_socket == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED,
                        "qemu spec lacks the qemu binary, disk or qmp socket"), FALSE;
  if (!check_resources (spec, error) || !check_boot (spec, error) || !check_ports (spec, error))
    return FALSE;
  if (!check_socket_path ("qmp", spec->qmp_socket, error))
    return FALSE;
  if (spec->serial_socket != NULL && !check_socket_path ("console", spec->serial_socket, error))
    return FALSE;
  return TRUE;
}

/* ---- kernel command line ---- */

typedef struct {
  gboolean console, panic, tsc;
  gssize init_args; /* offset of a standalone "--", or -1 */
} CmdlineScan;

/* Walks the words of @base as the kernel splits them (spaces outside
 * double quotes), noting the parameters skiff adds and where "--" is. */
static CmdlineScan
scan_cmdline (const char *base)
{
  CmdlineScan scan = { .init_args = -1 };
  const char *p = base;
  while (*p != '\0')
    {
      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      const char *word = p;
      gboolean quoted = FALSE;
      while (*p != '\0' && (quoted || !g_ascii_isspace (*p)))
        quoted ^= *p++ == '"';
      gsize len = (gsize) (p - word);
      if (len == 2 && strncmp (word, "--", 2) == 0)
        {
          scan.init_args = word - base;
          break;
        }
      scan.console |= g_str_has_prefix (word, "console=");
      scan.panic |= g_str_has_prefix (word, "panic=");
      scan.tsc |= g_str_has_prefix (word, "tsc_early_khz=");
    }
  return scan;
}

static void
append_word (GString *s, const char *word)
{
  if (s->len > 0)
    g_string_append_c (s, ' ');
  g_string_append (s, word);
}

char *
sk_qemu_kernel_cmdline (const char *base, guint64 tsc_khz)
{
  if (base == NULL)
    base = "";
  CmdlineScan scan = scan_cmdline (base);
  gsize head_len = scan.init_args >= 0 ? (gsize) scan.init_args : strlen (base);
  g_autoptr (GString) s = g_string_new_len (base, (gssize) head_len);
  while (s->len > 0 && g_ascii_isspace (s->str[s->len - 1]))
    g_string_truncate (s, s->len - 1);
  if (!scan.console)
    append_word (s, "console=ttyS0");
  if (!scan.panic)
    append_word (s, "panic=-1");
  if (tsc_khz > 0 && !scan.tsc)
    {
      g_autofree char *tsc = g_strdup_printf ("tsc_early_khz=%" G_GUINT64_FORMAT, tsc_khz);
      append_word (s, tsc);
    }
  if (scan.init_args >= 0)
    append_word (s, base + scan.init_args);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- qemu argv ---- */

static gboolean
uses_mmio (const SkQemuSpec *spec)
{
  return spec->boot == SK_BOOT_KERNEL && spec->microvm;
}

/* "virtio-blk-device" on microvm's virtio-mmio, "virtio-blk-pci" on q35. */
static char *
virtio_device (const SkQemuSpec *spec, const char *kind)
{
  return g_strdup_printf ("virtio-%s-%s", kind, uses_mmio (spec) ? "device" : "pci");
}

static void
add_printf (GStrvBuilder *b, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
add_printf (GStrvBuilder *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_strv_builder_add (b, s);
}

static void
add_machine (GStrvBuilder *b, const SkQemuSpec *spec)
{
  if (spec->name != NULL)
    {
      g_autofree char *name = sk_qemu_escape_option (spec->name);
      g_strv_builder_add (b, "-name");
      add_printf (b, "guest=%s", name);
    }
  g_strv_builder_add_many (b, "-accel", spec->accel, NULL);
  if (g_str_equal (spec->accel, "kvm"))
    g_strv_builder_add_many (b, "-cpu", "host", NULL);
  g_strv_builder_add (b, "-M");
  if (uses_mmio (spec))
    g_strv_builder_add (b, "microvm,acpi=on");
  else if (spec->boot == SK_BOOT_UEFI)
    g_strv_builder_add (b, "q35,pflash0=fw-code,pflash1=fw-vars");
  else
    g_strv_builder_add (b, "q35");
  g_strv_builder_add_many (b, "-nodefaults", "-no-user-config", "-display", "none",
                           "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
                           "-no-reboot", NULL);
  if (spec->paused)
    g_strv_builder_add (b, "-S");
  g_strv_builder_add (b, "-m");
  add_printf (b, "%uM", spec->memory_mib);
  g_strv_builder_add (b, "-smp");
  add_printf (b, "%u", spec->cpus);
}

/* A raw or qcow2 node named @node over a file node for @path. */
static void
add_blockdev (GStrvBuilder *b, const char *node, const char *driver, const char *path,
              const char *extra)
{
  g_autofree char *file = sk_qemu_escape_option (path);
  g_strv_builder_add (b, "-blockdev");
  add_printf (b, "node-name=%s,driver=%s%s,file.driver=file,file.filename=%s", node, driver,
              extra, file);
}

static void
add_boot (GStrvBuilder *b, const SkQemuSpec *spec)
{
  if (spec->boot == SK_BOOT_UEFI)
    {
      add_blockdev (b, "fw-code", "raw", spec->firmware_code, ",read-only=on");
      add_blockdev (b, "fw-vars", "raw", spec->firmware_vars, "");
    }
  if (spec->boot != SK_BOOT_KERNEL)
    return;
  gboolean tcg = g_str_equal (spec->accel, "tcg");
  g_autofree char *cmdline = sk_qemu_kernel_cmdline (spec->cmdline, tcg ? spec->tsc_khz : 0);
  g_strv_builder_add_many (b, "-kernel", spec->kernel, NULL);
  if (spec->initrd != NULL)
    g_strv_builder_add_many (b, "-initrd", spec->initrd, NULL);
  g_strv_builder_add_many (b, "-append", cmdline, NULL);
}

static void
add_disks (GStrvBuilder *b, const SkQemuSpec *spec)
{
  g_autofree char *blk = virtio_device (spec, "blk");
  add_blockdev (b, "disk0", "qcow2", spec->disk, ",discard=unmap");
  g_strv_builder_add (b, "-device");
  add_printf (b, "%s,drive=disk0%s", blk, spec->boot == SK_BOOT_KERNEL ? "" : ",bootindex=0");
  if (spec->seed == NULL)
    return;
  add_blockdev (b, "seed0", "raw", spec->seed, ",read-only=on");
  g_strv_builder_add (b, "-device");
  add_printf (b, "%s,drive=seed0", blk);
}

static void
add_network (GStrvBuilder *b, const SkQemuSpec *spec)
{
  g_autofree char *rng = virtio_device (spec, "rng");
  g_strv_builder_add_many (b, "-device", rng, NULL);
  if (!spec->network_user)
    return;
  g_autoptr (GString) netdev = g_string_new ("user,id=net0");
  for (guint i = 0; i < spec->n_ports; i++)
    {
      g_autofree char *fwd = sk_port_map_to_hostfwd (&spec->ports[i]);
      g_string_append_printf (netdev, ",hostfwd=%s", fwd);
    }
  g_autofree char *net = virtio_device (spec, "net");
  g_strv_builder_add_many (b, "-netdev", netdev->str, "-device", NULL);
  add_printf (b, "%s,netdev=net0%s", net, uses_mmio (spec) ? "" : ",romfile=");
}

static void
add_console (GStrvBuilder *b, const SkQemuSpec *spec)
{
  g_autofree char *log = spec->console_log ? sk_qemu_escape_option (spec->console_log) : NULL;
  if (spec->serial_socket != NULL)
    {
      g_autofree char *sock = sk_qemu_escape_option (spec->serial_socket);
      g_autofree char *logopt = log ? g_strdup_printf (",logfile=%s,logappend=on", log) : g_strdup ("");
      g_strv_builder_add (b, "-chardev");
      add_printf (b, "socket,id=console0,path=%s,server=on,wait=off%s", sock, logopt);
    }
  else if (log != NULL)
    {
      g_strv_builder_add (b, "-chardev");
      add_printf (b, "file,id=console0,path=%s,append=on", log);
    }
  else
    return;
  g_strv_builder_add_many (b, "-serial", "chardev:console0", NULL);
}

static void
add_control (GStrvBuilder *b, const SkQemuSpec *spec)
{
  g_autofree char *qmp = sk_qemu_escape_option (spec->qmp_socket);
  g_strv_builder_add (b, "-chardev");
  add_printf (b, "socket,id=qmp0,path=%s,server=on,wait=off", qmp);
  g_strv_builder_add_many (b, "-mon", "chardev=qmp0,mode=control", NULL);
  if (spec->pidfile != NULL)
    g_strv_builder_add_many (b, "-pidfile", spec->pidfile, NULL);
}

GStrv
sk_qemu_build_argv (const SkQemuSpec *spec)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add (b, spec->qemu);
  add_machine (b, spec);
  add_boot (b, spec);
  add_disks (b, spec);
  add_network (b, spec);
  add_console (b, spec);
  add_control (b, spec);
  return g_strv_builder_end (b);
}

/* ---- qemu-img ---- */

GStrv
sk_qemu_img_resize_argv (const char *image, guint64 size)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add_many (b, "qemu-img", "resize", "-q", "-f", "qcow2", image, NULL);
  add_printf (b, "%" G_GUINT64_FORMAT, size);
  return g_strv_builder_end (b);
}

GStrv
sk_qemu_img_info_argv (const char *image)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_strv_builder_add_many (b, "qemu-img", "info", "--output=json", "-f", "qcow2", image, NULL);
  return g_strv_builder_end (b);
}

void
sk_qemu_img_info_free (SkQemuImgInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->format);
  g_free (info->backing_filename);
  g_free (info->backing_format);
  g_free (info);
}

static char *
dup_member (json_t *o, const char *key)
{
  const char *s = json_string_value (json_object_get (o, key));
  return s ? g_strdup (s) : NULL;
}

SkQemuImgInfo *
sk_qemu_img_parse_info (const char *json, GError **error)
{
  json_error_t jerr;
  g_autoptr (json_t) o = json_loads (json, 0, &jerr);
  if (o == NULL || !json_is_object (o))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "qemu-img info: line %d column %d: %s",
                   jerr.line, jerr.column, o ? "not an object" : jerr.text);
      return NULL;
    }
  json_t *vsize = json_object_get (o, "virtual-size");
  if (!json_is_integer (vsize) || json_integer_value (vsize) < 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "qemu-img info: no virtual-size");
      return NULL;
    }
  g_autoptr (SkQemuImgInfo) info = g_new0 (SkQemuImgInfo, 1);
  info->virtual_size = (guint64) json_integer_value (vsize);
  json_t *asize = json_object_get (o, "actual-size");
  if (json_is_integer (asize) && json_integer_value (asize) > 0)
    info->actual_size = (guint64) json_integer_value (asize);
  info->format = dup_member (o, "format");
  info->backing_filename = dup_member (o, "backing-filename");
  info->backing_format = dup_member (o, "backing-filename-format");
  return g_steal_pointer (&info);
}

/* ---- host TSC ---- */

/* kHz from "2300.000" (MHz, scale 1000) or "2.30" (GHz, scale 1000000). */
static guint64
parse_khz (const char *text, double scale)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || !(v > 0) || v * scale > 1e9)
    return 0;
  return (guint64) (v * scale + 0.5);
}

static guint64
parse_model_name_khz (const char *value)
{
  const char *at = strrchr (value, '@');
  if (at == NULL)
    return 0;
  char *end = NULL;
  const char *num = at + 1;
  while (*num == ' ')
    num++;
  (void) g_ascii_strtod (num, &end);
  if (end == num)
    return 0;
  if (g_str_has_prefix (end, "GHz"))
    return parse_khz (num, 1e6);
  if (g_str_has_prefix (end, "MHz"))
    return parse_khz (num, 1e3);
  return 0;
}

guint64
sk_qemu_parse_cpuinfo_khz (const char *cpuinfo)
{
  g_auto (GStrv) lines = g_strsplit (cpuinfo, "\n", -1);
  guint64 model_khz = 0;
  gboolean seen = FALSE;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');
      if (colon == NULL)
        {
          if (seen && g_strstrip (lines[i])[0] == '\0')
            break; /* end of the first processor's block */
          continue;
        }
      seen = TRUE;
      *colon = '\0';
      const char *key = g_strstrip (lines[i]);
      const char *value = g_strstrip (colon + 1);
      if (g_str_equal (key, "cpu MHz"))
        {
          guint64 khz = parse_khz (value, 1e3);
          if (khz > 0)
            return khz;
        }
      else if (g_str_equal (key, "model name"))
        model_khz = parse_model_name_khz (value);
    }
  return model_khz;
}

guint64
sk_qemu_host_tsc_khz (void)
{
  g_autofree char *text = NULL;
  if (g_file_get_contents ("/sys/devices/system/cpu/cpu0/tsc_freq_khz", &text, NULL, NULL))
    {
      guint64 khz = g_ascii_strtoull (text, NULL, 10);
      if (khz > 0)
        return khz;
    }
  g_clear_pointer (&text, g_free);
  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    return 0;
  return sk_qemu_parse_cpuinfo_khz (text);
}
