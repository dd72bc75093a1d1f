/* skiff — image references: docker's grammar and normalisation, s3://
 * references, and {arch} expansion.  Pure string code, no I/O. */
#include "oci/reference.h"
#include "oci/digest.h"
#include "common/error.h"

#include <string.h>
#include <sys/utsname.h>

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define S3_SCHEME "s3://"

/* ---- small character helpers ---------------------------------------- */

static gboolean
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static gboolean
is_alnum (char c)
{
  return g_ascii_isalnum (c);
}

static gboolean
is_word (char c)
{
  return is_alnum (c) || c == '_';
}

/* A copy of @len bytes of @s fit for a message: bytes outside printable
 * ASCII become \xNN so hostile input cannot drive the terminal. */
static char *
shown (const char *s, gssize len)
{
  if (len < 0)
    len = strlen (s);
  GString *out = g_string_sized_new (len);
  for (gssize i = 0; i < len; i++)
    {
      guchar c = s[i];
      if (c < 0x20 || c >= 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, c);
    }
  return g_string_free (out, FALSE);
}

/* Sets the one error every parse failure produces.  Returns FALSE. */
static gboolean
fail (GError **error, const char *text, const char *why)
{
  g_autofree char *input = shown (text, -1);
  g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "invalid reference '%s': %s", input, why);
  return FALSE;
}

/* ---- grammar checks: each returns NULL when valid, else why ------------ */

/* A run of separators between two alphanumerics: ".", "_", "__" or "-"+. */
static gboolean
separator_ok (const char *sep, gsize len)
{
  if (len == 1)
    return sep[0] == '.' || sep[0] == '_' || sep[0] == '-';
  if (len == 2 && sep[0] == '_' && sep[1] == '_')
    return TRUE;
  for (gsize i = 0; i < len; i++)
    if (sep[i] != '-')
      return FALSE;
  return TRUE;
}

static char *
component_characters_why (const char *comp, gsize len)
{
  gboolean upper = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = comp[i];
      if (c >= 'A' && c <= 'Z')
        upper = TRUE;
      else if (!is_lower_alnum (c) && c != '.' && c != '_' && c != '-')
        {
          g_autofree char *ch = shown (&comp[i], 1);
          g_autofree char *cs = shown (comp, len);
          return g_strdup_printf ("invalid character '%s' in path component '%s'", ch, cs);
        }
    }
  if (upper)
    return g_strdup ("repository name must be lowercase");
  return NULL;
}

static char *
component_why (const char *comp, gsize len)
{
  if (len == 0)
    return g_strdup ("empty path component");
  char *why = component_characters_why (comp, len);
  if (why != NULL)
    return why;
  g_autofree char *cs = shown (comp, len);
  if (!is_lower_alnum (comp[0]) || !is_lower_alnum (comp[len - 1]))
    return g_strdup_printf ("path component '%s' must start and end with a lowercase letter or digit", cs);
  for (gsize i = 0; i < len;)
    {
      gsize j = i;
      while (j < len && !is_lower_alnum (comp[j]))
        j++;
      if (j > i && !separator_ok (comp + i, j - i))
        {
          g_autofree char *sep = g_strndup (comp + i, j - i);
          return g_strdup_printf ("invalid separator '%s' in path component '%s'", sep, cs);
        }
      while (j < len && is_lower_alnum (comp[j]))
        j++;
      i = j;
    }
  return NULL;
}

static char *
path_why (const char *path)
{
  if (*path == '\0')
    return g_strdup ("missing repository name");
  const char *p = path;
  for (;;)
    {
      const char *slash = strchr (p, '/');
      gsize len = slash ? (gsize) (slash - p) : strlen (p);
      char *why = component_why (p, len);
      if (why != NULL)
        return why;
      if (slash == NULL)
        break;
      p = slash + 1;
    }
  if (strlen (path) > NAME_MAX_LEN)
    return g_strdup_printf ("repository name longer than %d characters", NAME_MAX_LEN);
  return NULL;
}

static char *
tag_why (const char *tag)
{
  if (*tag == '\0')
    return g_strdup ("empty tag");
  g_autofree char *ts = shown (tag, -1);
  if (strlen (tag) > TAG_MAX_LEN)
    return g_strdup_printf ("tag too long (%zu characters, at most %d)", strlen (tag), TAG_MAX_LEN);
  if (!is_word (tag[0]))
    return g_strdup_printf ("invalid tag '%s': must start with a letter, digit or '_'", ts);
  for (const char *p = tag; *p; p++)
    if (!is_word (*p) && *p != '.' && *p != '-')
      {
        g_autofree char *ch = shown (p, 1);
        return g_strdup_printf ("invalid character '%s' in tag '%s'", ch, ts);
      }
  return NULL;
}

