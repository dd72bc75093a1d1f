/* skiff — manifest lists in the store: multi-architecture images being
 * assembled (skiff manifest create/add/remove/push).
 *
 *   ROOT/lists/<escaped name>.json   an OCI image index of stored images
 *
 * A list has a full reference name like a tag ("localhost/tiny:multi")
 * but is not an image: `skiff images` does not show it.  Every image a
 * list names is held ("list=<escaped name>", see sk_store_hold), so rmi
 * and prune leave it alone while the list exists.  Writes are atomic;
 * holds are taken before a list names an image and released after it no
 * longer does. */
#pragma once

#include "oci/manifest.h"
#include "store/store.h"

G_BEGIN_DECLS

/* The holder name a list uses for its images. */
char *sk_store_list_holder (const char *name);
/* The list name of a holder, or NULL when @holder is not a list's. */
char *sk_store_list_of_holder (const char *holder);

/* TRUE when the list @name exists. */
gboolean sk_store_list_exists (SkStore *store, const char *name);

/* The list @name; SK_ERROR_NOT_FOUND "manifest list 'NAME' not found". */
SkIndex *sk_store_list_load (SkStore *store, const char *name, GError **error);

/* Writes the list @name (new or replaced) as @idx. */
gboolean sk_store_list_save (SkStore *store, const char *name, const SkIndex *idx, GError **error);

/* Removes the list @name and its holds; SK_ERROR_NOT_FOUND. */
gboolean sk_store_list_remove (SkStore *store, const char *name, GError **error);

G_END_DECLS
