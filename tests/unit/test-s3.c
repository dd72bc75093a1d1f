/* Unit tests: registry/s3 and registry/s3-image pure helpers — S3's XML
 * answers (errors, ListParts, ListMultipartUploads) and layout keys. */
#include "registry/s3-image.h"
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/s3/xml", test_xml);
  g_test_add_func ("/s3/layout-keys", test_keys);
  return g_test_run ();
}