static char *
digest_why (const char *digest)
{
  if (*digest == '\0')
    return g_strdup ("empty digest");
  g_autoptr (GError) local = NULL;
  if (!sk_digest_validate (digest, NULL, &local))
    {
      /* sk_digest_validate quotes the digest raw: keep only its reason and
       * quote the digest safely here. */
      g_autofree char *raw = g_strdup_printf ("invalid digest '%s'", digest);
      const char *detail = g_str_has_prefix (local->message, raw) ? local->message + strlen (raw) : "";
      g_autofree char *ds = shown (digest, -1);
      g_autofree char *dt = shown (detail, -1);
      return g_strdup_printf ("invalid digest '%s'%s", ds, dt);
    }
  return NULL;
}

/* domainNameComponent ('.' domainNameComponent)*: alphanumerics and
 * inner hyphens, any case. */
static gboolean
host_name_ok (const char *s, gsize len)
{
  gsize i = 0;
  while (i < len)
    {
      gsize j = i;
      while (j < len && s[j] != '.')
        j++;
      if (j == i || !is_alnum (s[i]) || !is_alnum (s[j - 1]))
        return FALSE;
      for (gsize k = i; k < j; k++)
        if (!is_alnum (s[k]) && s[k] != '-')
          return FALSE;
      if (j == len)
        return TRUE;
      i = j + 1;
    }
  return FALSE; /* empty, or a trailing '.' */
}

