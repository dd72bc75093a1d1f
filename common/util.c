#include "common/util.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void
apply_limits (gpointer data)
{
  const SkSpawnLimits *limits = data;
  struct rlimit cpu = { limits->cpu_seconds, limits->cpu_seconds + 5 };
  struct rlimit as = { limits->as_bytes, limits->as_bytes };
  struct rlimit core = { 0, 0 };
  /* async-signal-safe only: we are between fork and exec */
  (void) setrlimit (RLIMIT_CPU, &cpu);
  (void) setrlimit (RLIMIT_AS, &as);
  (void) setrlimit (RLIMIT_CORE, &core);
}

/* "prog: exit status N: last stderr line" or "killed by signal". */
static gboolean
child_failed (GSubprocess *proc, const char *prog, char *err, GError **error)
{
  g_autofree char *base = g_path_get_basename (prog);
  g_strchomp (err);
  const char *last = strrchr (err, '\n');
  last = last ? last + 1 : err;
  if (g_subprocess_get_if_signaled (proc))
    {
      int sig = g_subprocess_get_term_sig (proc);
      return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "%s: killed by signal %d (%s)%s%s", base, sig,
                          g_strsignal (sig), *last ? ": " : "", last), FALSE;
    }
  return g_set_error (error, SK_ERROR, SK_ERROR_CHILD_FAILED, "%s: exit status %d%s%s", base,
                      g_subprocess_get_exit_status (proc), *last ? ": " : "", last), FALSE;
}

gboolean
sk_spawn_sync_limited (const char *const *argv, const SkSpawnLimits *limits, char **out_stdout, GError **error)
{
  sk_debug_argv (argv);
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (limits)
    g_subprocess_launcher_set_child_setup (launcher, apply_limits, (gpointer) limits, NULL);
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (proc == NULL)
    return g_prefix_error (error, "%s: ", argv[0]), FALSE;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, error))
    return g_prefix_error (error, "%s: ", argv[0]), FALSE;
  if (!g_subprocess_get_successful (proc))
    return child_failed (proc, argv[0], err ? err : (char[]) { '\0' }, error);
  if (out_stdout)
    *out_stdout = g_steal_pointer (&out);
  return TRUE;
}

gboolean
sk_spawn_sync (const char *const *argv, char **out_stdout, GError **error)
{
  return sk_spawn_sync_limited (argv, NULL, out_stdout, error);
}

gboolean
sk_write_all (int fd, const void *data, gsize len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      p += n;
      len -= n;
    }
  return TRUE;
}

void
sk_start_writeback (int fd, guint64 *synced, guint64 at)
{
  if (at < *synced)
    *synced = at;
  if (at < *synced + SK_WRITEBACK_STEP)
    return;
  (void) sync_file_range (fd, (off_t) *synced, (off_t) (at - *synced), SYNC_FILE_RANGE_WRITE);
  *synced = at;
}

static gboolean
pwrite_all (int fd, const char *data, gsize len, guint64 offset)
{
  while (len > 0)
    {
      ssize_t n = pwrite (fd, data, len, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      data += n;
      len -= n;
      offset += n;
    }
  return TRUE;
}

static gboolean
is_zero (const char *data, gsize len)
{
  static const char zeros[SK_SPARSE_BLOCK];
  return memcmp (data, zeros, len) == 0;
}

gboolean
sk_pwrite_sparse (int fd, const void *buf, gsize len, guint64 offset)
{
  const char *data = buf;
  gsize start = 0; /* of the bytes not written yet */
  gsize pos = 0;
  while (pos < len)
    {
      guint64 at = offset + pos;
      gsize block = SK_SPARSE_BLOCK - (at % SK_SPARSE_BLOCK);
      if (block > len - pos)
        block = len - pos;
      if (block == SK_SPARSE_BLOCK && is_zero (data + pos, block))
        {
          if (pos > start && !pwrite_all (fd, data + start, pos - start, offset + start))
            return FALSE;
          start = pos + block;
        }
      pos += block;
    }
  return pos <= start || pwrite_all (fd, data + start, pos - start, offset + start);
}

static gboolean
write_atomic (const char *path, const void *data, gsize len, int mode, gboolean sync, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.tmp-XXXXXX", path);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0)
    return sk_error_from_errno (error, errno, "creating '%s'", tmp);
  if (!sk_write_all (fd, data, len))
    {
      int errsv = errno;
      close (fd);
      unlink (tmp);
      return sk_error_from_errno (error, errsv, "writing '%s'", path);
    }
  if (fchmod (fd, mode) < 0 || (sync && fsync (fd) < 0) || close (fd) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      return sk_error_from_errno (error, errsv, "writing '%s'", path);
    }
  if (rename (tmp, path) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      return sk_error_from_errno (error, errsv, "renaming into '%s'", path);
    }
  return TRUE;
}

gboolean
sk_file_write_atomic (const char *path, const void *data, gsize len, int mode, GError **error)
{
  return write_atomic (path, data, len, mode, TRUE, error);
}

gboolean
sk_file_write_atomic_nosync (const char *path, const void *data, gsize len, int mode, GError **error)
{
  return write_atomic (path, data, len, mode, FALSE, error);
}

char *
sk_format_size (guint64 bytes)
{
  static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = bytes;
  guint u = 0;
  while (v >= 1024 && u + 1 < G_N_ELEMENTS (units))
    v /= 1024, u++;
  if (u == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
  return g_strdup_printf (v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

char *
sk_format_age (gint64 then, gint64 now)
{
  gint64 d = now - then;
  if (d < 0)
    d = 0;
  if (d < 2)
    return g_strdup ("Less than a second ago");
  if (d < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " seconds ago", d);
  if (d < 3600)
    return d < 120 ? g_strdup ("About a minute ago") : g_strdup_printf ("%" G_GINT64_FORMAT " minutes ago", d / 60);
  if (d < 86400)
    return d < 7200 ? g_strdup ("About an hour ago") : g_strdup_printf ("%" G_GINT64_FORMAT " hours ago", d / 3600);
  return d < 172800 ? g_strdup ("1 day ago") : g_strdup_printf ("%" G_GINT64_FORMAT " days ago", d / 86400);
}

gboolean
sk_parse_size (const char *what, const char *s, guint64 plain_unit, guint64 *out, GError **error)
{
  char *end = NULL;
  guint64 v = g_ascii_strtoull (s, &end, 10);
  guint64 unit = plain_unit;
  if (end && *end)
    {
      switch (g_ascii_tolower (*end))
        {
        case 'k': unit = 1ull << 10; break;
        case 'm': unit = 1ull << 20; break;
        case 'g': unit = 1ull << 30; break;
        case 't': unit = 1ull << 40; break;
        case 'b': unit = 1; break;
        default: unit = 0;
        }
      if (end[1] && !(g_ascii_tolower (end[1]) == 'b' && end[2] == '\0')
          && !(g_ascii_tolower (end[1]) == 'i' && g_ascii_tolower (end[2]) == 'b' && end[3] == '\0'))
        unit = 0;
    }
  if (end == s || unit == 0 || v == 0 || v > G_MAXUINT64 / unit)
    return g_set_error (error, SK_ERROR, SK_ERROR_USAGE, "invalid %s '%s': expected a size like 512m or 2g", what, s),
           FALSE;
  *out = v * unit;
  return TRUE;
}
