/* skiff pull — fetch an image from a registry into the store. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/util.h"
#include "oci/reference.h"
#include "registry/pull.h"
#include "registry/containerdisk.h"
#include "registry/s3-image.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static SkRegistryCliOptions opt_registry;
static char *opt_platform;
static gboolean opt_quiet;

static GOptionEntry entries[] = {
  { "platform", 0, 0, G_OPTION_ARG_STRING, &opt_platform, "Image to pick from an index (default linux/host)",
    "OS/ARCH[/VARIANT]" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print no progress, only the digest", NULL },
  { NULL },
};

/* One blob's bar on a terminal. */
typedef struct {
  char *id;      /* short digest */
  guint64 done;
  guint64 total;
  guint64 first; /* bytes already there when it started (resumed) */
  gint64 start;  /* monotonic us */
  gboolean finished;
} Bar;

static void
bar_free (Bar *b)
{
  g_free (b->id);
  g_free (b);
}

typedef struct {
  gboolean tty;
  GPtrArray *bars;  /* Bar, in the order the downloads started */
  guint drawn;      /* bar lines on the screen below the cursor's line */
  gint64 last_draw; /* monotonic us */
} Progress;

static char *
short_digest (const char *digest)
{
  const char *colon = strchr (digest, ':');
  return colon ? g_strdup_printf ("%.*s%.12s", (int) (colon - digest + 1), digest, colon + 1) : g_strdup (digest);
}

static Bar *
find_bar (Progress *pr, const char *id)
{
  for (guint i = 0; i < pr->bars->len; i++)
    {
      Bar *b = pr->bars->pdata[i];
      if (g_str_equal (b->id, id))
        return b;
    }
  return NULL;
}

/* "Copying blob sha256:0123456789ab [=====>     ]  12 MiB / 40 MiB  80 MiB/s  ETA 0:01" */
static void
draw_bar (const Bar *b, gint64 now)
{
  g_autofree char *done = sk_format_size (b->done);
  g_autofree char *total = sk_format_size (b->total);
  if (b->finished)
    {
      fprintf (stderr, "\r\033[KCopying blob %s %s done\n", b->id, total);
      return;
    }
  enum { WIDTH = 24 };
  guint fill = b->total ? (guint) (WIDTH * MIN (b->done, b->total) / b->total) : 0;
  char gauge[WIDTH + 1];
  for (guint i = 0; i < WIDTH; i++)
    gauge[i] = i < fill ? '=' : i == fill ? '>' : ' ';
  gauge[WIDTH] = '\0';
  double secs = (now - b->start) / (double) G_USEC_PER_SEC;
  double rate = secs > 0.2 ? (b->done - b->first) / secs : 0;
  g_autofree char *speed = sk_format_size ((guint64) rate);
  guint64 eta = rate > 0 && b->total > b->done ? (guint64) ((b->total - b->done) / rate) : 0;
  fprintf (stderr, "\r\033[KCopying blob %s [%s] %s / %s  %s/s  ETA %" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT "\n",
           b->id, gauge, done, total, speed, eta / 60, eta % 60);
}

/* Redraws every bar in place (at most 10 times a second unless @force). */
static void
draw_bars (Progress *pr, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  if (!force && now - pr->last_draw < G_USEC_PER_SEC / 10)
    return;
  pr->last_draw = now;
  if (pr->drawn > 0)
    fprintf (stderr, "\033[%uA", pr->drawn);
  for (guint i = 0; i < pr->bars->len; i++)
    draw_bar (pr->bars->pdata[i], now);
  pr->drawn = pr->bars->len;
  fflush (stderr);
}

/* A terminal gets one bar per blob redrawn in place (bytes, rate, ETA;
 * a resumed blob's bar starts part-full); anything else plain lines: a
 * blob's start when it resumes, and its end. */
