/* skiff — docker-credential-* helpers: run them, speak their protocol. */
#include "registry/credential-helper.h"

#include "common/error.h"
#include "common/log.h"
#include "registry/registry-json.h"

#include <errno.h>
#include <stdlib.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOT_FOUND_MESSAGE "credentials not found in native keychain"
#define TOKEN_USERNAME "<token>"

typedef struct {
  gboolean done;
  gboolean timed_out;
  char *out;
  char *err;
  GError *error;
} HelperRun;

static void
on_communicated (GObject *source, GAsyncResult *result, gpointer data)
{
  HelperRun *run = data;
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &run->error);
  run->done = TRUE;
}

static gboolean
on_timeout (gpointer data)
{
  ((HelperRun *) data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* A helper suffix from a file must not turn into a path. */
static gboolean
check_helper_name (const char *suffix, GError **error)
{
  gboolean ok = suffix != NULL && *suffix != '\0' && *suffix != '.' && *suffix != '-';
  for (const char *p = suffix; ok && *p; p++)
    ok = g_ascii_isalnum (*p) || *p == '-' || *p == '_' || *p == '.';
  if (!ok)
    return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "invalid credential helper name '%s'",
                        suffix ? suffix : ""), FALSE;
  return TRUE;
}

/* The helper's stdin: a sealed memory file rather than a pipe, so a helper
 * that exits without reading cannot SIGPIPE us. */
static int
input_fd (const char *input, GError **error)
{
  int fd = memfd_create ("skiff-credential-helper", MFD_CLOEXEC);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating the credential helper's input"), -1;
  gsize len = strlen (input);
  if (write (fd, input, len) != (ssize_t) len || lseek (fd, 0, SEEK_SET) != 0)
    {
      int errsv = errno;
      close (fd);
      return sk_error_from_errno (error, errsv, "writing the credential helper's input"), -1;
    }
  return fd;
}

static void
wait_for_run (GSubprocess *proc, GCancellable *cancel, HelperRun *run, GMainContext *ctx, guint timeout_ms)
{
  GSource *timer = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timer, on_timeout, run, NULL);
  g_source_attach (timer, ctx);
  while (!run->done && !run->timed_out)
    g_main_context_iteration (ctx, TRUE);
  if (!run->done)
    {
      g_subprocess_force_exit (proc);
      g_cancellable_cancel (cancel);
      while (!run->done)
        g_main_context_iteration (ctx, TRUE);
      (void) g_subprocess_wait (proc, NULL, NULL);
    }
  g_source_destroy (timer);
  g_source_unref (timer);
}

/* Runs "docker-credential-SUFFIX ACTION" with @input on stdin; fills
 * @out_stdout and @out_status (the exit status, -1 when killed). */
static gboolean
helper_exec (const char *suffix, const char *action, const char *input, guint timeout_ms, char **out_stdout,
             int *out_status, GError **error)
{
  if (!check_helper_name (suffix, error))
    return FALSE;
  g_autofree char *prog = g_strconcat ("docker-credential-", suffix, NULL);
  g_autofree char *path = g_find_program_in_path (prog);
  if (path == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "credential helper '%s' not found in PATH", prog),
           FALSE;
  int fd = input_fd (input, error);
  if (fd < 0)
    return FALSE;
  const char *argv[] = { path, action, NULL };
  sk_debug_argv (argv);
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdin_fd (launcher, fd);
  g_autoptr (GError) spawn_error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawnv (launcher, argv, &spawn_error);
  if (proc == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "%s %s: %s", prog, action, spawn_error->message),
           FALSE;
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  HelperRun run = { 0 };
  g_subprocess_communicate_utf8_async (proc, NULL, cancel, on_communicated, &run);
  guint limit = timeout_ms ? timeout_ms : SK_CREDENTIALS_HELPER_TIMEOUT_MS;
  wait_for_run (proc, cancel, &run, ctx, limit);
  g_main_context_pop_thread_default (ctx);
  g_autofree char *out = g_steal_pointer (&run.out);
  g_autofree char *err = g_steal_pointer (&run.err);
  if (run.timed_out)
    {
      g_clear_error (&run.error);
      return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "%s %s: timed out after %u ms", prog, action,
                          limit), FALSE;
    }
  if (run.error != NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "%s %s: %s", prog, action, run.error->message);
      g_clear_error (&run.error);
      return FALSE;
    }
  *out_status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  *out_stdout = g_strdup (g_strstrip (out ? out : (char[]) { '\0' }));
  if (*out_status != 0 && **out_stdout == '\0' && err != NULL)
    {
      g_free (*out_stdout);
      *out_stdout = g_strdup (g_strstrip (err));
    }
  return TRUE;
}

