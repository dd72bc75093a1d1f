/* skiff pull — fetch an image from a registry into the store. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/util.h"
#include "oci/reference.h"
#include "registry/pull.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean opt_tls_verify = TRUE;
static char *opt_authfile;
static char *opt_cert_dir;
static char *opt_platform;
static gboolean opt_quiet;

static gboolean
parse_tls_verify (const char *name, const char *value, gpointer data, GError **error)
{
  if (value == NULL || g_ascii_strcasecmp (value, "true") == 0)
    opt_tls_verify = TRUE;
  else if (g_ascii_strcasecmp (value, "false") == 0)
    opt_tls_verify = FALSE;
  else
    return g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "invalid --tls-verify '%s': expected 'true' or 'false'", value), FALSE;
  return TRUE;
}

static GOptionEntry entries[] = {
  { "tls-verify", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_tls_verify,
    "Check the registry's TLS certificate (default true; false also allows plain http)", "BOOL" },
  { "authfile", 0, 0, G_OPTION_ARG_FILENAME, &opt_authfile, "Credentials file (auth.json format)", "FILE" },
  { "cert-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_cert_dir,
    "Certificates for the registry: *.crt CAs, *.cert/*.key client pair", "DIR" },
  { "platform", 0, 0, G_OPTION_ARG_STRING, &opt_platform, "Image to pick from an index (default linux/host)",
    "OS/ARCH[/VARIANT]" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print no progress, only the digest", NULL },
  { NULL },
};

typedef struct {
  gboolean tty;
  gboolean line_open; /* a progress line waits for its end (tty) */
} Progress;

static char *
short_digest (const char *digest)
{
  const char *colon = strchr (digest, ':');
  return colon ? g_strdup_printf ("%.*s%.12s", (int) (colon - digest + 1), digest, colon + 1) : g_strdup (digest);
}

static void
on_progress (const SkPullEvent *ev, gpointer user_data)
{
  Progress *pr = user_data;
  g_autofree char *id = ev->digest ? short_digest (ev->digest) : NULL;
  g_autofree char *done = sk_format_size (ev->done);
  g_autofree char *total = sk_format_size (ev->total);
  switch (ev->kind)
    {
    case SK_PULL_EVENT_BLOB_SKIP:
      fprintf (stderr, "Copying blob %s skipped: already in the store\n", id);
      break;
    case SK_PULL_EVENT_BLOB_START:
      if (ev->done > 0)
        fprintf (stderr, "Resuming blob %s at %s of %s\n", id, done, total);
      break;
    case SK_PULL_EVENT_BLOB_BYTES:
      if (pr->tty)
        {
          fprintf (stderr, "\rCopying blob %s %s / %s\033[K", id, done, total);
          pr->line_open = TRUE;
        }
      break;
    case SK_PULL_EVENT_BLOB_DONE:
      fprintf (stderr, "%sCopying blob %s %s done\n", pr->line_open ? "\r\033[K" : "", id, total);
      pr->line_open = FALSE;
      break;
    case SK_PULL_EVENT_CONFIG:
      fprintf (stderr, "Copying config %s\n", id);
      break;
    case SK_PULL_EVENT_STORING:
      fprintf (stderr, "Writing the image to the store\n");
      break;
    case SK_PULL_EVENT_MANIFEST:
      break;
    }
}

/* "os/arch[/variant]" into @opts (the strings stay in @parts). */
static gboolean
parse_platform (const char *text, GStrv *parts, SkPullOptions *opts, GError **error)
{
  *parts = g_strsplit (text, "/", 0);
  guint n = g_strv_length (*parts);
  if (n < 2 || n > 3 || (*parts)[0][0] == '\0' || (*parts)[1][0] == '\0' || (n == 3 && (*parts)[2][0] == '\0'))
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "pull: invalid --platform '%s': expected OS/ARCH[/VARIANT]",
                        text), FALSE;
  opts->os = (*parts)[0];
  opts->architecture = (*parts)[1];
  opts->variant = n == 3 ? (*parts)[2] : NULL;
  return TRUE;
}

int
sk_cmd_pull (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("pull", "NAME[:TAG|@DIGEST]",
                     "Fetch an image from a registry into the store and print its digest.\n"
                     "Layers the store already has are not downloaded again; a broken\n"
                     "download resumes at the next pull.",
                     entries, &argc, &argv, error)
      || !sk_cmd_check_args ("pull", argc, 1, 1, error))
    return SK_CMD_FAILED;
  SkPullOptions opts = { .tls_verify = opt_tls_verify, .authfile = opt_authfile, .cert_dir = opt_cert_dir };
  g_auto (GStrv) platform = NULL;
  if (opt_platform && !parse_platform (opt_platform, &platform, &opts, error))
    return SK_CMD_FAILED;
  if (opt_authfile && !g_file_test (opt_authfile, G_FILE_TEST_IS_REGULAR))
    return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "pull: --authfile '%s' does not exist", opt_authfile),
           SK_CMD_FAILED;
  g_autofree char *expanded = sk_reference_expand_arch (argv[1]);
  g_autoptr (SkReference) ref = sk_reference_parse (expanded, error);
  if (ref == NULL)
    return SK_CMD_FAILED;
  if (ref->kind != SK_REFERENCE_REGISTRY)
    return g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED, "pull: '%s' is not a registry reference", argv[1]),
           SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  Progress pr = { .tty = isatty (STDERR_FILENO) };
  if (!opt_quiet)
    {
      opts.progress = on_progress;
      opts.progress_data = &pr;
    }
  g_autofree char *digest = NULL;
  g_autofree char *full = sk_reference_to_string (ref);
  if (!sk_registry_pull (store, ref, &opts, &digest, error))
    {
      if (pr.line_open)
        fputc ('\n', stderr);
      g_prefix_error (error, "pulling '%s': ", full);
      return SK_CMD_FAILED;
    }
  printf ("%s\n", digest);
  return 0;
}
