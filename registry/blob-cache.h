/* skiff — what the store remembers about blobs it sent or saw elsewhere,
 * so a push can skip work:
 *
 *   ROOT/registry-cache/locations/<alg>-<hex>
 *       "DOMAIN/REPOSITORY" lines, newest first (at most
 *       SK_BLOB_CACHE_MAX_LOCATIONS): where the blob was pushed, so a push
 *       to another repository of the same registry can mount it.
 *   ROOT/registry-cache/compressed/<alg>-<diff-id hex>.<algorithm>
 *       "DIGEST SIZE": the blob skiff made by compressing that layer with
 *       that algorithm (deterministic, so always the same bytes).
 *
 * These are hints: a stale or lost entry costs a request, never
 * correctness (a mount the registry cannot do becomes an upload; a
 * compressed digest the registry lacks is made again and checked).
 * Writes are atomic renames; failures to write are only logged. */
#pragma once

#include <gio/gio.h>

#include "store/store.h"

G_BEGIN_DECLS

#define SK_BLOB_CACHE_MAX_LOCATIONS 8

/* Records that @domain's @repository holds @digest (moves it first). */
void sk_blob_cache_add_location (SkStore *store, const char *digest, const char *domain, const char *repository);

/* The repositories of @domain known to hold @digest, newest first
 * (possibly empty, never NULL). */
GStrv sk_blob_cache_locations (SkStore *store, const char *digest, const char *domain);

/* Records that compressing layer @diff_id with @algorithm ("zstd",
 * "gzip") gives blob @digest of @size bytes. */
void sk_blob_cache_put_compressed (SkStore *store, const char *diff_id, const char *algorithm, const char *digest,
                                   guint64 size);

/* The blob recorded for (@diff_id, @algorithm): FALSE when unknown. */
gboolean sk_blob_cache_get_compressed (SkStore *store, const char *diff_id, const char *algorithm, char **out_digest,
                                       guint64 *out_size);

/* ---- pure helpers (unit-tested) ---- */

/* @lines ("DOMAIN/REPO" lines) with "@domain/@repository" moved or added
 * first, duplicates and blank lines dropped, at most @max lines, each
 * ending in a newline. */
char *sk_blob_cache_locations_update (const char *lines, const char *domain, const char *repository, guint max);

/* The repositories of @domain in @lines, in order. */
GStrv sk_blob_cache_locations_parse (const char *lines, const char *domain);

G_END_DECLS
