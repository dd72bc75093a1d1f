#include "runner/portspec.h"
#include "common/error.h"

#include <arpa/inet.h>
#include <string.h>

G_STATIC_ASSERT (sizeof ((SkPortMap *) 0)->host_ip >= INET6_ADDRSTRLEN);

static gboolean
fail (GError **error, const char *spec, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid port mapping '%s': %s", spec, why);
  return FALSE;
}

static gboolean
parse_port (const char *spec, const char *text, const char *which, guint16 *out, GError **error)
{
  if (*text == '\0')
    {
      g_autofree char *why = g_strdup_printf ("missing %s port", which);
      return fail (error, spec, why);
    }
  if (strchr (text, '-') != NULL && g_ascii_isdigit (text[0]))
    return fail (error, spec, "port ranges are not supported");
  guint64 value = 0;
  for (const char *p = text; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p) || value > 65535)
        {
          g_autofree char *why = g_strdup_printf ("%s port '%s' is not a number from 1 to 65535",
                                                  which, text);
          return fail (error, spec, why);
        }
      value = value * 10 + (guint64) (*p - '0');
    }
  if (value < 1 || value > 65535)
    {
      g_autofree char *why = g_strdup_printf ("%s port '%s' is not a number from 1 to 65535",
                                              which, text);
      return fail (error, spec, why);
    }
  *out = (guint16) value;
  return TRUE;
}

/* Stores the normalised literal of @text (v4, or v6 when @bracketed). */
static gboolean
parse_ip (const char *spec, const char *text, gboolean bracketed, SkPortMap *map, GError **error)
{
  guint8 addr[16];
  int family = bracketed ? AF_INET6 : AF_INET;
  if (*text == '\0')
    return fail (error, spec, "empty host address");
  if (inet_pton (family, text, addr) != 1)
    {
      g_autofree char *msg = g_strdup_printf ("'%s' is not an IPv%c address", text,
                                              bracketed ? '6' : '4');
      return fail (error, spec, msg);
    }
  if (inet_ntop (family, addr, map->host_ip, sizeof map->host_ip) == NULL)
    return fail (error, spec, "cannot format the host address");
  return TRUE;
}

static gboolean
parse_proto (const char *spec, const char *text, SkPortProto *out, GError **error)
{
  if (g_ascii_strcasecmp (text, "tcp") == 0)
    *out = SK_PORT_TCP;
  else if (g_ascii_strcasecmp (text, "udp") == 0)
    *out = SK_PORT_UDP;
  else
    {
      g_autofree char *why = g_strdup_printf ("protocol '%s' is not tcp or udp", text);
      return fail (error, spec, why);
    }
  return TRUE;
}

/* Splits "[v6]:REST" or "v4:H:G" / "H:G" into the address part and the
 * "HOST:GUEST" part. */
static gboolean
split_address (const char *spec, char *addrport, char **out_ip, gboolean *out_bracketed,
               char **out_ports, GError **error)
{
  if (addrport[0] == '[')
    {
      char *close = strchr (addrport, ']');
      if (close == NULL)
        return fail (error, spec, "missing ']' after the IPv6 address");
      if (close[1] != ':')
        return fail (error, spec, "expected ':' after ']'");
      *close = '\0';
      *out_ip = addrport + 1;
      *out_bracketed = TRUE;
      *out_ports = close + 2;
      return TRUE;
    }
  guint colons = 0;
  for (const char *p = addrport; *p != '\0'; p++)
    colons += *p == ':';
  if (colons < 1)
    return fail (error, spec, "expected [IP:]HOST:GUEST");
  if (colons > 2)
    return fail (error, spec, "too many ':' (IPv6 addresses go in brackets: [::1]:8080:80)");
  *out_bracketed = FALSE;
  if (colons == 1)
    {
      *out_ip = NULL;
      *out_ports = addrport;
      return TRUE;
    }
  char *colon = strchr (addrport, ':');
  *colon = '\0';
  *out_ip = addrport;
  *out_ports = colon + 1;
  return TRUE;
}

