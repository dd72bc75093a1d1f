/* skiff — g_autoptr cleanups for the foreign types used across modules. */
#pragma once

#include <glib.h>
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

static inline void
sk_json_decref (json_t *j)
{
  json_decref (j);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_t, sk_json_decref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURLM, curl_multi_cleanup)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)

typedef struct curl_slist SkCurlSlist;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkCurlSlist, curl_slist_free_all)

typedef struct archive SkArchive;
static inline void
sk_archive_free (SkArchive *a)
{
  archive_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkArchive, sk_archive_free)

/* Closes an fd on scope exit; -1 is ignored. */
static inline void
sk_close_fdp (int *fdp)
{
  if (*fdp >= 0)
    {
      int errsv = errno;
      (void) close (*fdp);
      errno = errsv;
    }
}
#define sk_autofd __attribute__ ((cleanup (sk_close_fdp)))
