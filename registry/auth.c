/* skiff — registry authentication: challenges, scopes, tokens, token cache. */
#include "registry/auth.h"

#include "common/error.h"
#include "registry/registry-json.h"

#include <string.h>

/* ---- WWW-Authenticate (RFC 7235 section 2.1, RFC 7230 section 3.2.6) ---- */

/* What the parser walks: the whole header (for messages) and the cursor. */
typedef struct {
  const char *header;
  const char *p;
} Cursor;

static gboolean
is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
is_token68_char (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("-._~+/", c) != NULL);
}

static void
skip_ows (Cursor *c)
{
  while (*c->p == ' ' || *c->p == '\t')
    c->p++;
}

static gboolean
challenge_error (GError **error, const Cursor *c, const char *why)
{
  g_autofree char *shown = g_strndup (c->header, 200);
  g_autofree char *escaped = g_strescape (shown, NULL);
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA,
                      "invalid WWW-Authenticate header '%s%s': %s at offset %d", escaped,
                      strlen (c->header) > 200 ? "..." : "", why, (int) (c->p - c->header)), FALSE;
}

/* A token at the cursor (may be empty); the cursor moves past it. */
static char *
read_token (Cursor *c)
{
  const char *start = c->p;
  while (is_tchar (*c->p))
    c->p++;
  return g_strndup (start, c->p - start);
}

/* quoted-string: DQUOTE *( qdtext / quoted-pair ) DQUOTE; the cursor is on
 * the opening quote. */
static gboolean
read_quoted (Cursor *c, char **out, GError **error)
{
  g_autoptr (GString) s = g_string_new (NULL);
  c->p++;
  for (;;)
    {
      guchar ch = *c->p;
      if (ch == '\0')
        return challenge_error (error, c, "unterminated quoted string");
      if (ch == '"')
        break;
      if (ch == '\\')
        ch = *++c->p;
      if (ch == '\0')
        return challenge_error (error, c, "unterminated quoted string");
      if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
        return challenge_error (error, c, "control character in quoted string");
      g_string_append_c (s, ch);
      c->p++;
    }
  c->p++;
  *out = g_string_free (g_steal_pointer (&s), FALSE);
  return TRUE;
}

/* After a value or a scheme: optional whitespace, then a comma or the end. */
static gboolean
expect_separator (Cursor *c, GError **error)
{
  skip_ows (c);
  if (*c->p != '\0' && *c->p != ',')
    return challenge_error (error, c, "expected ',' or the end");
  return TRUE;
}

/* auth-param = token BWS "=" BWS ( token / quoted-string ); the cursor is
 * just after the '='. */
static gboolean
read_param_value (Cursor *c, SkAuthChallenge *ch, char *name, GError **error)
{
  g_autofree char *key = name;
  g_autofree char *value = NULL;
  skip_ows (c);
  if (*c->p == '"')
    {
      if (!read_quoted (c, &value, error))
        return FALSE;
    }
  else
    {
      value = read_token (c);
      if (*value == '\0')
        return challenge_error (error, c, "expected a value");
    }
  char *lower = g_ascii_strdown (key, -1);
  if (g_hash_table_contains (ch->params, lower))
    {
      g_free (lower);
      return challenge_error (error, c, "parameter given twice");
    }
  g_hash_table_insert (ch->params, lower, g_steal_pointer (&value));
  return expect_separator (c, error);
}

/* token68 right after a scheme: the whole rest of the list element. */
static gboolean
try_token68 (Cursor *c, SkAuthChallenge *ch)
{
  const char *q = c->p;
  while (is_token68_char (*q))
    q++;
  if (q == c->p)
    return FALSE;
  while (*q == '=')
    q++;
  const char *end = q;
  while (*q == ' ' || *q == '\t')
    q++;
  if (*q != '\0' && *q != ',')
    return FALSE;
  ch->token68 = g_strndup (c->p, end - c->p);
  c->p = q;
  return TRUE;
}

static SkAuthChallenge *
challenge_new (const char *scheme)
{
  SkAuthChallenge *ch = g_new0 (SkAuthChallenge, 1);
  ch->scheme = g_ascii_strdown (scheme, -1);
  ch->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return ch;
}

/* One list element: either an auth-param of the current challenge or a new
 * challenge (scheme, then optionally token68 or a first auth-param). */
