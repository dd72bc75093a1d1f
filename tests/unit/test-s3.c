/* Unit tests: registry/s3 and registry/s3-image pure helpers — S3's XML
 * answers (errors, ListParts, ListMultipartUploads) and layout keys. */
#include "registry/s3-image.h"
#include "registry/s3-private.h"
#include "registry/s3.h"

static void
test_xml (void)
{
  const char *err = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>a &amp; b &lt;c&gt;"
                    "</Message><Resource>/b/k</Resource></Error>";
  g_autofree char *code = sk_s3_xml_text (err, "Code");
  g_autofree char *msg = sk_s3_xml_text (err, "Message");
  g_autofree char *none = sk_s3_xml_text (err, "RequestId");
  g_assert_cmpstr (code, ==, "SignatureDoesNotMatch");
  g_assert_cmpstr (msg, ==, "a & b <c>");
  g_assert_null (none);
  const char *parts = "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&quot;ab&quot;</ETag><Size>5</Size>"
                      "</Part><Part><PartNumber>2</PartNumber><ETag>\"cd\"</ETag><Size>3</Size></Part>"
                      "<Part><PartNumber>3</PartNumber>"; /* cut off: not an element */
  g_autoptr (GPtrArray) all = sk_s3_xml_elements (parts, "Part");
  g_assert_cmpuint (all->len, ==, 2);
  g_autofree char *etag = sk_s3_xml_text (all->pdata[0], "ETag");
  g_assert_cmpstr (etag, ==, "\"ab\"");
  g_autofree char *num = sk_s3_xml_text (all->pdata[1], "PartNumber");
  g_assert_cmpstr (num, ==, "2");
}

static void
test_keys (void)
{
  g_autofree char *k = sk_s3_layout_key ("team/tiny", "tags/1");
  g_assert_cmpstr (k, ==, "team/tiny/tags/1");
  g_autofree char *b = sk_s3_blob_name ("sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  g_assert_cmpstr (b, ==, "blobs/sha256/2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  g_assert_null (sk_s3_blob_name ("sha256:../../etc/passwd"));
  g_assert_null (sk_s3_blob_name ("md5:abc"));
}

/* The error line of an S3 answer: status, code, message, a hint. */
static char *
status_message (SkS3Client *c, long status, const char *body)
{
  SkHttpResponse resp = { .status = status, .body = g_bytes_new_static (body, strlen (body)) };
  g_autoptr (GError) error = NULL;
  g_assert_false (sk_s3_status_error (&error, c, "GET", "team/x/tags/1", &resp));
  g_bytes_unref (resp.body);
  g_assert_nonnull (error);
  return g_strdup (error->message);
}

static void
test_status_error (void)
{
  g_setenv ("AWS_ENDPOINT_URL", "http://127.0.0.1:1", TRUE);
  g_setenv ("AWS_ACCESS_KEY_ID", "AKID", TRUE);
  g_setenv ("AWS_SECRET_ACCESS_KEY", "secret", TRUE);
  g_setenv ("AWS_REGION", "us-east-1", TRUE);
  g_setenv ("AWS_CONFIG_FILE", "/nonexistent", TRUE);
  g_setenv ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", TRUE);
  g_unsetenv ("AWS_SESSION_TOKEN");
  g_unsetenv ("AWS_PROFILE");
  g_autoptr (GError) error = NULL;
  SkS3Client *plain = sk_s3_client_new ("bkt", TRUE, &error);
  g_assert_no_error (error);
  g_autofree char *denied = status_message (plain, 403, "<Error><Code>AccessDenied</Code></Error>");
  g_assert_cmpstr (denied, ==, "GET s3://bkt/team/x/tags/1: HTTP 403 AccessDenied");
  g_autofree char *sig = status_message (plain, 403, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
  g_assert_cmpstr (sig, ==, "GET s3://bkt/team/x/tags/1: HTTP 403 SignatureDoesNotMatch (check the secret key)");
  g_autofree char *expired = status_message (plain, 400, "<Error><Code>ExpiredToken</Code><Message>The provided "
                                                         "token has expired.</Message></Error>");
  g_assert_cmpstr (expired, ==, "GET s3://bkt/team/x/tags/1: HTTP 400 ExpiredToken: The provided token has expired. "
                                "(the session token has expired: get new credentials)");
  g_autofree char *none = status_message (plain, 500, "not xml\n\x01");
  g_assert_cmpstr (none, ==, "GET s3://bkt/team/x/tags/1: HTTP 500 (no S3 error code)");
  sk_s3_client_free (plain);

  /* with a session token, radosgw's bare AccessDenied may mean it expired */
  g_setenv ("AWS_SESSION_TOKEN", "tok", TRUE);
  SkS3Client *temp = sk_s3_client_new ("bkt", TRUE, &error);
  g_assert_no_error (error);
  g_autofree char *maybe = status_message (temp, 403, "<Error><Code>AccessDenied</Code></Error>");
  g_assert_cmpstr (maybe, ==, "GET s3://bkt/team/x/tags/1: HTTP 403 AccessDenied (the session token may have expired)");
  sk_s3_client_free (temp);
  g_unsetenv ("AWS_SESSION_TOKEN");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/s3/xml", test_xml);
  g_test_add_func ("/s3/layout-keys", test_keys);
  g_test_add_func ("/s3/status-error", test_status_error);
  return g_test_run ();
}
