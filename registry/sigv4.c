/* skiff — AWS Signature Version 4: canonical request, string to sign,
 * HMAC-SHA256 key derivation and signature. */
#include "registry/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

static char *
to_hex (const guint8 *bytes, gsize len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = g_malloc (len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[bytes[i] >> 4];
      out[2 * i + 1] = digits[bytes[i] & 15];
    }
  out[len * 2] = '\0';
  return out;
}

char *
sk_sigv4_hex_sha256 (const void *data, gsize len)
{
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest (data, len, md, &md_len, EVP_sha256 (), NULL);
  return to_hex (md, md_len);
}

static void
hmac (const void *key, gsize key_len, const char *msg, guint8 out[32])
{
  unsigned int len = 32;
  HMAC (EVP_sha256 (), key, (int) key_len, (const guint8 *) msg, strlen (msg), out, &len);
}

/* ---------------------------------------------------------------- encoding */

static gboolean
is_unreserved (guchar c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *
sk_sigv4_uri_encode (const char *s, gssize len, gboolean keep_slash)
{
  if (len < 0)
    len = strlen (s);
  GString *out = g_string_sized_new (len + 8);
  for (gssize i = 0; i < len; i++)
    {
      guchar c = s[i];
      if (is_unreserved (c) || (keep_slash && c == '/'))
        g_string_append_c (out, c);
      else
        g_string_append_printf (out, "%%%02X", c);
    }
  return g_string_free (out, FALSE);
}

/* %XX sequences decoded (a malformed one is kept as is). */
static char *
uri_decode (const char *s, gsize len)
{
  GString *out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit (s[i + 1]) && g_ascii_isxdigit (s[i + 2]))
        {
          g_string_append_c (out, (char) (g_ascii_xdigit_value (s[i + 1]) * 16 + g_ascii_xdigit_value (s[i + 2])));
          i += 2;
        }
      else
        g_string_append_c (out, s[i]);
    }
  return g_string_free (out, FALSE);
}

static char *
reencode (const char *s, gsize len, gboolean keep_slash)
{
  g_autofree char *raw = uri_decode (s, len);
  return sk_sigv4_uri_encode (raw, -1, keep_slash);
}

/* ---------------------------------------------------------------- path */

/* RFC 3986 dot-segment removal plus empty segments dropped; keeps a
 * trailing slash. */
static char *
normalize_path (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  GPtrArray *stack = g_ptr_array_new ();
  guint n = g_strv_length (parts);
  for (guint i = 0; i < n; i++)
    {
      const char *seg = parts[i];
      if (*seg == '\0' || g_str_equal (seg, "."))
        continue;
      if (g_str_equal (seg, ".."))
        {
          if (stack->len > 0)
            g_ptr_array_remove_index (stack, stack->len - 1);
          continue;
        }
      g_ptr_array_add (stack, (gpointer) seg);
    }
  gboolean trailing = n > 1 && (parts[n - 1][0] == '\0' || g_str_equal (parts[n - 1], ".")
                                || g_str_equal (parts[n - 1], ".."));
  GString *out = g_string_new ("/");
  for (guint i = 0; i < stack->len; i++)
    {
      g_string_append (out, stack->pdata[i]);
      if (i + 1 < stack->len || trailing)
        g_string_append_c (out, '/');
    }
  g_ptr_array_free (stack, TRUE);
  return g_string_free (out, FALSE);
}

static char *
canonical_path (const char *path, gboolean normalize)
{
  if (path == NULL || *path == '\0')
    return g_strdup ("/");
  g_autofree char *decoded = uri_decode (path, strlen (path));
  g_autofree char *norm = normalize ? normalize_path (decoded) : g_strdup (decoded);
  return sk_sigv4_uri_encode (norm, -1, TRUE);
}

/* ---------------------------------------------------------------- query */

typedef struct {
  char *key;
  char *value;
} Param;

static void
param_free (gpointer p)
{
  Param *param = p;
  g_free (param->key);
  g_free (param->value);
  g_free (param);
}

static int
param_cmp (gconstpointer a, gconstpointer b)
{
  const Param *pa = *(Param *const *) a, *pb = *(Param *const *) b;
  int c = strcmp (pa->key, pb->key);
  return c ? c : strcmp (pa->value, pb->value);
}

static char *
canonical_query (const char *query)
{
  if (query == NULL || *query == '\0')
    return g_strdup ("");
  g_autoptr (GPtrArray) params = g_ptr_array_new_with_free_func (param_free);
  g_auto (GStrv) pairs = g_strsplit (query, "&", -1);
  for (char **p = pairs; *p; p++)
    {
      if (**p == '\0')
        continue;
      const char *eq = strchr (*p, '=');
      Param *param = g_new0 (Param, 1);
      param->key = reencode (*p, eq ? (gsize) (eq - *p) : strlen (*p), FALSE);
      param->value = eq ? reencode (eq + 1, strlen (eq + 1), FALSE) : g_strdup ("");
      g_ptr_array_add (params, param);
    }
  g_ptr_array_sort (params, param_cmp);
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < params->len; i++)
    {
      const Param *param = params->pdata[i];
      g_string_append_printf (out, "%s%s=%s", i ? "&" : "", param->key, param->value);
    }
  return g_string_free (out, FALSE);
}

/* ---------------------------------------------------------------- headers */

/* Trimmed, with every run of whitespace (folded lines too) one space. */
static char *
fold_value (const char *value)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;
  for (const char *c = value; *c; c++)
    {
      if (g_ascii_isspace (*c))
        {
          space = out->len > 0;
          continue;
        }
      if (space)
        g_string_append_c (out, ' ');
      space = FALSE;
      g_string_append_c (out, *c);
    }
  return g_string_free (out, FALSE);
}