static gboolean
parse_element (Cursor *c, GPtrArray *out, GError **error)
{
  g_autofree char *name = read_token (c);
  if (*name == '\0')
    return challenge_error (error, c, "expected an authentication scheme or parameter");
  skip_ows (c);
  SkAuthChallenge *current = out->len > 0 ? out->pdata[out->len - 1] : NULL;
  if (*c->p == '=')
    {
      if (current == NULL)
        return challenge_error (error, c, "parameter before any authentication scheme");
      if (current->token68 != NULL)
        return challenge_error (error, c, "parameter after token68 credentials");
      c->p++;
      return read_param_value (c, current, g_steal_pointer (&name), error);
    }
  SkAuthChallenge *ch = challenge_new (name);
  g_ptr_array_add (out, ch);
  if (*c->p == '\0' || *c->p == ',')
    return TRUE;
  if (c->p[-1] != ' ' && c->p[-1] != '\t')
    return challenge_error (error, c, "expected a space after the authentication scheme");
  if (try_token68 (c, ch))
    return TRUE;
  g_autofree char *param = read_token (c);
  skip_ows (c);
  if (*param == '\0' || *c->p != '=')
    return challenge_error (error, c, "expected a parameter 'name=value'");
  c->p++;
  return read_param_value (c, ch, g_steal_pointer (&param), error);
}

GPtrArray *
sk_auth_challenges_parse (const char *header, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) sk_auth_challenge_free);
  Cursor c = { header ? header : "", header ? header : "" };
  for (;;)
    {
      while (*c.p == ' ' || *c.p == '\t' || *c.p == ',')
        c.p++;
      if (*c.p == '\0')
        break;
      if (!parse_element (&c, out, error))
        return NULL;
    }
  if (out->len == 0)
    return challenge_error (error, &c, "no challenge"), NULL;
  return g_steal_pointer (&out);
}

void
sk_auth_challenge_free (SkAuthChallenge *challenge)
{
  if (challenge == NULL)
    return;
  g_free (challenge->scheme);
  g_hash_table_unref (challenge->params);
  g_free (challenge->token68);
  g_free (challenge);
}

const char *
sk_auth_challenge_get (const SkAuthChallenge *challenge, const char *name)
{
  return g_hash_table_lookup (challenge->params, name);
}

const SkAuthChallenge *
sk_auth_challenges_find (GPtrArray *challenges, const char *scheme)
{
  for (guint i = 0; challenges != NULL && i < challenges->len; i++)
    {
      const SkAuthChallenge *ch = challenges->pdata[i];
      if (g_ascii_strcasecmp (ch->scheme, scheme) == 0)
        return ch;
    }
  return NULL;
}

/* ---- scopes (scope.md) ---- */

static gboolean
check_scope_name (const char *repository, GError **error)
{
  if (repository == NULL || *repository == '\0')
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "empty repository name in a scope"), FALSE;
  for (const guchar *p = (const guchar *) repository; *p; p++)
    if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\' || *p == ':')
      return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE,
                          "invalid repository name '%s' for a scope", repository), FALSE;
  return TRUE;
}

char *
sk_auth_scope_repository (const char *repository, SkAuthActions actions, GError **error)
{
  if (!check_scope_name (repository, error))
    return NULL;
  static const struct {
    SkAuthActions bit;
    const char *name;
  } names[] = { { SK_AUTH_PULL, "pull" }, { SK_AUTH_PUSH, "push" }, { SK_AUTH_DELETE, "delete" } };
  g_autoptr (GString) s = g_string_new ("repository:");
  g_string_append_printf (s, "%s:", repository);
  gboolean first = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (actions & names[i].bit)
      {
        g_string_append_printf (s, "%s%s", first ? "" : ",", names[i].name);
        first = FALSE;
      }
  if (first)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "no action in the scope for '%s'",
                        repository), NULL;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

GStrv
sk_auth_scopes_for_mount (const char *target, const char *source, GError **error)
{
  g_autofree char *push = sk_auth_scope_repository (target, SK_AUTH_PULL | SK_AUTH_PUSH, error);
  if (push == NULL)
    return NULL;
  g_autofree char *pull = sk_auth_scope_repository (source, SK_AUTH_PULL, error);
  if (pull == NULL)
    return NULL;
  char **out = g_new0 (char *, 3);
  out[0] = g_steal_pointer (&push);
  out[1] = g_steal_pointer (&pull);
  return out;
}

