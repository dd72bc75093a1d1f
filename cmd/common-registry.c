/* skiff — the options every registry verb shares: --tls-verify,
 * --authfile, --cert-dir (podman's names and meanings). */
#include "cmd/cmd.h"
#include "common/error.h"

static gboolean
parse_tls_verify (const char *name, const char *value, gpointer data, GError **error)
{
  SkRegistryCliOptions *ropts = data;
  if (value == NULL || g_ascii_strcasecmp (value, "true") == 0)
    ropts->tls_verify = TRUE;
  else if (g_ascii_strcasecmp (value, "false") == 0)
    ropts->tls_verify = FALSE;
  else
    return g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "invalid --tls-verify '%s': expected 'true' or 'false'", value), FALSE;
  return TRUE;
}

/* @own's entries, then the registry ones of @flags; free with g_free. */
static GOptionEntry *
combined_entries (const GOptionEntry *own, SkRegistryCliOptions *ropts, SkRegistryCliFlags flags)
{
  const GOptionEntry shared[] = {
    { "tls-verify", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_tls_verify,
      "Check the registry's TLS certificate (default true; false also allows plain http)", "BOOL" },
    { "authfile", 0, 0, G_OPTION_ARG_FILENAME, &ropts->authfile, "Credentials file (auth.json format)", "FILE" },
    { "cert-dir", 0, 0, G_OPTION_ARG_FILENAME, &ropts->cert_dir,
      "Certificates for the registry: *.crt CAs, *.cert/*.key client pair", "DIR" },
  };
  const SkRegistryCliFlags which[] = { SK_REGISTRY_CLI_TLS_VERIFY, SK_REGISTRY_CLI_AUTHFILE,
                                       SK_REGISTRY_CLI_CERT_DIR };
  gsize n_own = 0;
  while (own && own[n_own].long_name)
    n_own++;
  GOptionEntry *all = g_new0 (GOptionEntry, n_own + G_N_ELEMENTS (shared) + 1);
  gsize n = 0;
  for (gsize i = 0; i < n_own; i++)
    all[n++] = own[i];
  for (gsize i = 0; i < G_N_ELEMENTS (shared); i++)
    if (flags & which[i])
      all[n++] = shared[i];
  return all;
}

gboolean
sk_cmd_parse_registry (const char *verb, const char *params, const char *summary, const GOptionEntry *entries,
                       SkRegistryCliOptions *ropts, SkRegistryCliFlags flags, int *argc, char ***argv,
                       GError **error)
{
  *ropts = (SkRegistryCliOptions) { .tls_verify = TRUE };
  g_autofree GOptionEntry *all = combined_entries (entries, ropts, flags);
  if (!sk_cmd_parse_with_data (verb, params, summary, all, ropts, argc, argv, error))
    return FALSE;
  if (ropts->authfile && !(flags & SK_REGISTRY_CLI_AUTHFILE_NEW) && !g_file_test (ropts->authfile, G_FILE_TEST_IS_REGULAR))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "%s: --authfile '%s' does not exist", verb,
                        ropts->authfile), FALSE;
  if (ropts->cert_dir && !g_file_test (ropts->cert_dir, G_FILE_TEST_IS_DIR))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "%s: --cert-dir '%s' is not a directory", verb,
                        ropts->cert_dir), FALSE;
  return TRUE;
}
