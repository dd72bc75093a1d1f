/* Unit tests: runner/portspec and runner/qemu — port mappings, the qemu
 * and qemu-img argv, kernel command lines, the host TSC, and a real qemu
 * that must accept the argv we build (started paused, checked over QMP). */
#include "common/error.h"
#include "common/util.h"
#include "runner/accel.h"
#include "runner/portspec.h"
#include "runner/qemu.h"
#include "runner/qmp.h"
#include "store/qcow2.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

/* ---- port mappings ---- */

typedef struct {
  const char *spec;
  const char *canonical; /* NULL: must be refused */
  const char *expect;    /* canonical ok: docker ps form; refused: message fragment */
  const char *hostfwd;
} PortCase;

static const PortCase port_cases[] = {
  { "8080:80", "127.0.0.1:8080:80/tcp", "127.0.0.1:8080->80/tcp", "tcp:127.0.0.1:8080-:80" },
  { "8080:80/tcp", "127.0.0.1:8080:80/tcp", "127.0.0.1:8080->80/tcp", "tcp:127.0.0.1:8080-:80" },
  { "5353:53/udp", "127.0.0.1:5353:53/udp", "127.0.0.1:5353->53/udp", "udp:127.0.0.1:5353-:53" },
  { "8080:80/TCP", "127.0.0.1:8080:80/tcp", "127.0.0.1:8080->80/tcp", "tcp:127.0.0.1:8080-:80" },
  { "0.0.0.0:2222:22", "0.0.0.0:2222:22/tcp", "0.0.0.0:2222->22/tcp", "tcp:0.0.0.0:2222-:22" },
  { "192.168.1.10:443:8443/tcp", "192.168.1.10:443:8443/tcp", "192.168.1.10:443->8443/tcp",
    "tcp:192.168.1.10:443-:8443" },
  { "[::1]:8080:80", "[::1]:8080:80/tcp", "[::1]:8080->80/tcp", "tcp:[::1]:8080-:80" },
  { "[0:0::1]:8080:80/udp", "[::1]:8080:80/udp", "[::1]:8080->80/udp", "udp:[::1]:8080-:80" },
  { "[::]:1:65535", "[::]:1:65535/tcp", "[::]:1->65535/tcp", "tcp:[::]:1-:65535" },
  { "65535:1", "127.0.0.1:65535:1/tcp", "127.0.0.1:65535->1/tcp", "tcp:127.0.0.1:65535-:1" },
  { "08080:080", "127.0.0.1:8080:80/tcp", "127.0.0.1:8080->80/tcp", "tcp:127.0.0.1:8080-:80" },
  { "80", NULL, "'80': expected [IP:]HOST:GUEST", NULL },
  { "", NULL, "'': expected [IP:]HOST:GUEST", NULL },
  { "0:80", NULL, "host port '0' is not a number from 1 to 65535", NULL },
  { "8080:0", NULL, "guest port '0' is not a number from 1 to 65535", NULL },
  { "65536:80", NULL, "host port '65536' is not a number from 1 to 65535", NULL },
  { "8080:99999999999999999999", NULL, "guest port '99999999999999999999' is not a number", NULL },
  { "-1:80", NULL, "host port '-1' is not a number", NULL },
  { "+80:80", NULL, "host port '+80' is not a number", NULL },
  { " 80:80", NULL, "host port ' 80' is not a number", NULL },
  { "80a:80", NULL, "host port '80a' is not a number", NULL },
  { "8000-8010:80", NULL, "port ranges are not supported", NULL },
  { ":80", NULL, "missing host port", NULL },
  { "8080:", NULL, "missing guest port", NULL },
  { "127.0.0.1::80", NULL, "missing host port", NULL },
  { ":8080:80", NULL, "empty host address", NULL },
  { "8080:80/sctp", NULL, "protocol 'sctp' is not tcp or udp", NULL },
  { "8080:80/", NULL, "protocol '' is not tcp or udp", NULL },
  { "localhost:8080:80", NULL, "'localhost' is not an IPv4 address", NULL },
  { "1.2.3:8080:80", NULL, "'1.2.3' is not an IPv4 address", NULL },
  { "256.1.1.1:8080:80", NULL, "'256.1.1.1' is not an IPv4 address", NULL },
  { "::1:8080:80", NULL, "IPv6 addresses go in brackets", NULL },
  { "[::1:8080:80", NULL, "missing ']'", NULL },
  { "[::1]8080:80", NULL, "expected ':' after ']'", NULL },
  { "[127.0.0.1]:8080:80", NULL, "'127.0.0.1' is not an IPv6 address", NULL },
  { "[fe80::1%eth0]:8080:80", NULL, "'fe80::1%eth0' is not an IPv6 address", NULL },
  { "[]:8080:80", NULL, "empty host address", NULL },
  { "[::1]:8080", NULL, "expected HOST:GUEST after the address", NULL },
  { "[::1]:1:2:3", NULL, "expected HOST:GUEST after the address", NULL },
  { "1.2.3.4:8080:80:90", NULL, "too many ':'", NULL },
};