char *
sk_auth_scopes_join (const char *const *scopes)
{
  return g_strjoinv (" ", (char **) (scopes ? scopes : (const char *const[]) { NULL }));
}

GStrv
sk_auth_scopes_split (const char *scope_list)
{
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) parts = g_strsplit (scope_list ? scope_list : "", " ", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_strv_builder_add (b, parts[i]);
  return g_strv_builder_end (b);
}

void
sk_auth_scope_free (SkAuthScope *scope)
{
  if (scope == NULL)
    return;
  g_free (scope->type);
  g_free (scope->name);
  g_strfreev (scope->actions);
  g_free (scope);
}

SkAuthScope *
sk_auth_scope_parse (const char *scope, GError **error)
{
  const char *first = strchr (scope, ':');
  const char *last = strrchr (scope, ':');
  if (first == NULL || first == last || first == scope || last == first + 1)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "invalid scope '%s': expected 'type:name:actions'",
                        scope), NULL;
  g_autoptr (SkAuthScope) s = g_new0 (SkAuthScope, 1);
  s->type = g_strndup (scope, first - scope);
  s->name = g_strndup (first + 1, last - first - 1);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_auto (GStrv) actions = g_strsplit (last + 1, ",", -1);
  for (guint i = 0; actions[i] != NULL; i++)
    if (*actions[i] != '\0')
      g_strv_builder_add (b, actions[i]);
  s->actions = g_strv_builder_end (b);
  return g_steal_pointer (&s);
}

/* ---- token request ---- */

/* Percent-encodes a query value; ":/,@" stay as they are (RFC 3986 allows
 * them in a query and the spec's examples show them plain). */
static char *
query_escape (const char *value)
{
  return g_uri_escape_string (value, ":/,@", FALSE);
}

static gboolean
realm_error (GError **error, const char *realm, const char *why)
{
  g_autofree char *escaped = g_strescape (realm, NULL);
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "refusing token realm '%s': %s", escaped, why),
         FALSE;
}

/* The absolute realm, checked: http(s), a host, no user information, no
 * fragment, nothing that would not survive in a request line. */
static char *
check_realm (const char *realm, const char *request_url, GError **error)
{
  for (const guchar *p = (const guchar *) realm; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return realm_error (error, realm, "whitespace or control character"), NULL;
  g_autofree char *abs = NULL;
  if (g_uri_peek_scheme (realm) != NULL)
    abs = g_strdup (realm);
  else if (request_url != NULL)
    abs = g_uri_resolve_relative (request_url, realm, G_URI_FLAGS_ENCODED, NULL);
  if (abs == NULL)
    return realm_error (error, realm, "not an absolute URL"), NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GUri) uri = g_uri_parse (abs, G_URI_FLAGS_ENCODED, &local);
  if (uri == NULL)
    return realm_error (error, realm, local->message), NULL;
  const char *scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0)
    return realm_error (error, realm, "only http and https are allowed"), NULL;
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return realm_error (error, realm, "no host"), NULL;
  if (g_uri_get_userinfo (uri) != NULL)
    return realm_error (error, realm, "user information in the URL"), NULL;
  if (g_uri_get_fragment (uri) != NULL)
    return realm_error (error, realm, "fragment in the URL"), NULL;
  return g_steal_pointer (&abs);
}

char *
sk_auth_token_url (const char *realm, const char *request_url, const char *service, const char *const *scopes,
                   GError **error)
{
  g_autofree char *abs = check_realm (realm ? realm : "", request_url, error);
  if (abs == NULL)
    return NULL;
  g_autoptr (GString) url = g_string_new (abs);
  const char *q = strchr (abs, '?');
  const char *sep = q == NULL ? "?" : (q[1] == '\0' || g_str_has_suffix (abs, "&")) ? "" : "&";
  if (service != NULL)
    {
      g_autofree char *v = query_escape (service);
      g_string_append_printf (url, "%sservice=%s", sep, v);
      sep = "&";
    }
  for (guint i = 0; scopes != NULL && scopes[i] != NULL; i++)
    {
      g_autofree char *v = query_escape (scopes[i]);
      g_string_append_printf (url, "%sscope=%s", sep, v);
      sep = "&";
    }
  return g_string_free (g_steal_pointer (&url), FALSE);
}

