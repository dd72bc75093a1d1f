/* skiff version */
#include "cmd/cmd.h"

#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <ostree.h>
#include <stdio.h>

int
sk_cmd_version (int argc, char **argv, GError **error)
{
  if (!sk_cmd_parse ("version", NULL, "Show skiff's version and the libraries it uses.",
                     NULL, &argc, &argv, error)
      || !sk_cmd_check_args ("version", argc, 0, 0, error))
    return SK_CMD_FAILED;
  printf ("skiff version %s\n", SK_VERSION);
  printf ("  glib %u.%u.%u, libostree %s, %s, jansson %s, %s, %s\n",
          glib_major_version, glib_minor_version, glib_micro_version, OSTREE_VERSION_S,
          curl_version (), JANSSON_VERSION, archive_version_string (),
          OpenSSL_version (OPENSSL_VERSION));
  return 0;
}