static void
test_port_parse_table (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (port_cases), >=, 25);
  for (guint i = 0; i < G_N_ELEMENTS (port_cases); i++)
    {
      const PortCase *c = &port_cases[i];
      g_autoptr (GError) error = NULL;
      SkPortMap map;
      memset (&map, 0x5a, sizeof map);
      gboolean ok = sk_port_map_parse (c->spec, &map, &error);
      g_test_message ("case '%s'", c->spec);
      if (c->canonical == NULL)
        {
          g_assert_false (ok);
          g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
          g_autofree char *prefix = g_strdup_printf ("invalid port mapping '%s': ", c->spec);
          g_assert_true (g_str_has_prefix (error->message, prefix));
          g_assert_nonnull (strstr (error->message, c->expect));
          continue;
        }
      g_assert_no_error (error);
      g_assert_true (ok);
      g_autofree char *canonical = sk_port_map_to_spec (&map);
      g_autofree char *shown = sk_port_map_format (&map);
      g_autofree char *fwd = sk_port_map_to_hostfwd (&map);
      g_assert_cmpstr (canonical, ==, c->canonical);
      g_assert_cmpstr (shown, ==, c->expect);
      g_assert_cmpstr (fwd, ==, c->hostfwd);
      /* The canonical form reads back to the same mapping. */
      SkPortMap again;
      g_assert_true (sk_port_map_parse (canonical, &again, NULL));
      g_assert_cmpint (again.proto, ==, map.proto);
      g_assert_cmpstr (again.host_ip, ==, map.host_ip);
      g_assert_cmpuint (again.host_port, ==, map.host_port);
      g_assert_cmpuint (again.guest_port, ==, map.guest_port);
    }
}

static void
test_port_parse_fields (void)
{
  SkPortMap map;
  g_assert_true (sk_port_map_parse ("[2001:db8::10]:8443:443/udp", &map, NULL));
  g_assert_cmpint (map.proto, ==, SK_PORT_UDP);
  g_assert_cmpstr (map.host_ip, ==, "2001:db8::10");
  g_assert_cmpuint (map.host_port, ==, 8443);
  g_assert_cmpuint (map.guest_port, ==, 443);
  g_assert_true (sk_port_map_is_ipv6 (&map));
  g_assert_true (sk_port_map_parse ("22:2222", &map, NULL));
  g_assert_cmpstr (map.host_ip, ==, SK_PORT_DEFAULT_HOST_IP);
  g_assert_false (sk_port_map_is_ipv6 (&map));

  /* A refused spec leaves the output untouched. */
  memset (&map, 0, sizeof map);
  g_assert_false (sk_port_map_parse ("1.2.3.4:5:0", &map, NULL));
  g_assert_cmpuint (map.host_port, ==, 0);
  g_assert_cmpstr (map.host_ip, ==, "");
}