char *
sk_auth_oauth_refresh_form (const char *service, const char *const *scopes, const char *refresh_token,
                            const char *client_id)
{
  g_autofree char *rt = query_escape (refresh_token ? refresh_token : "");
  g_autofree char *svc = query_escape (service ? service : "");
  g_autofree char *cid = query_escape (client_id ? client_id : "skiff");
  g_autoptr (GString) form = g_string_new (NULL);
  g_string_append_printf (form, "grant_type=refresh_token&refresh_token=%s&service=%s&client_id=%s", rt, svc,
                          cid);
  if (scopes != NULL && scopes[0] != NULL)
    {
      g_autofree char *joined = sk_auth_scopes_join (scopes);
      g_autofree char *v = query_escape (joined);
      g_string_append_printf (form, "&scope=%s", v);
    }
  return g_string_free (g_steal_pointer (&form), FALSE);
}

char *
sk_auth_basic_value (const char *username, const char *password)
{
  g_autofree char *plain = g_strdup_printf ("%s:%s", username ? username : "", password ? password : "");
  g_autofree char *b64 = g_base64_encode ((const guchar *) plain, strlen (plain));
  explicit_bzero (plain, strlen (plain));
  return g_strdup_printf ("Basic %s", b64);
}

/* ---- token response ---- */

void
sk_auth_token_free (SkAuthToken *token)
{
  if (token == NULL)
    return;
  g_free (token->token);
  g_free (token->refresh_token);
  g_free (token);
}

static gboolean
token_error (GError **error, const char *why)
{
  return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "invalid token response: %s", why), FALSE;
}

