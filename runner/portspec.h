/* skiff — docker-style port mappings (`-p [IP:]HOST:GUEST[/tcp|udp]`).
 *
 * A mapping forwards a port of the host to a port of the guest through
 * qemu's user-mode network.  The host address defaults to 127.0.0.1: a VM
 * is reachable from the host only unless the user names an address. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SK_PORT_DEFAULT_HOST_IP "127.0.0.1"

typedef enum {
  SK_PORT_TCP,
  SK_PORT_UDP,
} SkPortProto;

/* A plain value: copy it freely, nothing to free. */
typedef struct {
  SkPortProto proto;
  char host_ip[48];   /* normalised literal: "127.0.0.1", "::1" (no brackets) */
  guint16 host_port;  /* 1..65535 */
  guint16 guest_port; /* 1..65535 */
} SkPortMap;

/* Parses `[IP:]HOST:GUEST[/PROTO]`; IP is an IPv4 literal or an IPv6
 * literal in brackets (`[::1]:8080:80`), PROTO `tcp` (default) or `udp`.
 * Fails with SK_ERROR_USAGE "invalid port mapping 'SPEC': why". */
gboolean sk_port_map_parse (const char *spec, SkPortMap *out, GError **error);

/* Parses every spec of @specs (NULL-terminated) and refuses two mappings
 * of the same host port and protocol on overlapping addresses
 * (SK_ERROR_USAGE).  Returns a GArray of SkPortMap. */
GArray *sk_port_map_parse_list (const char *const *specs, GError **error);

gboolean sk_port_map_is_ipv6 (const SkPortMap *map);

/* "tcp" or "udp". */
const char *sk_port_proto_to_string (SkPortProto proto);

/* The canonical spec, which sk_port_map_parse reads back to the same
 * mapping: "127.0.0.1:8080:80/tcp", "[::1]:8080:80/udp". */
char *sk_port_map_to_spec (const SkPortMap *map);

/* As `docker ps` shows it: "127.0.0.1:8080->80/tcp", "[::1]:8080->80/tcp". */
char *sk_port_map_format (const SkPortMap *map);

/* qemu's user-mode `hostfwd=` value: "tcp:127.0.0.1:8080-:80",
 * "udp:[::1]:5353-:53".  qemu 7.2 refuses IPv6 host addresses ("Bad host
 * address"), so sk_qemu_spec_check refuses them before qemu starts. */
char *sk_port_map_to_hostfwd (const SkPortMap *map);

G_END_DECLS
