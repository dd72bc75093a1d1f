#include "common/log.h"

#include <stdio.h>

static int verbose = -1;

void
sk_log_set_verbose (gboolean v)
{
  verbose = v;
}

gboolean
sk_log_get_verbose (void)
{
  if (verbose < 0)
    verbose = g_strcmp0 (g_getenv ("SKIFF_DEBUG"), "1") == 0;
  return verbose;
}

static void
emit (const char *prefix, const char *fmt, va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  fprintf (stderr, "skiff: %s%s\n", prefix, msg);
}

void
sk_debug (const char *fmt, ...)
{
  if (!sk_log_get_verbose ())
    return;
  va_list ap;
  va_start (ap, fmt);
  emit ("debug: ", fmt, ap);
  va_end (ap);
}

void
sk_warn (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  emit ("warning: ", fmt, ap);
  va_end (ap);
}

void
sk_debug_argv (const char *const *argv)
{
  if (!sk_log_get_verbose ())
    return;
  g_autoptr (GString) s = g_string_new (NULL);
  for (const char *const *a = argv; *a; a++)
    {
      g_autofree char *q = g_shell_quote (*a);
      g_string_append_printf (s, "%s%s", s->len ? " " : "", q);
    }
  sk_debug ("exec: %s", s->str);
}