static gboolean
printable_token (const char *s)
{
  for (const guchar *p = (const guchar *) s; *p; p++)
    if (*p <= ' ' || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* RFC 3339 date-time: "2009-11-10T23:00:00Z", "...00.5+01:00".  GLib's
 * ISO 8601 parser accepts more forms, so the shape is checked first. */
static gboolean
parse_rfc3339 (const char *s, gint64 *out)
{
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  for (guint i = 0; i < sizeof shape - 1; i++)
    if (shape[i] == 'd' ? !g_ascii_isdigit (s[i]) : shape[i] == 'T' ? (s[i] != 'T' && s[i] != 't') : s[i] != shape[i])
      return FALSE;
  const char *p = s + sizeof shape - 1;
  if (*p == '.' && g_ascii_isdigit (p[1]))
    for (p++; g_ascii_isdigit (*p); p++)
      ;
  gboolean zone_ok = ((*p == 'Z' || *p == 'z') && p[1] == '\0')
                     || ((*p == '+' || *p == '-') && g_ascii_isdigit (p[1]) && g_ascii_isdigit (p[2]) && p[3] == ':'
                         && g_ascii_isdigit (p[4]) && g_ascii_isdigit (p[5]) && p[6] == '\0');
  if (!zone_ok)
    return FALSE;
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (s, NULL);
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt);
  return TRUE;
}

/* The token itself: "token" first, "access_token" when it is absent or
 * empty (token.md allows either). */
static gboolean
token_value (json_t *j, char **out, GError **error)
{
  const char *token = NULL;
  const char *access = NULL;
  if (!sk_registry_json_string (j, "token", &token, error)
      || !sk_registry_json_string (j, "access_token", &access, error))
    return g_prefix_error (error, "invalid token response: "), FALSE;
  const char *value = token != NULL && *token != '\0' ? token : access;
  if (value == NULL || *value == '\0')
    return token_error (error, "no 'token' or 'access_token'");
  if (!printable_token (value))
    return token_error (error, "the token holds whitespace or control characters");
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
token_times (json_t *j, SkAuthToken *t, gint64 now, GError **error)
{
  json_t *expires = json_object_get (j, "expires_in");
  t->expires_in = SK_AUTH_TOKEN_MIN_LIFETIME;
  if (expires != NULL && !json_is_null (expires))
    {
      if (!json_is_integer (expires))
        return token_error (error, "'expires_in' is not an integer");
      t->expires_in = CLAMP (json_integer_value (expires), SK_AUTH_TOKEN_MIN_LIFETIME, SK_AUTH_TOKEN_MAX_LIFETIME);
    }
  const char *issued = NULL;
  if (!sk_registry_json_string (j, "issued_at", &issued, error))
    return g_prefix_error (error, "invalid token response: "), FALSE;
  if (issued != NULL && !parse_rfc3339 (issued, &t->issued_at))
    return token_error (error, "'issued_at' is not an RFC 3339 time");
  /* token.md counts from issued_at; a server clock ahead of ours must not
   * stretch the lifetime, so never start later than now. */
  gint64 start = issued != NULL && t->issued_at < now ? t->issued_at : now;
  t->expires_at = start + t->expires_in;
  return TRUE;
}

SkAuthToken *
sk_auth_token_parse (const void *data, gsize len, gint64 now, GError **error)
{
  g_autoptr (json_t) j = sk_registry_json_parse (data, len, error);
  if (j == NULL)
    return g_prefix_error (error, "invalid token response: "), NULL;
  g_autoptr (SkAuthToken) t = g_new0 (SkAuthToken, 1);
  if (!token_value (j, &t->token, error) || !token_times (j, t, now, error))
    return NULL;
  const char *refresh = NULL;
  if (!sk_registry_json_string (j, "refresh_token", &refresh, error))
    return g_prefix_error (error, "invalid token response: "), NULL;
  if (refresh != NULL && *refresh != '\0')
    t->refresh_token = g_strdup (refresh);
  return g_steal_pointer (&t);
}

/* ---- token cache ---- */

typedef struct {
  char *token;
  gint64 expires_at;
} CacheEntry;

struct _SkAuthCache {
  GMutex lock;
  GHashTable *entries; /* key -> CacheEntry */
};

static void
cache_entry_free (CacheEntry *e)
{
  g_free (e->token);
  g_free (e);
}

SkAuthCache *
sk_auth_cache_new (void)
{
  SkAuthCache *cache = g_new0 (SkAuthCache, 1);
  g_mutex_init (&cache->lock);
  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cache_entry_free);
  return cache;
}

void
sk_auth_cache_free (SkAuthCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->entries);
  g_mutex_clear (&cache->lock);
  g_free (cache);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
sk_auth_cache_key (const char *realm, const char *service, const char *const *scopes)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  for (guint i = 0; scopes != NULL && scopes[i] != NULL; i++)
    g_ptr_array_add (sorted, (gpointer) scopes[i]);
  g_ptr_array_sort (sorted, compare_strings);
  g_autoptr (GString) key = g_string_new (NULL);
  g_string_append_printf (key, "%s\n%s\n", realm ? realm : "", service ? service : "");
  for (guint i = 0; i < sorted->len; i++)
    if (i == 0 || g_strcmp0 (sorted->pdata[i], sorted->pdata[i - 1]) != 0)
      g_string_append_printf (key, "%s%s", i == 0 ? "" : " ", (const char *) sorted->pdata[i]);
  return g_string_free (g_steal_pointer (&key), FALSE);
}

void
sk_auth_cache_put (SkAuthCache *cache, const char *realm, const char *service, const char *const *scopes,
                   const SkAuthToken *token)
{
  CacheEntry *e = g_new0 (CacheEntry, 1);
  e->token = g_strdup (token->token);
  e->expires_at = token->expires_at;
  char *key = sk_auth_cache_key (realm, service, scopes);
  g_mutex_lock (&cache->lock);
  g_hash_table_replace (cache->entries, key, e);
  g_mutex_unlock (&cache->lock);
}

char *
sk_auth_cache_get (SkAuthCache *cache, const char *realm, const char *service, const char *const *scopes,
                   gint64 now)
{
  g_autofree char *key = sk_auth_cache_key (realm, service, scopes);
  char *out = NULL;
  g_mutex_lock (&cache->lock);
  CacheEntry *e = g_hash_table_lookup (cache->entries, key);
  if (e != NULL && now + SK_AUTH_CACHE_MARGIN < e->expires_at)
    out = g_strdup (e->token);
  else if (e != NULL)
    g_hash_table_remove (cache->entries, key);
  g_mutex_unlock (&cache->lock);
  return out;
}

void
sk_auth_cache_remove (SkAuthCache *cache, const char *realm, const char *service, const char *const *scopes)
{
  g_autofree char *key = sk_auth_cache_key (realm, service, scopes);
  g_mutex_lock (&cache->lock);
  g_hash_table_remove (cache->entries, key);
  g_mutex_unlock (&cache->lock);
}
