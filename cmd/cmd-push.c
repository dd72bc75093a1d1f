/* skiff push — send a stored image to a registry. */
#include "cmd/cmd.h"
#include "common/error.h"
#include "common/util.h"
#include "oci/reference.h"
#include "registry/push.h"
#include "registry/s3-image.h"
#include "store/list.h"

#include <stdio.h>
#include <string.h>

static SkRegistryCliOptions opt_registry;
static gboolean opt_quiet;
static char *opt_chunk_size;
static char *opt_compression;
static gboolean opt_all;

static GOptionEntry entries[] = {
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print no progress, only the digest", NULL },
  { "chunk-size", 0, 0, G_OPTION_ARG_STRING, &opt_chunk_size,
    "Registries: upload blobs larger than SIZE in PATCH requests of SIZE bytes (default 64m)", "SIZE" },
  { "compression", 0, 0, G_OPTION_ARG_STRING, &opt_compression,
    "Send disk layers as zstd, gzip or none (default: zstd, or as pulled when compressed)", "FORMAT" },
  { "all", 0, 0, G_OPTION_ARG_NONE, &opt_all,
    "For a manifest list: push its images too (always done: an index goes with its images)", NULL },
  { NULL },
};

static void
on_progress (const SkPushEvent *ev, gpointer user_data)
{
  g_autofree char *size = sk_format_size (ev->total);
  switch (ev->kind)
    {
    case SK_PUSH_EVENT_BLOB_SKIP:
      fprintf (stderr, "Copying blob %.19s skipped: already exists\n", ev->digest);
      break;
    case SK_PUSH_EVENT_BLOB_START:
      break;
    case SK_PUSH_EVENT_BLOB_DONE:
      fprintf (stderr, "Copying blob %.19s %s done\n", ev->digest, size);
      break;
    case SK_PUSH_EVENT_BLOB_MOUNTED:
      fprintf (stderr, "Copying blob %.19s mounted from %s\n", ev->digest, ev->from);
      break;
    case SK_PUSH_EVENT_MANIFEST:
      fprintf (stderr, "Writing manifest\n");
      break;
    }
}

/* The destination: DEST, else the image's own name. */
static SkReference *
destination (const char *verb, const char *image, const char *dest, GError **error)
{
  g_autofree char *expanded = sk_reference_expand_arch (dest ? dest : image);
  g_autoptr (SkReference) ref = sk_reference_parse (expanded, error);
  if (ref == NULL)
    return NULL;
  if (ref->digest)
    return g_set_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE, "%s: '%s': push to a tag, not a digest", verb,
                        dest ? dest : image), NULL;
  return g_steal_pointer (&ref);
}

/* The manifest list @name names, or NULL (no error) when there is none
 * or an image has that name too (the image wins, unless @prefer_list). */
static SkIndex *
find_list (SkStore *store, const char *name, gboolean prefer_list, GError **error)
{
  g_autofree char *full = sk_cmd_normalize_name (name, NULL);
  if (full == NULL || !sk_store_list_exists (store, full))
    return NULL;
  g_autoptr (SkStoreImage) img = prefer_list ? NULL : sk_store_lookup (store, name, NULL);
  if (img)
    return NULL;
  return sk_store_list_load (store, full, error);
}