static void
on_progress (const SkPullEvent *ev, gpointer user_data)
{
  Progress *pr = user_data;
  g_autofree char *id = ev->digest ? short_digest (ev->digest) : NULL;
  g_autofree char *done = sk_format_size (ev->done);
  g_autofree char *total = sk_format_size (ev->total);
  Bar *bar = id && pr->tty ? find_bar (pr, id) : NULL;
  switch (ev->kind)
    {
    case SK_PULL_EVENT_BLOB_SKIP:
      fprintf (stderr, "Copying blob %s skipped: already in the store\n", id);
      break;
    case SK_PULL_EVENT_BLOB_START:
      if (pr->tty && bar == NULL)
        {
          bar = g_new0 (Bar, 1);
          *bar = (Bar) { .id = g_steal_pointer (&id), .done = ev->done, .total = ev->total, .first = ev->done,
                         .start = g_get_monotonic_time () };
          g_ptr_array_add (pr->bars, bar);
          draw_bars (pr, TRUE);
        }
      else if (!pr->tty && ev->done > 0)
        fprintf (stderr, "Resuming blob %s at %s of %s\n", id, done, total);
      break;
    case SK_PULL_EVENT_BLOB_BYTES:
      if (bar)
        {
          bar->done = ev->done;
          bar->total = ev->total ? ev->total : bar->total;
          draw_bars (pr, FALSE);
        }
      break;
    case SK_PULL_EVENT_BLOB_DONE:
      if (bar)
        {
          bar->done = bar->total = ev->total;
          bar->finished = TRUE;
          draw_bars (pr, TRUE);
        }
      else
        fprintf (stderr, "Copying blob %s %s done\n", id, total);
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

gboolean
sk_cmd_pull_image (SkStore *store, const char *name, SkPullOptions *opts, gboolean quiet, char **out_digest,
                   GError **error)
{
  g_autofree char *expanded = sk_reference_expand_arch (name);
  g_autoptr (SkReference) ref = sk_reference_parse (expanded, error);
  if (ref == NULL)
    return FALSE;
  g_autoptr (GPtrArray) bars = g_ptr_array_new_with_free_func ((GDestroyNotify) bar_free);
  Progress pr = { .tty = isatty (STDERR_FILENO), .bars = bars };
  opts->progress = quiet ? NULL : on_progress;
  opts->progress_data = quiet ? NULL : &pr;
  g_autofree char *full = sk_reference_to_string (ref);
  g_autoptr (GError) local = NULL;
  gboolean ok = ref->kind == SK_REFERENCE_S3 ? sk_s3_pull (store, ref, opts, out_digest, &local)
                                             : sk_registry_pull (store, ref, opts, out_digest, &local);
  if (!ok && ref->kind == SK_REFERENCE_REGISTRY && g_error_matches (local, SK_ERROR, SK_ERROR_NOT_SKIFF_IMAGE))
    {
      /* a regular container image: a KubeVirt containerDisk runs as one */
      if (!quiet)
        fprintf (stderr, "'%s' is a container image: looking for a KubeVirt containerDisk disk in it\n", full);
      g_clear_error (&local);
      SkImportOptions iopts = { 0 };
      ok = sk_containerdisk_import (store, ref, opts, &iopts, full, out_digest, &local);
      if (!ok)
        g_prefix_error (&local, "neither a skiff image nor a containerDisk: ");
    }
  opts->progress = NULL;
  opts->progress_data = NULL;
  if (!ok)
    return g_propagate_prefixed_error (error, g_steal_pointer (&local), "pulling '%s': ", full), FALSE;
  return TRUE;
}

int
sk_cmd_pull (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse_registry ("pull", "NAME[:TAG|@DIGEST]",
                     "Fetch an image from a registry or an S3 bucket (s3://BUCKET/PATH:TAG)\n"
                     "into the store and print its digest.  S3 settings come from AWS_*\n"
                     "variables and ~/.aws as for the AWS CLI.\n"
                     "Layers the store already has are not downloaded again; a broken\n"
                     "download resumes at the next pull.  A regular container image holding\n"
                     "a disk as /disk/*.qcow2 or /disk/*.img (a KubeVirt containerDisk) is\n"
                     "imported as a one-layer image that boots from that disk.",
                     entries, &opt_registry, SK_REGISTRY_CLI_ALL, &argc, &argv, error)
      || !sk_cmd_check_args ("pull", argc, 1, 1, error))
    return SK_CMD_FAILED;
  SkPullOptions opts = { .tls_verify = opt_registry.tls_verify, .authfile = opt_registry.authfile,
                         .cert_dir = opt_registry.cert_dir };
  g_auto (GStrv) platform = NULL;
  if (opt_platform && !parse_platform (opt_platform, &platform, &opts, error))
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  g_autofree char *digest = NULL;
  if (store == NULL || !sk_cmd_pull_image (store, argv[1], &opts, opt_quiet, &digest, error))
    return SK_CMD_FAILED;
  printf ("%s\n", digest);
  return 0;
}
