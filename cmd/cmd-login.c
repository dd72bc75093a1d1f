/* skiff login / logout — check and store registry credentials. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/credentials.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static SkRegistryCliOptions opt_registry;
static char *opt_username;
static char *opt_password;
static gboolean opt_password_stdin;

static GOptionEntry login_entries[] = {
  { "username", 'u', 0, G_OPTION_ARG_STRING, &opt_username, "User name", "USER" },
  { "password", 'p', 0, G_OPTION_ARG_STRING, &opt_password, "Password (visible to other users: prefer --password-stdin)",
    "PASS" },
  { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &opt_password_stdin, "Read the password from stdin", NULL },
  { NULL },
};

/* One line from @f without its newline; @echo FALSE turns echo off on a tty. */
static char *
read_line (FILE *f, gboolean echo)
{
  struct termios old, quiet;
  gboolean tty = !echo && isatty (fileno (f)) && tcgetattr (fileno (f), &old) == 0;
  if (tty)
    {
      quiet = old;
      quiet.c_lflag &= ~ECHO;
      tcsetattr (fileno (f), TCSANOW, &quiet);
    }
  char buf[4096];
  char *got = fgets (buf, sizeof buf, f);
  if (tty)
    {
      tcsetattr (fileno (f), TCSANOW, &old);
      fputc ('\n', stderr);
    }
  if (got == NULL)
    return NULL;
  buf[strcspn (buf, "\r\n")] = '\0';
  char *line = g_strdup (buf);
  explicit_bzero (buf, sizeof buf);
  return line;
}

static gboolean
get_credentials (char **user, char **pass, GError **error)
{
  gboolean tty = isatty (STDIN_FILENO);
  if (opt_username == NULL && tty && !opt_password_stdin)
    {
      fprintf (stderr, "Username: ");
      *user = read_line (stdin, TRUE);
    }
  else
    *user = g_strdup (opt_username);
  if (opt_password)
    *pass = g_strdup (opt_password);
  else if (opt_password_stdin || tty)
    {
      if (!opt_password_stdin)
        fprintf (stderr, "Password: ");
      *pass = read_line (stdin, FALSE);
    }
  if (*user == NULL || **user == '\0' || *pass == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                        "login: a user name (-u) and a password (-p or --password-stdin) are required"), FALSE;
  return TRUE;
}

/* Asks the token server of @header's Bearer challenge for a token with
 * the credentials; returns the status it answered. */
static gboolean
check_bearer (SkHttp *http, const char *header, const char *url, const char *basic, long *out_status,
              GError **error)
{
  g_autoptr (GPtrArray) challenges = sk_auth_challenges_parse (header, error);
  if (challenges == NULL)
    return FALSE;
  const SkAuthChallenge *bearer = sk_auth_challenges_find (challenges, "bearer");
  const SkAuthChallenge *basic_ch = sk_auth_challenges_find (challenges, "basic");
  if (bearer == NULL && basic_ch == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED, "unsupported challenge '%s'", header), FALSE;
  g_autofree char *token_url = NULL;
  if (bearer)
    {
      const char *realm = sk_auth_challenge_get (bearer, "realm");
      if (realm == NULL)
        return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "bearer challenge without a realm"), FALSE;
      token_url = sk_auth_token_url (realm, url, sk_auth_challenge_get (bearer, "service"), NULL, error);
      if (token_url == NULL)
        return FALSE;
    }
  const char *headers[] = { "Accept: application/json", NULL };
  SkHttpRequest req = { .url = token_url ? token_url : url, .headers = headers, .authorization = basic };
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, error);
  if (resp == NULL)
    return FALSE;
  *out_status = resp->status;
  return TRUE;
}

/* GET /v2/ and answer its challenge with @user and @pass. */
static gboolean
check_login (const char *registry, const char *user, const char *pass, GError **error)
{
  SkRegistryOptions ropts = { .tls_verify = opt_registry.tls_verify, .cert_dir = opt_registry.cert_dir,
                              .authfile = "/dev/null" };
  g_autoptr (SkRegistryClient) client = sk_registry_client_new (registry, &ropts, error);
  const char *base = client ? sk_registry_client_base (client, error) : NULL;
  if (base == NULL)
    return FALSE;
  g_autoptr (SkHttp) http = sk_http_new (opt_registry.tls_verify, opt_registry.cert_dir, error);
  if (http == NULL)
    return FALSE;
  g_autofree char *url = g_strconcat (base, "/v2/", NULL);
  SkHttpRequest req = { .url = url };
  g_autoptr (SkHttpResponse) resp = sk_http_send (http, &req, error);
  if (resp == NULL)
    return FALSE;
  if (resp->status == 200)
    return TRUE;
  const char *header = sk_http_response_header (resp, "www-authenticate");
  if (resp->status != 401 || header == NULL)
    return sk_http_set_status_error (error, "GET", url, resp);
  g_autofree char *basic = sk_auth_basic_value (user, pass);
  long status = 0;
  if (!check_bearer (http, header, url, basic, &status, error))
    return FALSE;
  if (status == 401 || status == 403)
    return g_set_error (error, SK_ERROR, SK_ERROR_UNAUTHORIZED, "wrong username or password"), FALSE;
  if (status != 200)
    return g_set_error (error, SK_ERROR, SK_ERROR_FAILED, "checking the credentials: HTTP %ld", status), FALSE;
  return TRUE;
}

int
sk_cmd_login (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse_registry ("login", "REGISTRY", "Check credentials against a registry and store them.",
                              login_entries, &opt_registry, SK_REGISTRY_CLI_ALL | SK_REGISTRY_CLI_AUTHFILE_NEW,
                              &argc, &argv, error)
      || !sk_cmd_check_args ("login", argc, 1, 1, error))
    return SK_CMD_FAILED;
  if (opt_password && opt_password_stdin)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "login: -p and --password-stdin exclude each other"),
           SK_CMD_FAILED;
  g_autofree char *user = NULL;
  g_autofree char *pass = NULL;
  if (!get_credentials (&user, &pass, error))
    return SK_CMD_FAILED;
  if (!check_login (argv[1], user, pass, error))
    return g_prefix_error (error, "login to '%s': ", argv[1]), SK_CMD_FAILED;
  SkCredentialsOptions copts = { .authfile = opt_registry.authfile };
  gboolean ok = sk_credentials_store (&copts, argv[1], user, pass, error);
  explicit_bzero (pass, strlen (pass));
  if (!ok)
    return SK_CMD_FAILED;
  printf ("Login Succeeded!\n");
  return 0;
}

int
sk_cmd_logout (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse_registry ("logout", "REGISTRY", "Remove the stored credentials of a registry.", NULL,
                              &opt_registry, SK_REGISTRY_CLI_AUTHFILE | SK_REGISTRY_CLI_AUTHFILE_NEW, &argc, &argv,
                              error)
      || !sk_cmd_check_args ("logout", argc, 1, 1, error))
    return SK_CMD_FAILED;
  SkCredentialsOptions copts = { .authfile = opt_registry.authfile };
  if (!sk_credentials_erase (&copts, argv[1], error))
    return SK_CMD_FAILED;
  printf ("Removed login credentials for %s\n", argv[1]);
  return 0;
}