static void
test_port_parse_list (void)
{
  const char *ok_specs[] = { "8080:80", "8080:80/udp", "127.0.0.2:8080:80", "[::1]:8080:80", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) maps = sk_port_map_parse_list (ok_specs, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (maps->len, ==, 4);
  g_assert_cmpint (g_array_index (maps, SkPortMap, 1).proto, ==, SK_PORT_UDP);

  const char *dup[] = { "8080:80", "127.0.0.1:8080:81", NULL };
  g_assert_null (sk_port_map_parse_list (dup, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "'127.0.0.1:8080:81'"));
  g_assert_nonnull (strstr (error->message, "host port 8080/tcp is already mapped by '8080:80'"));
  g_clear_error (&error);

  const char *wild[] = { "127.0.0.1:53:53/udp", "0.0.0.0:53:5353/udp", NULL };
  g_assert_null (sk_port_map_parse_list (wild, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_clear_error (&error);

  const char *bad[] = { "8080:80", "nope", NULL };
  g_assert_null (sk_port_map_parse_list (bad, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "'nope'"));
  g_clear_error (&error);

  g_autoptr (GArray) none = sk_port_map_parse_list (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
}

/* ---- qemu argv ---- */

static char *
argv_join (GStrv argv)
{
  return g_strjoinv (" ", argv);
}

/* The argument following the only occurrence of @opt. */
static const char *
argv_after (GStrv argv, const char *opt)
{
  const char *found = NULL;
  for (guint i = 0; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], opt))
      {
        g_assert_null (found);
        g_assert_nonnull (argv[i + 1]);
        found = argv[i + 1];
      }
  g_assert_nonnull (found);
  return found;
}

static SkPortMap
port (const char *spec)
{
  SkPortMap map;
  g_assert_true (sk_port_map_parse (spec, &map, NULL));
  return map;
}

static void
test_argv_microvm_kernel (void)
{
  SkPortMap ports[] = { port ("8080:80"), port ("0.0.0.0:5353:53/udp") };
  SkQemuSpec spec = {
    .qemu = "/usr/bin/qemu-system-x86_64", .accel = "tcg", .boot = SK_BOOT_KERNEL,
    .kernel = "/s/boot/vmlinuz", .initrd = "/s/boot/initrd.img", .cmdline = "root=/dev/vda1 ro",
    .microvm = TRUE, .memory_mib = 512, .cpus = 2, .disk = "/v/overlay.qcow2", .seed = "/v/seed.iso",
    .network_user = TRUE, .ports = ports, .n_ports = 2, .qmp_socket = "/v/qmp.sock",
    .console_log = "/v/console.log", .serial_socket = "/v/console.sock", .pidfile = "/v/qemu.pid",
    .tsc_khz = 2300000, .name = "web",
  };
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qemu_spec_check (&spec, &error));
  g_assert_no_error (error);
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (argv);
  g_assert_cmpstr (joined, ==,
    "/usr/bin/qemu-system-x86_64 -name guest=web -accel tcg -M microvm,acpi=on "
    "-nodefaults -no-user-config -display none "
    "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny -no-reboot "
    "-m 512M -smp 2 "
    "-kernel /s/boot/vmlinuz -initrd /s/boot/initrd.img "
    "-append root=/dev/vda1 ro console=ttyS0 panic=-1 tsc_early_khz=2300000 "
    "-blockdev node-name=disk0,driver=qcow2,discard=unmap,file.driver=file,file.filename=/v/overlay.qcow2 "
    "-device virtio-blk-device,drive=disk0 "
    "-blockdev node-name=seed0,driver=raw,read-only=on,file.driver=file,file.filename=/v/seed.iso "
    "-device virtio-blk-device,drive=seed0 "
    "-device virtio-rng-device "
    "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:5353-:53 "
    "-device virtio-net-device,netdev=net0 "
    "-chardev socket,id=console0,path=/v/console.sock,server=on,wait=off,"
    "logfile=/v/console.log,logappend=on -serial chardev:console0 "
    "-chardev socket,id=qmp0,path=/v/qmp.sock,server=on,wait=off -mon chardev=qmp0,mode=control "
    "-pidfile /v/qemu.pid");
  /* The command line is one argument, whatever its spaces. */
  g_assert_cmpstr (argv_after (argv, "-append"), ==,
                   "root=/dev/vda1 ro console=ttyS0 panic=-1 tsc_early_khz=2300000");
}

static void
test_argv_q35_bios (void)
{
  SkPortMap ports[] = { port ("2222:22") };
  SkQemuSpec spec = {
    .qemu = "qemu-system-x86_64", .accel = "kvm", .boot = SK_BOOT_BIOS, .memory_mib = 2048, .cpus = 4,
    .disk = "overlay.qcow2", .seed = "seed.iso", .network_user = TRUE, .ports = ports, .n_ports = 1,
    .qmp_socket = "qmp.sock", .console_log = "console.log", .tsc_khz = 2300000,
  };
  g_assert_true (sk_qemu_spec_check (&spec, NULL));
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (argv);
  /* kvm: -cpu host; no kernel, so no tsc; disk boots first; no iPXE ROM;
   * without an attach socket the console goes to the log file only. */
  g_assert_cmpstr (joined, ==,
    "qemu-system-x86_64 -accel kvm -cpu host -M q35 -nodefaults -no-user-config -display none "
    "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny -no-reboot "
    "-m 2048M -smp 4 "
    "-blockdev node-name=disk0,driver=qcow2,discard=unmap,file.driver=file,file.filename=overlay.qcow2 "
    "-device virtio-blk-pci,drive=disk0,bootindex=0 "
    "-blockdev node-name=seed0,driver=raw,read-only=on,file.driver=file,file.filename=seed.iso "
    "-device virtio-blk-pci,drive=seed0 "
    "-device virtio-rng-pci "
    "-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22 -device virtio-net-pci,netdev=net0,romfile= "
    "-chardev file,id=console0,path=console.log,append=on -serial chardev:console0 "
    "-chardev socket,id=qmp0,path=qmp.sock,server=on,wait=off -mon chardev=qmp0,mode=control");
}

static void
test_argv_no_network (void)
{
  SkQemuSpec spec = {
    .qemu = "qemu", .accel = "tcg", .boot = SK_BOOT_KERNEL, .kernel = "k", .cmdline = "console=hvc0 panic=5",
    .memory_mib = 256, .cpus = 1, .disk = "d.qcow2", .network_user = FALSE, .qmp_socket = "q.sock",
    .paused = TRUE,
  };
  g_assert_true (sk_qemu_spec_check (&spec, NULL));
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (argv);
  /* q35 with kernel boot (not microvm): pci devices, no bootindex; no NIC,
   * no seed, no console chardev; the image's console and panic are kept. */
  g_assert_cmpstr (joined, ==,
    "qemu -accel tcg -M q35 -nodefaults -no-user-config -display none "
    "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny -no-reboot -S "
    "-m 256M -smp 1 -kernel k -append console=hvc0 panic=5 "
    "-blockdev node-name=disk0,driver=qcow2,discard=unmap,file.driver=file,file.filename=d.qcow2 "
    "-device virtio-blk-pci,drive=disk0 -device virtio-rng-pci "
    "-chardev socket,id=qmp0,path=q.sock,server=on,wait=off -mon chardev=qmp0,mode=control");
  g_assert_null (strstr (joined, "netdev"));
  g_assert_null (strstr (joined, "virtio-net"));
}

static void
test_argv_ipv6_port (void)
{
  SkPortMap ports[] = { port ("[::1]:8080:80") };
  SkQemuSpec spec = {
    .qemu = "qemu", .accel = "tcg", .boot = SK_BOOT_BIOS, .memory_mib = 256, .cpus = 1, .disk = "d",
    .network_user = TRUE, .ports = ports, .n_ports = 1, .qmp_socket = "q",
  };
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (argv);
  g_assert_nonnull (strstr (joined, " -netdev user,id=net0,hostfwd=tcp:[::1]:8080-:80 "));
  /* qemu 7.2 refuses it ("Bad host address"): say so before starting. */
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_qemu_spec_check (&spec, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==,
                   "port mapping '[::1]:8080:80/tcp': qemu's user-mode network forwards only IPv4 "
                   "host addresses");
}

static void
test_argv_tcg_tsc (void)
{
  SkQemuSpec spec = {
    .qemu = "qemu", .accel = "tcg", .boot = SK_BOOT_KERNEL, .kernel = "k", .microvm = TRUE,
    .cmdline = "quiet -- single", .memory_mib = 256, .cpus = 1, .disk = "d", .qmp_socket = "q",
    .tsc_khz = 1999999,
  };
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_assert_cmpstr (argv_after (argv, "-append"), ==,
                   "quiet console=ttyS0 panic=-1 tsc_early_khz=1999999 -- single");
  /* Under KVM the guest calibrates its own TSC. */
  spec.accel = "kvm";
  g_auto (GStrv) kvm = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (kvm);
  g_assert_null (strstr (joined, "tsc_early_khz"));
  g_assert_nonnull (strstr (joined, " -M microvm,acpi=on "));
}

static void
test_argv_uefi (void)
{
  SkQemuSpec spec = {
    .qemu = "qemu", .accel = "tcg", .boot = SK_BOOT_UEFI, .firmware_code = "/usr/share/OVMF/OVMF_CODE.fd",
    .firmware_vars = "/v/OVMF_VARS.fd", .memory_mib = 1024, .cpus = 2, .disk = "d", .qmp_socket = "q",
  };
  g_assert_true (sk_qemu_spec_check (&spec, NULL));
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (argv);
  g_assert_nonnull (strstr (joined, " -M q35,pflash0=fw-code,pflash1=fw-vars "));
  g_assert_nonnull (strstr (joined, " -blockdev node-name=fw-code,driver=raw,read-only=on,file.driver=file,"
                                    "file.filename=/usr/share/OVMF/OVMF_CODE.fd "
                                    "-blockdev node-name=fw-vars,driver=raw,file.driver=file,"
                                    "file.filename=/v/OVMF_VARS.fd "));
  g_assert_nonnull (strstr (joined, " -device virtio-blk-pci,drive=disk0,bootindex=0 "));
  g_assert_null (strstr (joined, "-kernel"));
}

/* A comma in a path or name must not start a new qemu option. */
static void
test_argv_escapes_commas (void)
{
  SkQemuSpec spec = {
    .qemu = "qemu", .accel = "tcg", .boot = SK_BOOT_BIOS, .memory_mib = 256, .cpus = 1,
    .disk = "/v/a,file.locking=off/overlay.qcow2", .seed = "/v/x,read-only=off", .qmp_socket = "/v/q,s",
    .console_log = "/v/l,og", .serial_socket = "/v/c,s", .name = "x,debug-threads=on",
  };
  g_auto (GStrv) argv = sk_qemu_build_argv (&spec);
  g_autofree char *joined = argv_join (argv);
  g_assert_nonnull (strstr (joined, "-name guest=x,,debug-threads=on "));
  g_assert_nonnull (strstr (joined, "file.filename=/v/a,,file.locking=off/overlay.qcow2 "));
  g_assert_nonnull (strstr (joined, "file.filename=/v/x,,read-only=off "));
  g_assert_nonnull (strstr (joined, "path=/v/c,,s,server=on,wait=off,logfile=/v/l,,og,logappend=on "));
  g_assert_nonnull (strstr (joined, "path=/v/q,,s,server=on"));
  g_autofree char *esc = sk_qemu_escape_option (",a,,b,");
  g_assert_cmpstr (esc, ==, ",,a,,,,b,,");
}

typedef struct {
  const char *what;
  void (*mutate) (SkQemuSpec *spec);
  int code;
  const char *message;
} SpecCase;

static void no_kernel (SkQemuSpec *s) { s->kernel = NULL; }
static void bad_accel (SkQemuSpec *s) { s->accel = "hvf"; }
static void tiny_memory (SkQemuSpec *s) { s->memory_mib = 8; }
static void no_cpus (SkQemuSpec *s) { s->cpus = 0; }
static void many_cpus (SkQemuSpec *s) { s->cpus = 1000; }
static void microvm_bios (SkQemuSpec *s) { s->boot = SK_BOOT_BIOS; }
static void uefi_no_fw (SkQemuSpec *s) { s->boot = SK_BOOT_UEFI; s->microvm = FALSE; }
static void no_disk (SkQemuSpec *s) { s->disk = NULL; }
static void ports_no_net (SkQemuSpec *s) { s->network_user = FALSE; }
static void
long_socket (SkQemuSpec *s)
{
  static char path[200];
  memset (path, 'a', sizeof path - 1);
  path[0] = '/';
  s->serial_socket = path;
}

static void
test_spec_check (void)
{
  static const SpecCase cases[] = {
    { "no kernel", no_kernel, SK_ERROR_INVALID_IMAGE, "kernel boot without a kernel" },
    { "accel", bad_accel, SK_ERROR_USAGE, "unknown accelerator 'hvf' (expected kvm or tcg)" },
    { "memory", tiny_memory, SK_ERROR_USAGE, "memory of 8 MiB is below the minimum of 32 MiB" },
    { "no cpus", no_cpus, SK_ERROR_USAGE, "0 cpus is not a number from 1 to 255" },
    { "many cpus", many_cpus, SK_ERROR_USAGE, "1000 cpus is not a number from 1 to 255" },
    { "microvm bios", microvm_bios, SK_ERROR_FAILED, "microvm needs direct kernel boot, not 'bios'" },
    { "uefi", uefi_no_fw, SK_ERROR_NOT_FOUND, "uefi boot needs firmware code and vars files" },
    { "disk", no_disk, SK_ERROR_FAILED, "qemu spec lacks the qemu binary, disk or qmp socket" },
    { "ports", ports_no_net, SK_ERROR_USAGE, "port mappings need the user-mode network" },
    { "socket", long_socket, SK_ERROR_FAILED, NULL },
  };
  SkPortMap ports[] = { port ("8080:80") };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      SkQemuSpec spec = {
        .qemu = "qemu", .accel = "tcg", .boot = SK_BOOT_KERNEL, .kernel = "k", .microvm = TRUE,
        .memory_mib = 256, .cpus = 1, .disk = "d", .qmp_socket = "q", .network_user = TRUE,
        .ports = ports, .n_ports = 1,
      };
      g_assert_true (sk_qemu_spec_check (&spec, NULL));
      cases[i].mutate (&spec);
      g_autoptr (GError) error = NULL;
      g_test_message ("case %s", cases[i].what);
      g_assert_false (sk_qemu_spec_check (&spec, &error));
      g_assert_error (error, SK_ERROR, cases[i].code);
      if (cases[i].message != NULL)
        g_assert_cmpstr (error->message, ==, cases[i].message);
      else
        g_assert_nonnull (strstr (error->message, "is too long for a unix socket (199 bytes, at most 107)"));
    }
}