static int
compare_names (gconstpointer a, gconstpointer b, gpointer data)
{
  return strcmp (a, b);
}

/* lowercase name -> folded value, repeated names joined with ",". */
static GTree *
collect_headers (const char *const *headers)
{
  GTree *tree = g_tree_new_full (compare_names, NULL, g_free, g_free);
  for (const char *const *h = headers; h && *h; h++)
    {
      const char *colon = strchr (*h, ':');
      if (colon == NULL)
        continue;
      g_autofree char *raw_name = g_strndup (*h, colon - *h);
      char *name = g_ascii_strdown (g_strstrip (raw_name), -1);
      char *value = fold_value (colon + 1);
      const char *old = g_tree_lookup (tree, name);
      if (old)
        {
          char *joined = g_strconcat (old, ",", value, NULL);
          g_free (value);
          value = joined;
        }
      g_tree_replace (tree, name, value);
    }
  return tree;
}

typedef struct {
  GString *lines;
  GString *names;
} HeaderOut;

static gboolean
append_header (gpointer key, gpointer value, gpointer data)
{
  HeaderOut *out = data;
  g_string_append_printf (out->lines, "%s:%s\n", (char *) key, (char *) value);
  g_string_append_printf (out->names, "%s%s", out->names->len ? ";" : "", (char *) key);
  return FALSE;
}

/* ---------------------------------------------------------------- signing */

char *
sk_sigv4_canonical_request (const SkSigV4Request *req, char **out_signed_headers)
{
  g_autofree char *path = canonical_path (req->path, req->normalize_path);
  g_autofree char *query = canonical_query (req->query);
  GTree *tree = collect_headers (req->headers);
  HeaderOut out = { g_string_new (NULL), g_string_new (NULL) };
  g_tree_foreach (tree, append_header, &out);
  g_tree_unref (tree);
  char *creq = g_strdup_printf ("%s\n%s\n%s\n%s\n%s\n%s", req->method, path, query, out.lines->str, out.names->str,
                                req->payload_hash ? req->payload_hash : SK_SIGV4_EMPTY_SHA256);
  g_string_free (out.lines, TRUE);
  if (out_signed_headers)
    *out_signed_headers = g_string_free (out.names, FALSE);
  else
    g_string_free (out.names, TRUE);
  return creq;
}

char *
sk_sigv4_scope (const char *amz_date, const SkSigV4Key *key)
{
  return g_strdup_printf ("%.8s/%s/%s/aws4_request", amz_date, key->region, key->service);
}

char *
sk_sigv4_string_to_sign (const char *amz_date, const char *scope, const char *canonical_request)
{
  g_autofree char *hash = sk_sigv4_hex_sha256 (canonical_request, strlen (canonical_request));
  return g_strdup_printf (ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hash);
}

char *
sk_sigv4_signature (const SkSigV4Key *key, const char *amz_date, const char *string_to_sign)
{
  g_autofree char *secret = g_strconcat ("AWS4", key->secret_key, NULL);
  g_autofree char *date = g_strndup (amz_date, 8);
  guint8 k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
  hmac (secret, strlen (secret), date, k_date);
  hmac (k_date, 32, key->region, k_region);
  hmac (k_region, 32, key->service, k_service);
  hmac (k_service, 32, "aws4_request", k_signing);
  hmac (k_signing, 32, string_to_sign, sig);
  OPENSSL_cleanse (k_signing, sizeof k_signing);
  OPENSSL_cleanse (k_date, sizeof k_date);
  return to_hex (sig, 32);
}

char *
sk_sigv4_amz_date (gint64 unix_time)
{
  time_t t = (time_t) unix_time;
  struct tm tm;
  gmtime_r (&t, &tm);
  char buf[32];
  strftime (buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return g_strdup (buf);
}

GStrv
sk_sigv4_sign (const SkSigV4Key *key, const SkSigV4Request *req, gboolean add_content_sha256, gint64 unix_time)
{
  g_autofree char *amz_date = sk_sigv4_amz_date (unix_time);
  const char *payload = req->payload_hash ? req->payload_hash : SK_SIGV4_EMPTY_SHA256;
  GPtrArray *added = g_ptr_array_new ();
  g_ptr_array_add (added, g_strdup_printf ("x-amz-date: %s", amz_date));
  if (add_content_sha256)
    g_ptr_array_add (added, g_strdup_printf ("x-amz-content-sha256: %s", payload));
  if (key->session_token && *key->session_token)
    g_ptr_array_add (added, g_strdup_printf ("x-amz-security-token: %s", key->session_token));
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  for (const char *const *h = req->headers; h && *h; h++)
    g_ptr_array_add (all, (gpointer) *h);
  for (guint i = 0; i < added->len; i++)
    g_ptr_array_add (all, added->pdata[i]);
  g_ptr_array_add (all, NULL);
  SkSigV4Request signed_req = *req;
  signed_req.headers = (const char *const *) all->pdata;
  signed_req.payload_hash = payload;
  g_autofree char *names = NULL;
  g_autofree char *creq = sk_sigv4_canonical_request (&signed_req, &names);
  g_autofree char *scope = sk_sigv4_scope (amz_date, key);
  g_autofree char *sts = sk_sigv4_string_to_sign (amz_date, scope, creq);
  g_autofree char *sig = sk_sigv4_signature (key, amz_date, sts);
  g_ptr_array_add (added, g_strdup_printf ("Authorization: " ALGORITHM " Credential=%s/%s, SignedHeaders=%s, "
                                           "Signature=%s", key->access_key, scope, names, sig));
  g_ptr_array_add (added, NULL);
  return (GStrv) g_ptr_array_free (added, FALSE);
}