static gboolean
helper_failed (GError **error, const char *suffix, const char *action, int status, const char *message)
{
  g_autofree char *shown = g_strndup (message, 200);
  return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "docker-credential-%s %s: exit status %d%s%s", suffix,
                      action, status, *shown ? ": " : "", shown), FALSE;
}

/* Parses a helper's get answer; *@out stays NULL for empty credentials. */
/* Parses a helper's get answer ("<token>" as Username: an identity token). */
static gboolean
helper_parse_get (const char *suffix, const char *text, SkCredentials **out, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (json_t) j = sk_registry_json_parse (text, strlen (text), &local);
  const char *user = NULL;
  const char *secret = NULL;
  if (j == NULL || !sk_registry_json_string (j, "Username", &user, &local)
      || !sk_registry_json_string (j, "Secret", &secret, &local))
    return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "docker-credential-%s get: unexpected answer: %s",
                        suffix, local->message), FALSE;
  SkCredentials *c = g_new0 (SkCredentials, 1);
  c->source = g_strconcat ("docker-credential-", suffix, NULL);
  if (g_strcmp0 (user, TOKEN_USERNAME) == 0)
    c->identity_token = g_strdup (secret);
  else
    {
      c->username = g_strdup (user);
      c->password = g_strdup (secret);
    }
  *out = c;
  return TRUE;
}

gboolean
sk_credential_helper_get (const char *suffix, const char *server_url, guint timeout_ms, SkCredentials **out,
                          GError **error)
{
  g_autofree char *text = NULL;
  int status = 0;
  if (!helper_exec (suffix, "get", server_url, timeout_ms, &text, &status, error))
    return FALSE;
  if (status != 0 && strcmp (text, NOT_FOUND_MESSAGE) == 0)
    {
      *out = NULL;
      return TRUE;
    }
  if (status != 0)
    return helper_failed (error, suffix, "get", status, text);
  return helper_parse_get (suffix, text, out, error);
}

gboolean
sk_credential_helper_store (const char *suffix, const char *server_url, const char *username, const char *password,
                            guint timeout_ms, GError **error)
{
  g_autoptr (json_t) doc = json_pack ("{s:s, s:s, s:s}", "ServerURL", server_url, "Username", username, "Secret",
                                      password);
  if (doc == NULL)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_DATA, "credentials for '%s' are not valid UTF-8",
                        server_url), FALSE;
  char *input = json_dumps (doc, JSON_COMPACT);
  g_autofree char *text = NULL;
  int status = 0;
  gboolean ok = helper_exec (suffix, "store", input, timeout_ms, &text, &status, error);
  explicit_bzero (input, strlen (input));
  free (input);
  if (ok && status != 0)
    return helper_failed (error, suffix, "store", status, text);
  return ok;
}

gboolean
sk_credential_helper_erase (const char *suffix, const char *server_url, guint timeout_ms, gboolean *out_found,
                            GError **error)
{
  g_autofree char *text = NULL;
  int status = 0;
  if (!helper_exec (suffix, "erase", server_url, timeout_ms, &text, &status, error))
    return FALSE;
  if (status != 0 && strcmp (text, NOT_FOUND_MESSAGE) != 0)
    return helper_failed (error, suffix, "erase", status, text);
  *out_found = status == 0;
  return TRUE;
}