static gboolean
port_ok (const char *s)
{
  if (*s == '\0')
    return TRUE;
  if (*s != ':' || s[1] == '\0')
    return FALSE;
  for (s++; *s; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

/* docker's domainAndPort: a host name, IPv4 address or bracketed IPv6
 * address (hex digits and ':' only: no zone, no embedded IPv4), then an
 * optional ":port". */
static gboolean
domain_ok (const char *domain)
{
  if (domain[0] == '[')
    {
      const char *close = strchr (domain, ']');
      if (close == NULL || close == domain + 1)
        return FALSE;
      for (const char *p = domain + 1; p < close; p++)
        if (!g_ascii_isxdigit (*p) && *p != ':')
          return FALSE;
      return port_ok (close + 1);
    }
  const char *colon = strchr (domain, ':');
  gsize hlen = colon ? (gsize) (colon - domain) : strlen (domain);
  return host_name_ok (domain, hlen) && port_ok (domain + hlen);
}

/* ---- splitting ------------------------------------------------------- */

typedef struct {
  char *name;   /* everything before the tag and digest */
  char *tag;    /* NULL when absent */
  char *digest; /* NULL when absent */
} SkRefParts;

static void
parts_clear (SkRefParts *parts)
{
  g_free (parts->name);
  g_free (parts->tag);
  g_free (parts->digest);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SkRefParts, parts_clear)

/* Names, tags and digests hold no '@', and names hold ':' only in the
 * domain, which always ends at a '/': so the digest starts at the first
 * '@' and the tag at the last ':' after the last '/'. */
static void
split_parts (const char *text, SkRefParts *out)
{
  const char *at = strchr (text, '@');
  g_autofree char *head = at ? g_strndup (text, at - text) : g_strdup (text);
  if (at)
    out->digest = g_strdup (at + 1);
  const char *slash = strrchr (head, '/');
  char *colon = strrchr (slash ? slash : head, ':');
  if (colon != NULL)
    {
      out->tag = g_strdup (colon + 1);
      *colon = '\0';
    }
  out->name = g_steal_pointer (&head);
}

/* Validates the path, tag and digest and moves them into @ref.  Returns
 * why, or NULL. */
static char *
take_parts (SkReference *ref, const char *path, SkRefParts *parts)
{
  char *why = path_why (path);
  if (why == NULL && parts->tag != NULL)
    why = tag_why (parts->tag);
  if (why == NULL && parts->digest != NULL)
    why = digest_why (parts->digest);
  if (why != NULL)
    return why;
  ref->path = g_strdup (path);
  ref->tag = g_steal_pointer (&parts->tag);
  ref->digest = g_steal_pointer (&parts->digest);
  return NULL;
}

/* docker's splitDockerDomain: is @first (the name's first component) a
 * domain?  Yes when it is "localhost", contains '.' or ':', or has an
 * uppercase letter (namespaces are lowercase). */
static gboolean
docker_first_is_domain (const char *first)
{
  if (g_str_equal (first, "localhost") || strpbrk (first, ".:") != NULL)
    return TRUE;
  for (const char *p = first; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      return TRUE;
  return FALSE;
}

/* docker's splitDockerDomain, on the name only; "index.docker.io" becomes
 * "docker.io", and a single-component Docker Hub path gets "library/". */
static void
split_docker_domain (const char *name, char **out_domain, char **out_path)
{
  const char *slash = strchr (name, '/');
  g_autofree char *first = slash ? g_strndup (name, slash - name) : NULL;
  g_autofree char *domain = NULL;
  const char *path = name;
  if (first != NULL && docker_first_is_domain (first))
    {
      domain = g_str_equal (first, LEGACY_DEFAULT_DOMAIN) ? g_strdup (DEFAULT_DOMAIN) : g_steal_pointer (&first);
      path = slash + 1;
    }
  else
    domain = g_strdup (DEFAULT_DOMAIN);
  gboolean official = g_str_equal (domain, DEFAULT_DOMAIN) && strchr (path, '/') == NULL;
  *out_path = official ? g_strconcat (OFFICIAL_PREFIX, path, NULL) : g_strdup (path);
  *out_domain = g_steal_pointer (&domain);
}

/* reference.Parse's split: the first component is the domain whenever it
 * matches the domain grammar and more components follow. */
static void
split_strict_domain (const char *name, char **out_domain, char **out_path)
{
  const char *slash = strchr (name, '/');
  g_autofree char *first = slash ? g_strndup (name, slash - name) : NULL;
  if (first != NULL && domain_ok (first))
    {
      *out_domain = g_steal_pointer (&first);
      *out_path = g_strdup (slash + 1);
      return;
    }
  *out_domain = NULL;
  *out_path = g_strdup (name);
}

static gboolean
is_hex_identifier (const char *text)
{
  if (strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return FALSE;
  return TRUE;
}

static SkReference *
parse_registry (const char *text, gboolean normalize, GError **error)
{
  if (normalize && is_hex_identifier (text))
    return fail (error, text, "repository name cannot be a 64-character hexadecimal string"), NULL;
  g_auto (SkRefParts) parts = { 0 };
  split_parts (text, &parts);
  if (parts.name[0] == '\0')
    return fail (error, text, "missing repository name"), NULL;

  g_autoptr (SkReference) ref = g_new0 (SkReference, 1);
  ref->kind = SK_REFERENCE_REGISTRY;
  g_autofree char *path = NULL;
  if (normalize)
    split_docker_domain (parts.name, &ref->domain, &path);
  else
    split_strict_domain (parts.name, &ref->domain, &path);
  if (normalize && !domain_ok (ref->domain))
    {
      g_autofree char *ds = shown (ref->domain, -1);
      g_autofree char *why = g_strdup_printf ("invalid registry domain '%s'", ds);
      return fail (error, text, why), NULL;
    }
  g_autofree char *why = take_parts (ref, path, &parts);
  if (why != NULL)
    return fail (error, text, why), NULL;
  if (normalize && ref->tag == NULL && ref->digest == NULL)
    ref->tag = g_strdup (DEFAULT_TAG);
  return g_steal_pointer (&ref);
}

/* ---- s3 -------------------------------------------------------------- */

static gboolean
looks_like_ipv4 (const char *s)
{
  g_auto (GStrv) parts = g_strsplit (s, ".", -1);
  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      if (parts[i][0] == '\0')
        return FALSE;
      for (const char *p = parts[i]; *p; p++)
        if (!g_ascii_isdigit (*p))
          return FALSE;
    }
  return TRUE;
}

static char *
bucket_characters_why (const char *bucket, const char *bs)
{
  gboolean upper = FALSE;
  for (const char *p = bucket; *p; p++)
    {
      if (*p >= 'A' && *p <= 'Z')
        upper = TRUE;
      else if (!is_lower_alnum (*p) && *p != '.' && *p != '-')
        {
          g_autofree char *ch = shown (p, 1);
          return g_strdup_printf ("invalid character '%s' in bucket name '%s'", ch, bs);
        }
    }
  if (upper)
    return g_strdup_printf ("bucket name '%s' must be lowercase", bs);
  return NULL;
}

/* The S3 bucket naming rules (general purpose buckets). */
static char *
bucket_why (const char *bucket)
{
  gsize len = strlen (bucket);
  if (len == 0)
    return g_strdup ("missing bucket name");
  g_autofree char *bs = shown (bucket, -1);
  if (len < 3 || len > 63)
    return g_strdup_printf ("bucket name '%s' must be 3 to 63 characters long", bs);
  char *why = bucket_characters_why (bucket, bs);
  if (why != NULL)
    return why;
  if (!is_lower_alnum (bucket[0]) || !is_lower_alnum (bucket[len - 1]))
    return g_strdup_printf ("bucket name '%s' must start and end with a letter or digit", bs);
  if (strstr (bucket, "..") != NULL)
    return g_strdup_printf ("bucket name '%s' must not contain two adjacent periods", bs);
  if (looks_like_ipv4 (bucket))
    return g_strdup_printf ("bucket name '%s' must not be an IP address", bs);
  if (g_str_has_prefix (bucket, "xn--") || g_str_has_prefix (bucket, "sthree-")
      || g_str_has_suffix (bucket, "-s3alias") || g_str_has_suffix (bucket, "--ol-s3"))
    return g_strdup_printf ("bucket name '%s' uses a prefix or suffix reserved by S3", bs);
  return NULL;
}

static SkReference *
parse_s3 (const char *text, gboolean normalize, GError **error)
{
  const char *rest = text + strlen (S3_SCHEME);
  const char *slash = strchr (rest, '/');
  g_autofree char *bucket = slash ? g_strndup (rest, slash - rest) : g_strdup (rest);
  g_autofree char *why = bucket_why (bucket);
  if (why != NULL)
    return fail (error, text, why), NULL;
  if (slash == NULL || slash[1] == '\0')
    return fail (error, text, "missing repository name after the bucket"), NULL;

  g_auto (SkRefParts) parts = { 0 };
  split_parts (slash + 1, &parts);
  g_autoptr (SkReference) ref = g_new0 (SkReference, 1);
  ref->kind = SK_REFERENCE_S3;
  ref->bucket = g_steal_pointer (&bucket);
  why = take_parts (ref, parts.name, &parts);
  if (why != NULL)
    return fail (error, text, why), NULL;
  if (normalize && ref->tag == NULL && ref->digest == NULL)
    ref->tag = g_strdup (DEFAULT_TAG);
  return g_steal_pointer (&ref);
}

static SkReference *
parse_any (const char *text, gboolean normalize, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  if (*text == '\0')
    return fail (error, text, "empty reference"), NULL;
  if (g_str_has_prefix (text, S3_SCHEME))
    return parse_s3 (text, normalize, error);
  return parse_registry (text, normalize, error);
}

SkReference *
sk_reference_parse (const char *text, GError **error)
{
  return parse_any (text, TRUE, error);
}

SkReference *
sk_reference_parse_strict (const char *text, GError **error)
{
  return parse_any (text, FALSE, error);
}

/* ---- formatting ------------------------------------------------------ */

static void
append_repository (GString *out, const SkReference *ref, gboolean familiar)
{
  if (ref->kind == SK_REFERENCE_S3)
    {
      g_string_append_printf (out, S3_SCHEME "%s/%s", ref->bucket, ref->path);
      return;
    }
  if (familiar && g_strcmp0 (ref->domain, DEFAULT_DOMAIN) == 0)
    {
      const char *rest = ref->path + strlen (OFFICIAL_PREFIX);
      if (g_str_has_prefix (ref->path, OFFICIAL_PREFIX) && strchr (rest, '/') == NULL)
        g_string_append (out, rest);
      else
        g_string_append (out, ref->path);
      return;
    }
  if (ref->domain != NULL)
    g_string_append_printf (out, "%s/", ref->domain);
  g_string_append (out, ref->path);
}

static char *
format_reference (const SkReference *ref, gboolean familiar)
{
  GString *out = g_string_new (NULL);
  append_repository (out, ref, familiar);
  if (ref->tag != NULL)
    g_string_append_printf (out, ":%s", ref->tag);
  if (ref->digest != NULL)
    g_string_append_printf (out, "@%s", ref->digest);
  return g_string_free (out, FALSE);
}

char *
sk_reference_to_string (const SkReference *ref)
{
  return format_reference (ref, FALSE);
}

char *
sk_reference_familiar (const SkReference *ref)
{
  return format_reference (ref, TRUE);
}

char *
sk_reference_repository (const SkReference *ref)
{
  GString *out = g_string_new (NULL);
  append_repository (out, ref, FALSE);
  return g_string_free (out, FALSE);
}

/* ---- lifecycle ------------------------------------------------------- */

gboolean
sk_reference_equal (const SkReference *a, const SkReference *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->kind == b->kind && g_strcmp0 (a->domain, b->domain) == 0 && g_strcmp0 (a->bucket, b->bucket) == 0
         && g_strcmp0 (a->path, b->path) == 0 && g_strcmp0 (a->tag, b->tag) == 0
         && g_strcmp0 (a->digest, b->digest) == 0;
}

SkReference *
sk_reference_copy (const SkReference *ref)
{
  SkReference *copy = g_new0 (SkReference, 1);
  copy->kind = ref->kind;
  copy->domain = g_strdup (ref->domain);
  copy->bucket = g_strdup (ref->bucket);
  copy->path = g_strdup (ref->path);
  copy->tag = g_strdup (ref->tag);
  copy->digest = g_strdup (ref->digest);
  return copy;
}

SkReference *
sk_reference_with_tag (const SkReference *ref, const char *tag, GError **error)
{
  g_autofree char *why = tag_why (tag);
  if (why != NULL)
    {
      g_autofree char *text = sk_reference_repository (ref);
      g_autofree char *with = g_strconcat (text, ":", tag, NULL);
      return fail (error, with, why), NULL;
    }
  SkReference *copy = sk_reference_copy (ref);
  g_free (copy->tag);
  copy->tag = g_strdup (tag);
  return copy;
}

SkReference *
sk_reference_with_digest (const SkReference *ref, const char *digest, GError **error)
{
  g_autofree char *why = digest_why (digest);
  if (why != NULL)
    {
      g_autofree char *text = sk_reference_repository (ref);
      g_autofree char *with = g_strconcat (text, "@", digest, NULL);
      return fail (error, with, why), NULL;
    }
  SkReference *copy = sk_reference_copy (ref);
  g_free (copy->digest);
  copy->digest = g_strdup (digest);
  return copy;
}

void
sk_reference_free (SkReference *ref)
{
  if (ref == NULL)
    return;
  g_free (ref->domain);
  g_free (ref->bucket);
  g_free (ref->path);
  g_free (ref->tag);
  g_free (ref->digest);
  g_free (ref);
}

/* ---- architectures --------------------------------------------------- */

static const struct {
  const char *machine;
  const char *oci;
} arch_map[] = {
  { "x86_64", "amd64" },    { "amd64", "amd64" },     { "i386", "386" },        { "i486", "386" },
  { "i586", "386" },        { "i686", "386" },        { "aarch64", "arm64" },   { "arm64", "arm64" },
  { "armv8l", "arm" },      { "armv7l", "arm" },      { "armv7", "arm" },       { "armv6l", "arm" },
  { "armv5tel", "arm" },    { "arm", "arm" },         { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
  { "riscv64", "riscv64" }, { "loongarch64", "loong64" },
};

const char *
sk_oci_arch_from_uname (const char *machine)
{
  if (machine == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (arch_map); i++)
    if (g_str_equal (machine, arch_map[i].machine))
      return arch_map[i].oci;
  return NULL;
}

const char *
sk_oci_host_arch (void)
{
  static const char *host;
  if (g_once_init_enter (&host))
    {
      struct utsname u;
      const char *arch = "unknown";
      if (uname (&u) == 0)
        {
          arch = sk_oci_arch_from_uname (u.machine);
          if (arch == NULL)
            arch = g_intern_string (u.machine);
        }
      g_once_init_leave (&host, arch);
    }
  return host;
}

char *
sk_reference_expand_arch_for (const char *text, const char *arch)
{
  GString *out = g_string_new (text);
  g_string_replace (out, "{arch}", arch, 0);
  return g_string_free (out, FALSE);
}

char *
sk_reference_expand_arch (const char *text)
{
  return sk_reference_expand_arch_for (text, sk_oci_host_arch ());
}