static int
push_main (const char *verb, const char *params, const char *summary, gboolean list_only, int argc, char **argv,
           GError **error)
{
  if (!sk_cmd_parse_registry (verb, params, summary, entries, &opt_registry, SK_REGISTRY_CLI_ALL, &argc, &argv, error)
      || !sk_cmd_check_args (verb, argc, 1, 2, error))
    return SK_CMD_FAILED;
  guint64 chunk_size = 0;
  if (opt_chunk_size && !sk_parse_size ("--chunk-size", opt_chunk_size, 1, &chunk_size, error))
    return g_prefix_error (error, "%s: ", verb), SK_CMD_FAILED;
  SkCompression compression = SK_COMPRESSION_NONE;
  if (opt_compression && !sk_compression_parse (opt_compression, &compression, error))
    return g_prefix_error (error, "%s: --compression: ", verb), SK_CMD_FAILED;
  g_autoptr (SkReference) dest = destination (verb, argv[1], argc > 2 ? argv[2] : NULL, error);
  if (dest == NULL)
    return SK_CMD_FAILED;
  g_autoptr (SkStore) store = sk_cmd_open_store (error);
  if (store == NULL)
    return SK_CMD_FAILED;
  g_autoptr (GError) local = NULL;
  g_autoptr (SkIndex) list = find_list (store, argv[1], list_only, &local);
  if (local)
    return g_propagate_error (error, g_steal_pointer (&local)), SK_CMD_FAILED;
  if (list == NULL && list_only)
    {
      g_autofree char *full = sk_cmd_normalize_name (argv[1], NULL);
      return g_set_error (error, SK_ERROR, SK_ERROR_NOT_FOUND, "manifest list '%s' not found",
                          full ? full : argv[1]), SK_CMD_FAILED;
    }
  g_autoptr (SkStoreImage) img = list ? NULL : sk_cmd_lookup_image (store, argv[1], error);
  if (list == NULL && (img == NULL || (img->manifest == NULL && !sk_store_image_load (store, img, error))))
    return SK_CMD_FAILED;
  SkPushOptions opts = { .tls_verify = opt_registry.tls_verify, .authfile = opt_registry.authfile,
                         .cert_dir = opt_registry.cert_dir, .chunk_size = chunk_size,
                         .compression_set = opt_compression != NULL, .compression = compression,
                         .progress = opt_quiet ? NULL : on_progress };
  SkPushStats stats = { 0 };
  g_autofree char *digest = NULL;
  g_autofree char *full = sk_reference_to_string (dest);
  gboolean ok;
  if (list && dest->kind == SK_REFERENCE_S3)
    ok = (g_set_error (error, SK_ERROR, SK_ERROR_UNSUPPORTED, "manifest lists go to registries, not yet to S3"),
          FALSE);
  else if (list)
    ok = sk_registry_push_index (store, list, dest, &opts, &digest, &stats, error);
  else if (dest->kind == SK_REFERENCE_S3)
    ok = sk_s3_push (store, img, dest, &opts, &digest, &stats, error);
  else
    ok = sk_registry_push (store, img, dest, &opts, &digest, &stats, error);
  if (!ok)
    return g_prefix_error (error, "pushing '%s': ", full), SK_CMD_FAILED;
  if (!opt_quiet)
    {
      g_autofree char *up = sk_format_size (stats.uploaded_bytes);
      g_autofree char *skip = sk_format_size (stats.skipped_bytes);
      g_autofree char *mounted = sk_format_size (stats.mounted_bytes);
      fprintf (stderr, "%u blobs uploaded (%s), ", stats.uploaded, up);
      if (stats.mounted > 0)
        fprintf (stderr, "%u mounted from other repositories (%s), ", stats.mounted, mounted);
      fprintf (stderr, "%u already there (%s)\n", stats.skipped, skip);
      if (stats.resumed_bytes > 0)
        {
          g_autofree char *resumed = sk_format_size (stats.resumed_bytes);
          fprintf (stderr, "resumed an interrupted upload: %s were already there\n", resumed);
        }
    }
  printf ("%s\n", digest);
  return 0;
}

int
sk_cmd_push (int argc, char **argv, GError **error)
{
  return push_main ("push", "IMAGE|LIST [DESTINATION]",
                    "Send a stored image to a registry or an S3 bucket (s3://BUCKET/PATH:TAG)\n"
                    "and print the pushed manifest's digest.  Blobs already there are not\n"
                    "uploaded again; large blobs go to S3 as multipart uploads that a re-run\n"
                    "resumes.  Disk layers are stored uncompressed and sent compressed with\n"
                    "zstd (--compression gzip|none to choose), the same layer always as the\n"
                    "same bytes (the result is remembered, so a repeated push compresses and\n"
                    "uploads nothing).  An image pulled with compressed layers goes as\n"
                    "pulled when the destination has those blobs, else compressed again.\n"
                    "The pushed manifest names the compressed blobs, so its digest differs\n"
                    "from the stored image's unless every layer goes as the image has it.\n"
                    "A manifest list (skiff manifest) goes to a registry as an OCI image\n"
                    "index, after each of its images by digest.",
                    FALSE, argc, argv, error);
}

int
sk_cmd_manifest_push (int argc, char **argv, GError **error)
{
  return push_main ("manifest push", "LIST [DESTINATION]",
                    "Push a manifest list to a registry as an OCI image index: each of its\n"
                    "images by digest first (with the options of 'skiff push'), then the\n"
                    "index under DESTINATION's tag; prints the index digest.",
                    TRUE, argc, argv, error);
}
