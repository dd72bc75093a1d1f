/* skiff — S3 settings, found the way the AWS tools find them.
 *
 *   profile      AWS_PROFILE, else "default"
 *   credentials  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
 *                else the profile in ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE),
 *                else in ~/.aws/config (AWS_CONFIG_FILE, section "[profile NAME]"
 *                or "[default]"); none: anonymous, unsigned requests
 *   region       AWS_REGION, AWS_DEFAULT_REGION, the profile's "region", else us-east-1
 *   endpoint     AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's
 *                "endpoint_url", else AWS itself
 *
 * A custom endpoint is addressed path-style (ENDPOINT/BUCKET/KEY); AWS is
 * addressed virtual-hosted style (https://BUCKET.s3.REGION.amazonaws.com/KEY)
 * unless the bucket name has a dot (TLS wildcards do not cover it) or the
 * profile says "s3 = addressing_style = path". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *profile;
  char *region;
  char *endpoint;      /* "http://127.0.0.1:7480" (no trailing slash), or NULL for AWS */
  char *access_key;    /* NULL: anonymous */
  char *secret_key;
  char *session_token; /* NULL unless temporary credentials */
  gboolean force_path_style;
} SkS3Config;

void sk_s3_config_free (SkS3Config *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkS3Config, sk_s3_config_free)

/* Resolves the settings from @env (an environ-style array, as from
 * g_get_environ) and the files under @home.  Fails with one line naming
 * the variable or file at fault: an access key without a secret, a profile
 * that AWS_PROFILE names but no file has, an endpoint that is not an
 * http(s) URL, an unreadable file. */
SkS3Config *sk_s3_config_resolve (const char *const *env, const char *home, GError **error);

/* sk_s3_config_resolve of this process's environment and home. */
SkS3Config *sk_s3_config_load (GError **error);

/* Parses an AWS ini file (~/.aws/credentials or ~/.aws/config): returns
 * section -> (key -> value); a nested block ("s3 =" followed by indented
 * "key = value" lines) gives keys "s3.key".  Comments start with '#' or
 * ';'.  Fails on a line that is neither a section, a setting nor a comment
 * (message "LINE N: ..."). */
GHashTable *sk_s3_ini_parse (const char *text, GError **error);

/* The URL of @key (already a valid object key, not encoded) in @bucket:
 * path-style or virtual-hosted as described above.  @key may be "" (the
 * bucket itself).  Characters other than unreserved ones and '/' are
 * percent-encoded. */
char *sk_s3_object_url (const SkS3Config *cfg, const char *bucket, const char *key);

G_END_DECLS