static void
test_kernel_cmdline (void)
{
  static const struct { const char *base; guint64 tsc; const char *want; } cases[] = {
    { NULL, 0, "console=ttyS0 panic=-1" },
    { "", 1000, "console=ttyS0 panic=-1 tsc_early_khz=1000" },
    { "root=/dev/vda ro  ", 0, "root=/dev/vda ro console=ttyS0 panic=-1" },
    { "console=tty0 console=ttyS0,115200", 0, "console=tty0 console=ttyS0,115200 panic=-1" },
    { "panic=10 tsc_early_khz=5", 7, "panic=10 tsc_early_khz=5 console=ttyS0" },
    { "quiet -- console=x panic=1", 0, "quiet console=ttyS0 panic=-1 -- console=x panic=1" },
    { "--", 0, "console=ttyS0 panic=-1 --" },
    { "a=\"x -- y\" b", 0, "a=\"x -- y\" b console=ttyS0 panic=-1" },
    { "xconsole=1 nopanic=2", 0, "xconsole=1 nopanic=2 console=ttyS0 panic=-1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = sk_qemu_kernel_cmdline (cases[i].base, cases[i].tsc);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

/* ---- qemu-img ---- */

static void
test_qemu_img_argv (void)
{
  g_auto (GStrv) r = sk_qemu_img_resize_argv ("o.qcow2", 1073741824);
  g_autofree char *jr = argv_join (r);
  g_assert_cmpstr (jr, ==, "qemu-img resize -q -f qcow2 o.qcow2 1073741824");
  g_auto (GStrv) info = sk_qemu_img_info_argv ("o.qcow2");
  g_autofree char *ji = argv_join (info);
  g_assert_cmpstr (ji, ==, "qemu-img info --output=json -f qcow2 o.qcow2");
}

static void
test_qemu_img_parse_info (void)
{
  const char *json =
    "{\n    \"virtual-size\": 67108864,\n    \"filename\": \"overlay.qcow2\",\n"
    "    \"cluster-size\": 65536,\n    \"format\": \"qcow2\",\n    \"actual-size\": 200704,\n"
    "    \"backing-filename\": \"ab.qcow2\",\n    \"backing-filename-format\": \"qcow2\",\n"
    "    \"dirty-flag\": false\n}\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (SkQemuImgInfo) info = sk_qemu_img_parse_info (json, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info->virtual_size, ==, 67108864);
  g_assert_cmpuint (info->actual_size, ==, 200704);
  g_assert_cmpstr (info->format, ==, "qcow2");
  g_assert_cmpstr (info->backing_filename, ==, "ab.qcow2");
  g_assert_cmpstr (info->backing_format, ==, "qcow2");

  g_autoptr (SkQemuImgInfo) base = sk_qemu_img_parse_info ("{\"virtual-size\": 1, \"format\": \"qcow2\"}", NULL);
  g_assert_null (base->backing_filename);

  static const char *bad[] = { "", "[1]", "{\"format\": \"qcow2\"}", "{\"virtual-size\": -1}",
                               "{\"virtual-size\": \"1\"}", "{" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_null (sk_qemu_img_parse_info (bad[i], &e));
      g_assert_error (e, SK_ERROR, SK_ERROR_INVALID_DATA);
      g_assert_true (g_str_has_prefix (e->message, "qemu-img info: "));
    }
}

/* ---- host TSC ---- */

static void
test_cpuinfo_parse (void)
{
  const char *vm =
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n"
    "cpu MHz\t\t: 2300.000\ncache size\t: 16384 KB\n\n"
    "processor\t: 1\ncpu MHz\t\t: 1200.000\n\n";
  g_assert_cmpuint (sk_qemu_parse_cpuinfo_khz (vm), ==, 2300000);
  const char *fraction = "processor : 0\ncpu MHz : 2294.686\n";
  g_assert_cmpuint (sk_qemu_parse_cpuinfo_khz (fraction), ==, 2294686);
  /* Only the first processor counts, and the model name is a fallback. */
  const char *model =
    "processor\t: 0\nmodel name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\n\n"
    "processor\t: 1\ncpu MHz\t\t: 800.000\n";
  g_assert_cmpuint (sk_qemu_parse_cpuinfo_khz (model), ==, 1900000);
  const char *model_mhz = "model name : Fancy CPU @ 2500MHz\n";
  g_assert_cmpuint (sk_qemu_parse_cpuinfo_khz (model_mhz), ==, 2500000);
  const char *both = "model name : X @ 3.00GHz\ncpu MHz : 2999.998\n";
  g_assert_cmpuint (sk_qemu_parse_cpuinfo_khz (both), ==, 2999998);
  static const char *none[] = {
    "", "processor : 0\n", "cpu MHz : fast\n", "cpu MHz : -5\n", "cpu MHz : 0\n", "cpu MHz : 1e300\n",
    "model name : AMD EPYC 7B13\n", "model name : X @ GHz\n", "cpu MHz\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (none); i++)
    g_assert_cmpuint (sk_qemu_parse_cpuinfo_khz (none[i]), ==, 0);
}

static void
test_host_tsc (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL) || sk_qemu_parse_cpuinfo_khz (text) == 0)
    {
      g_test_skip ("no frequency in /proc/cpuinfo");
      return;
    }
  guint64 khz = sk_qemu_host_tsc_khz ();
  g_assert_cmpuint (khz, >, 100000);     /* 100 MHz */
  g_assert_cmpuint (khz, <, 10000000);   /* 10 GHz */
}

/* ---- a real qemu accepts what we build ---- */

static void
rm_rf (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

/* A file that qemu's x86 loader takes for a bzImage (boot protocol 2.06,
 * loads high), enough to start paused: no kernel download needed. */
static void
write_fake_kernel (const char *path)
{
  g_autofree guint8 *k = g_malloc0 (65536);
  k[0x1f1] = 4;                                         /* setup_sects */
  k[0x1fe] = 0x55, k[0x1ff] = 0xaa;                     /* boot_flag */
  memcpy (k + 0x202, "HdrS", 4);                        /* header magic */
  k[0x206] = 0x06, k[0x207] = 0x02;                     /* version 2.06 */
  k[0x211] = 0x01;                                      /* LOADED_HIGH */
  k[0x22c] = 0xff, k[0x22d] = 0xff, k[0x22e] = 0xff, k[0x22f] = 0x37; /* initrd_addr_max */
  k[0x238] = 0x00, k[0x239] = 0x08;                     /* cmdline_size 2048 */
  g_assert_true (g_file_set_contents (path, (char *) k, 65536, NULL));
}

typedef struct {
  char *dir;
  char *qemu;
  char *kernel, *initrd, *base, *overlay, *seed, *qmp, *console_log, *console_sock, *pidfile;
} RealFixture;

static gboolean
real_setup (RealFixture *f)
{
  f->qemu = sk_accel_find_qemu ();
  g_autofree char *qemu_img = g_find_program_in_path ("qemu-img");
  if (f->qemu == NULL || !g_str_has_suffix (f->qemu, "x86_64") || qemu_img == NULL)
    return FALSE;
  f->dir = g_dir_make_tmp ("skiff-qemu-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->kernel = g_build_filename (f->dir, "vmlinuz", NULL);
  f->initrd = g_build_filename (f->dir, "initrd", NULL);
  f->base = g_build_filename (f->dir, "base.qcow2", NULL);
  f->overlay = g_build_filename (f->dir, "overlay.qcow2", NULL);
  f->seed = g_build_filename (f->dir, "seed.iso", NULL);
  f->qmp = g_build_filename (f->dir, "qmp.sock", NULL);
  f->console_log = g_build_filename (f->dir, "console.log", NULL);
  f->console_sock = g_build_filename (f->dir, "console.sock", NULL);
  f->pidfile = g_build_filename (f->dir, "qemu.pid", NULL);
  write_fake_kernel (f->kernel);
  g_assert_true (g_file_set_contents (f->initrd, "initrd", -1, NULL));
  g_autofree char *seed = g_malloc0 (65536);
  g_assert_true (g_file_set_contents (f->seed, seed, 65536, NULL));
  const char *create_base[] = { "qemu-img", "create", "-q", "-f", "qcow2", f->base, "64M", NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_spawn_sync (create_base, NULL, &error));
  /* The overlay names its backing file relatively, as the store does. */
  g_assert_true (sk_qcow2_create_overlay (f->overlay, "base.qcow2", 128 * 1024 * 1024, &error));
  g_assert_no_error (error);
  g_auto (GStrv) info_argv = sk_qemu_img_info_argv (f->overlay);
  g_autofree char *json = NULL;
  g_assert_true (sk_spawn_sync ((const char *const *) info_argv, &json, &error));
  g_autoptr (SkQemuImgInfo) info = sk_qemu_img_parse_info (json, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (info->virtual_size, ==, 128 * 1024 * 1024);
  g_assert_cmpstr (info->backing_filename, ==, "base.qcow2");
  g_assert_cmpstr (info->backing_format, ==, "qcow2");
  return TRUE;
}

static void
real_teardown (RealFixture *f)
{
  rm_rf (f->dir);
  g_free (f->dir), g_free (f->qemu), g_free (f->kernel), g_free (f->initrd), g_free (f->base);
  g_free (f->overlay), g_free (f->seed), g_free (f->qmp), g_free (f->console_log);
  g_free (f->console_sock), g_free (f->pidfile);
}

/* Starts @spec paused, checks qemu is up as described, quits it. */
static void
run_paused (const RealFixture *f, const SkQemuSpec *spec)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_qemu_spec_check (spec, &error));
  g_auto (GStrv) argv = sk_qemu_build_argv (spec);
  g_autoptr (GSubprocess) p = g_subprocess_newv ((const char *const *) argv, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_autoptr (SkQmp) qmp = sk_qmp_connect_wait (f->qmp, 20000, &error);
  g_assert_no_error (error);
  g_autofree char *status = sk_qmp_query_status (qmp, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (status, ==, "prelaunch");
  /* The devices we asked for exist. */
  g_autofree char *tree = NULL;
  g_assert_true (sk_qmp_execute (qmp, "human-monitor-command", "{\"command-line\": \"info qtree\"}",
                                 &tree, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (tree, spec->microvm ? "virtio-blk-device" : "virtio-blk-pci"));
  g_assert_nonnull (strstr (tree, spec->microvm ? "virtio-rng-device" : "virtio-rng-pci"));
  g_assert_true ((strstr (tree, "virtio-net") != NULL) == spec->network_user);
  g_autofree char *blocks = NULL;
  g_assert_true (sk_qmp_execute (qmp, "query-named-block-nodes", NULL, &blocks, &error));
  g_assert_nonnull (strstr (blocks, "\"node-name\":\"disk0\""));
  g_assert_nonnull (strstr (blocks, "base.qcow2")); /* the backing chain was followed */
  g_assert_true ((strstr (blocks, "\"node-name\":\"seed0\"") != NULL) == (spec->seed != NULL));
  g_assert_true (g_file_test (f->pidfile, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (f->console_sock, G_FILE_TEST_EXISTS) == (spec->serial_socket != NULL));
  g_assert_true (sk_qmp_quit (qmp, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (p, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (p));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
}

/* A port nobody listens on right now, so the forward cannot clash. */
static guint
free_tcp_port (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (s, any, TRUE, NULL));
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_real_qemu_accepts_argv (void)
{
  RealFixture f = { 0 };
  if (!real_setup (&f))
    {
      g_free (f.qemu);
      g_test_skip ("no qemu-system-x86_64 or qemu-img");
      return;
    }
  g_autofree char *fwd = g_strdup_printf ("%u:22", free_tcp_port ());
  SkPortMap ports[] = { port (fwd) };
  SkQemuSpec microvm = {
    .qemu = f.qemu, .accel = "tcg", .boot = SK_BOOT_KERNEL, .kernel = f.kernel, .initrd = f.initrd,
    .cmdline = "root=/dev/vda", .microvm = TRUE, .memory_mib = 128, .cpus = 1, .disk = f.overlay,
    .seed = f.seed, .network_user = TRUE, .ports = ports, .n_ports = 1, .qmp_socket = f.qmp,
    .console_log = f.console_log, .serial_socket = f.console_sock, .pidfile = f.pidfile,
    .tsc_khz = 2000000, .name = "test,vm", .paused = TRUE,
  };
  run_paused (&f, &microvm);
  g_unlink (f.pidfile);
  g_unlink (f.qmp);
  SkQemuSpec q35 = {
    .qemu = f.qemu, .accel = "tcg", .boot = SK_BOOT_BIOS, .memory_mib = 128, .cpus = 2, .disk = f.overlay,
    .network_user = FALSE, .qmp_socket = f.qmp, .console_log = f.console_log, .pidfile = f.pidfile,
    .paused = TRUE,
  };
  run_paused (&f, &q35);
  real_teardown (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/portspec/parse-table", test_port_parse_table);
  g_test_add_func ("/portspec/parse-fields", test_port_parse_fields);
  g_test_add_func ("/portspec/parse-list", test_port_parse_list);
  g_test_add_func ("/qemu/argv-microvm-kernel", test_argv_microvm_kernel);
  g_test_add_func ("/qemu/argv-q35-bios", test_argv_q35_bios);
  g_test_add_func ("/qemu/argv-no-network", test_argv_no_network);
  g_test_add_func ("/qemu/argv-ipv6-port", test_argv_ipv6_port);
  g_test_add_func ("/qemu/argv-tcg-tsc", test_argv_tcg_tsc);
  g_test_add_func ("/qemu/argv-uefi", test_argv_uefi);
  g_test_add_func ("/qemu/argv-escapes-commas", test_argv_escapes_commas);
  g_test_add_func ("/qemu/spec-check", test_spec_check);
  g_test_add_func ("/qemu/kernel-cmdline", test_kernel_cmdline);
  g_test_add_func ("/qemu/img-argv", test_qemu_img_argv);
  g_test_add_func ("/qemu/img-parse-info", test_qemu_img_parse_info);
  g_test_add_func ("/qemu/cpuinfo-parse", test_cpuinfo_parse);
  g_test_add_func ("/qemu/host-tsc", test_host_tsc);
  g_test_add_func ("/qemu/real-qemu-accepts-argv", test_real_qemu_accepts_argv);
  return g_test_run ();
}
