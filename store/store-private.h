/* skiff — store internals shared by the store's files. */
#pragma once

#include "store/store.h"

#include <ostree.h>

#define SK_REF_IMAGES_DIR "skiff/images"
#define SK_REF_TAGS_DIR "skiff/tags"
#define SK_REF_IMAGES SK_REF_IMAGES_DIR "/"
#define SK_REF_TAGS SK_REF_TAGS_DIR "/"
#define SK_META_DIGEST "skiff.manifest-digest"
#define SK_META_SIZE "skiff.size"
#define SK_BLOB_MODE (S_IFREG | 0444)

struct _SkStore {
  char *root;
  char *layers_dir;
  char *boot_dir;
  char *holds_dir;
  char *tmp_dir;
  int lock_fd;
  OstreeRepo *repo;
};

char *sk_store_image_ref (const char *digest);
char *sk_store_tag_ref (const char *tag);
GHashTable *sk_store_list_refs (SkStore *store, const char *prefix, GError **error);
GBytes *sk_store_read_tree_file (SkStore *store, const char *commit, const char *path, GError **error);
/* "objects/xx/rest.file" of a content object, relative to the repo. */
char *sk_store_object_path (const char *object);


/* The image-list cache (store-index.c): NULL when absent or stale. */
GPtrArray *sk_store_index_read (SkStore *store);
/* @stamp must be taken before the list was built, so a change racing the
 * build leaves a stale (ignored) cache, never a wrong one. */
void sk_store_index_write (SkStore *store, GPtrArray *images, const char *stamp);
char *sk_store_index_stamp (SkStore *store);