gboolean
sk_port_map_parse (const char *spec, SkPortMap *out, GError **error)
{
  SkPortMap map = { .proto = SK_PORT_TCP };
  g_autofree char *copy = g_strdup (spec);
  char *slash = strrchr (copy, '/');
  if (slash != NULL)
    {
      *slash = '\0';
      if (!parse_proto (spec, slash + 1, &map.proto, error))
        return FALSE;
    }
  char *ip = NULL, *ports = NULL;
  gboolean bracketed = FALSE;
  if (!split_address (spec, copy, &ip, &bracketed, &ports, error))
    return FALSE;
  if (ip == NULL)
    g_strlcpy (map.host_ip, SK_PORT_DEFAULT_HOST_IP, sizeof map.host_ip);
  else if (!parse_ip (spec, ip, bracketed, &map, error))
    return FALSE;
  char *colon = strchr (ports, ':');
  if (colon == NULL)
    return fail (error, spec, "expected HOST:GUEST after the address");
  *colon = '\0';
  if (strchr (colon + 1, ':') != NULL)
    return fail (error, spec, "expected HOST:GUEST after the address");
  if (!parse_port (spec, ports, "host", &map.host_port, error)
      || !parse_port (spec, colon + 1, "guest", &map.guest_port, error))
    return FALSE;
  *out = map;
  return TRUE;
}

gboolean
sk_port_map_is_ipv6 (const SkPortMap *map)
{
  return strchr (map->host_ip, ':') != NULL;
}

static gboolean
is_wildcard (const SkPortMap *map)
{
  return g_str_equal (map->host_ip, "0.0.0.0") || g_str_equal (map->host_ip, "::");
}

static gboolean
overlaps (const SkPortMap *a, const SkPortMap *b)
{
  if (a->proto != b->proto || a->host_port != b->host_port)
    return FALSE;
  if (sk_port_map_is_ipv6 (a) != sk_port_map_is_ipv6 (b))
    return FALSE;
  return is_wildcard (a) || is_wildcard (b) || g_str_equal (a->host_ip, b->host_ip);
}

GArray *
sk_port_map_parse_list (const char *const *specs, GError **error)
{
  g_autoptr (GArray) maps = g_array_new (FALSE, TRUE, sizeof (SkPortMap));
  for (guint i = 0; specs != NULL && specs[i] != NULL; i++)
    {
      SkPortMap map;
      if (!sk_port_map_parse (specs[i], &map, error))
        return NULL;
      for (guint j = 0; j < maps->len; j++)
        if (overlaps (&g_array_index (maps, SkPortMap, j), &map))
          {
            g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                         "invalid port mapping '%s': host port %u/%s is already mapped by '%s'",
                         specs[i], map.host_port, sk_port_proto_to_string (map.proto), specs[j]);
            return NULL;
          }
      g_array_append_val (maps, map);
    }
  return g_steal_pointer (&maps);
}

const char *
sk_port_proto_to_string (SkPortProto proto)
{
  return proto == SK_PORT_UDP ? "udp" : "tcp";
}

/* "127.0.0.1" or "[::1]". */
static char *
host_address (const SkPortMap *map)
{
  if (sk_port_map_is_ipv6 (map))
    return g_strdup_printf ("[%s]", map->host_ip);
  return g_strdup (map->host_ip);
}

char *
sk_port_map_to_spec (const SkPortMap *map)
{
  g_autofree char *addr = host_address (map);
  return g_strdup_printf ("%s:%u:%u/%s", addr, map->host_port, map->guest_port,
                          sk_port_proto_to_string (map->proto));
}

char *
sk_port_map_format (const SkPortMap *map)
{
  g_autofree char *addr = host_address (map);
  return g_strdup_printf ("%s:%u->%u/%s", addr, map->host_port, map->guest_port,
                          sk_port_proto_to_string (map->proto));
}

char *
sk_port_map_to_hostfwd (const SkPortMap *map)
{
  g_autofree char *addr = host_address (map);
  return g_strdup_printf ("%s:%s:%u-:%u", sk_port_proto_to_string (map->proto), addr,
                          map->host_port, map->guest_port);
}
