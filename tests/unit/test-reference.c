/* Unit tests: oci/reference — docker's grammar and normalisation (cases
 * from distribution/reference's own tests), familiar names, s3:// and
 * {arch}. */
#include "oci/reference.h"
#include "common/error.h"

#include <string.h>

#define F64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define D64 "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define SHA256 "sha256:" F64
#define SHA512 "sha512:" F64 F64

/* ---- helpers --------------------------------------------------------- */

/* Asserts that @text is refused with the standard message holding @why. */
static void
assert_refused (SkReference *(*parse) (const char *, GError **), const char *text, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkReference) ref = parse (text, &error);
  if (ref != NULL)
    g_error ("'%s' was accepted, expected: %s", text, why);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  /* Inputs with bytes outside printable ASCII are shown escaped. */
  gboolean printable = TRUE;
  for (const char *p = text; *p; p++)
    printable = printable && *p >= 0x20 && *p < 0x7f;
  g_autofree char *prefix = g_strdup_printf ("invalid reference '%s': ", printable ? text : "");
  if (!printable)
    prefix[strlen (prefix) - 3] = '\0';
  if (!g_str_has_prefix (error->message, prefix) || strstr (error->message, why) == NULL)
    g_error ("'%s': message '%s' lacks '%s'", text, error->message, why);
  for (const char *p = error->message; *p; p++)
    g_assert_true (*p >= 0x20 && *p < 0x7f);
}

static SkReference *
assert_parses (SkReference *(*parse) (const char *, GError **), const char *text)
{
  g_autoptr (GError) error = NULL;
  SkReference *ref = parse (text, &error);
  if (ref == NULL)
    g_error ("'%s' refused: %s", text, error->message);
  g_assert_no_error (error);
  return ref;
}

/* ---- strict grammar: reference.Parse --------------------------------- */

typedef struct {
  const char *input;
  const char *domain;
  const char *path;
  const char *tag;
  const char *digest;
} StrictCase;

static const StrictCase strict_valid[] = {
  { "test_com", NULL, "test_com", NULL, NULL },
  { "test.com:tag", NULL, "test.com", "tag", NULL },
  { "test.com:5000", NULL, "test.com", "5000", NULL },
  { "test.com/repo:tag", "test.com", "repo", "tag", NULL },
  { "test:5000/repo", "test:5000", "repo", NULL, NULL },
  { "test:5000/repo:tag", "test:5000", "repo", "tag", NULL },
  { "test:5000/repo@" SHA256, "test:5000", "repo", NULL, SHA256 },
  { "test:5000/repo:tag@" SHA256, "test:5000", "repo", "tag", SHA256 },
  { "lowercase:Uppercase", NULL, "lowercase", "Uppercase", NULL },
  { "Uppercase/lowercase:tag", "Uppercase", "lowercase", "tag", NULL },
  { "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", NULL, NULL },
  { "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", NULL },
  { "b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app", "test.example.com", NULL },
  { "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL },
  { "xn--7o8h.com/myimage:xn--7o8h.com@" SHA256, "xn--7o8h.com", "myimage", "xn--7o8h.com", SHA256 },
  { "foo_bar.com:8080", NULL, "foo_bar.com", "8080", NULL },
  { "foo/foo_bar.com:8080", "foo", "foo_bar.com", "8080", NULL },
  { "192.168.1.1", NULL, "192.168.1.1", NULL, NULL },
  { "192.168.1.1:tag", NULL, "192.168.1.1", "tag", NULL },
  { "192.168.1.1:5000", NULL, "192.168.1.1", "5000", NULL },
  { "192.168.1.1/repo", "192.168.1.1", "repo", NULL, NULL },
  { "192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", NULL, NULL },
  { "192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL },
  { "[2001:db8::1]/repo", "[2001:db8::1]", "repo", NULL, NULL },
  { "[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL },
  { "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", NULL, NULL },
  { "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", NULL },
  { "[2001:db8::1]:5000/repo@" SHA256, "[2001:db8::1]:5000", "repo", NULL, SHA256 },
  { "[2001:db8::1]:5000/repo:tag@" SHA256, "[2001:db8::1]:5000", "repo", "tag", SHA256 },
  { "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", NULL, NULL },
  { "[::1]:5000/repo", "[::1]:5000", "repo", NULL, NULL },
  { "[::1]:5000/x", "[::1]:5000", "x", NULL, NULL },
  { "localhost/x", "localhost", "x", NULL, NULL },
  { "localhost:5000/x:1", "localhost:5000", "x", "1", NULL },
  { "a/b/c/d", "a", "b/c/d", NULL, NULL },
  { "example.com/foo__bar", "example.com", "foo__bar", NULL, NULL },
  { "example.com/a---b.c_d", "example.com", "a---b.c_d", NULL, NULL },
  { "docker.io/library/ubuntu:latest", "docker.io", "library/ubuntu", "latest", NULL },
  { "other.com/named@sha256:1234567890098765432112345667890098765432112345667890098765432112", "other.com", "named", NULL,
    "sha256:1234567890098765432112345667890098765432112345667890098765432112" },
  { "x.io/y@" SHA512, "x.io", "y", NULL, SHA512 },
  { "x.io/y:_tag", "x.io", "y", "_tag", NULL },
  { "x.io/y:T.a-G_9", "x.io", "y", "T.a-G_9", NULL },
};

static void
test_strict_valid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (strict_valid); i++)
    {
      const StrictCase *c = &strict_valid[i];
      g_autoptr (SkReference) ref = assert_parses (sk_reference_parse_strict, c->input);
      g_assert_cmpint (ref->kind, ==, SK_REFERENCE_REGISTRY);
      g_assert_cmpstr (ref->domain, ==, c->domain);
      g_assert_cmpstr (ref->path, ==, c->path);
      g_assert_cmpstr (ref->tag, ==, c->tag);
      g_assert_cmpstr (ref->digest, ==, c->digest);
      g_assert_null (ref->bucket);
      g_autofree char *s = sk_reference_to_string (ref);
      g_assert_cmpstr (s, ==, c->input);
    }
}

typedef struct {
  const char *input;
  const char *why;
} RefusedCase;

/* Refused by both parsers. */
static const RefusedCase refused_both[] = {
  { "", "empty reference" },
  { ":justtag", "missing repository name" },
  { "@" SHA256, "missing repository name" },
  { "repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid digest 'sha256:ffffffffffffffffffffffffffffffffff'" },
  { "name@sha256:abc", "needs 64 hex digits" },
  { "validname@invaliddigest:" F64, "unsupported algorithm 'invaliddigest'" },
  { "name@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported algorithm 'md5'" },
  { "name@sha256:" "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "not lowercase hex" },
  { "name@" F64, "no algorithm prefix" },
  { "name@", "empty digest" },
  { "name:", "empty tag" },
  { "name:tag@", "empty digest" },
  { "name@" SHA256 "@" SHA256, "invalid digest" },
  { "Uppercase:tag", "repository name must be lowercase" },
  { "test:5000/Uppercase/lowercase:tag", "repository name must be lowercase" },
  { "aa/asdf$$^/aa", "invalid character '$' in path component 'asdf$$^'" },
  { "[2001:db8::1]", "invalid character '[' in path component" },
  { "[2001:db8::1]:5000", "invalid character '['" },
  { "[2001:db8::1]:tag", "invalid character '['" },
  { "-foo", "path component '-foo' must start and end with a lowercase letter or digit" },
  { "x.io/foo-", "must start and end with a lowercase letter or digit" },
  { "x.io/_foo", "must start and end" },
  { "x.io/foo___bar", "invalid separator '___' in path component 'foo___bar'" },
  { "x.io/dock..er", "invalid separator '..'" },
  { "x.io/dock_.er", "invalid separator '_.'" },
  { "x.io/dock-.er", "invalid separator '-.'" },
  { "x.io/docker///docker", "empty path component" },
  { "x.io/docker/", "empty path component" },
  { "x.io/", "missing repository name" },
  { "x.io/a//b", "empty path component" },
  { "x.io/y:-tag", "invalid tag '-tag': must start with a letter, digit or '_'" },
  { "x.io/y:.tag", "invalid tag '.tag'" },
  { "x.io/y:ta+g", "invalid character '+' in tag 'ta+g'" },
  { "x.io/y:tag:more", "invalid character ':' in path component" },
  { "x.io/y@sha256:" F64 ":tag", "invalid digest" },
  { "https://github.com/docker/docker", "" },
  { "[fe80::1%eth0]:5000/repo", "" },
  { "[fe80::1%@invalidzone]:5000/repo", "" },
  { "[2001:db8:3:4::192.0.2.33]:5000/debian", "" },
  { "x.io/caf\xc3\xa9", "invalid character '\\xc3' in path component 'caf\\xc3\\xa9'" },
};

static void
test_strict_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (refused_both); i++)
    {
      assert_refused (sk_reference_parse_strict, refused_both[i].input, refused_both[i].why);
    }
}

static void
test_normalized_invalid_common (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (refused_both); i++)
    assert_refused (sk_reference_parse, refused_both[i].input, refused_both[i].why);
}

/* ---- normalisation: ParseNormalizedNamed + TagNameOnly ----------------- */

typedef struct {
  const char *input;
  const char *canonical;
  const char *domain;
  const char *path;
  const char *familiar;
} NormalCase;

static const NormalCase normal_valid[] = {
  { "ubuntu", "docker.io/library/ubuntu:latest", "docker.io", "library/ubuntu", "ubuntu:latest" },
  { "ubuntu:22.04", "docker.io/library/ubuntu:22.04", "docker.io", "library/ubuntu", "ubuntu:22.04" },
  { "foo/bar", "docker.io/foo/bar:latest", "docker.io", "foo/bar", "foo/bar:latest" },
  { "foo/bar:1", "docker.io/foo/bar:1", "docker.io", "foo/bar", "foo/bar:1" },
  { "docker.io/foo/bar:1", "docker.io/foo/bar:1", "docker.io", "foo/bar", "foo/bar:1" },
  { "index.docker.io/x", "docker.io/library/x:latest", "docker.io", "library/x", "x:latest" },
  { "index.docker.io/docker/docker", "docker.io/docker/docker:latest", "docker.io", "docker/docker", "docker/docker:latest" },
  { "index.docker.io/library/debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "debian:latest" },
  { "docker.io/library/ubuntu:latest", "docker.io/library/ubuntu:latest", "docker.io", "library/ubuntu", "ubuntu:latest" },
  { "docker.io/debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "debian:latest" },
  { "library/debian", "docker.io/library/debian:latest", "docker.io", "library/debian", "debian:latest" },
  { "docker/docker", "docker.io/docker/docker:latest", "docker.io", "docker/docker", "docker/docker:latest" },
  { "localhost:5000/x", "localhost:5000/x:latest", "localhost:5000", "x", "localhost:5000/x:latest" },
  { "localhost/x", "localhost/x:latest", "localhost", "x", "localhost/x:latest" },
  { "localhost/fooo/bar", "localhost/fooo/bar:latest", "localhost", "fooo/bar", "localhost/fooo/bar:latest" },
  { "localhost", "docker.io/library/localhost:latest", "docker.io", "library/localhost", "localhost:latest" },
  { "localhost:5000", "docker.io/library/localhost:5000", "docker.io", "library/localhost", "localhost:5000" },
  { "LOCALDOMAIN/library/debian", "LOCALDOMAIN/library/debian:latest", "LOCALDOMAIN", "library/debian",
    "LOCALDOMAIN/library/debian:latest" },
  { "Foo/bar", "Foo/bar:latest", "Foo", "bar", "Foo/bar:latest" },
  { "FOO/bar", "FOO/bar:latest", "FOO", "bar", "FOO/bar:latest" },
  { "Docker/docker", "Docker/docker:latest", "Docker", "docker", "Docker/docker:latest" },
  { "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker:latest", "127.0.0.1:5000", "docker/docker",
    "127.0.0.1:5000/docker/docker:latest" },
  { "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase:latest", "127.0.0.1:8000", "privatebase",
    "127.0.0.1:8000/privatebase:latest" },
  { "192.168.0.1", "docker.io/library/192.168.0.1:latest", "docker.io", "library/192.168.0.1", "192.168.0.1:latest" },
  { "192.168.0.1:80", "docker.io/library/192.168.0.1:80", "docker.io", "library/192.168.0.1", "192.168.0.1:80" },
  { "192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", "192.168.0.1:8", "debian", "192.168.0.1:8/debian:latest" },
  { "[fc00::1]:5000/docker", "[fc00::1]:5000/docker:latest", "[fc00::1]:5000", "docker", "[fc00::1]:5000/docker:latest" },
  { "[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest",
    "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest" },
  { "[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000", "x", "[::1]:5000/x:latest" },
  { "example.com/privatebase", "example.com/privatebase:latest", "example.com", "privatebase",
    "example.com/privatebase:latest" },
  { "example.com:8000/private/moonbase", "example.com:8000/private/moonbase:latest", "example.com:8000",
    "private/moonbase", "example.com:8000/private/moonbase:latest" },
  { "example.com/ubuntu", "example.com/ubuntu:latest", "example.com", "ubuntu", "example.com/ubuntu:latest" },
  { "docker.io/library/foo/bar", "docker.io/library/foo/bar:latest", "docker.io", "library/foo/bar",
    "library/foo/bar:latest" },
  { "store/foo/bar", "docker.io/store/foo/bar:latest", "docker.io", "store/foo/bar", "store/foo/bar:latest" },
  { "other/library", "docker.io/other/library:latest", "docker.io", "other/library", "other/library:latest" },
  { "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base:latest", "docker.io", "library/ubuntu-12.04-base",
    "ubuntu-12.04-base:latest" },
  { "test_com/foo", "docker.io/test_com/foo:latest", "docker.io", "test_com/foo", "test_com/foo:latest" },
  { "test-com:8080/foo", "test-com:8080/foo:latest", "test-com:8080", "foo", "test-com:8080/foo:latest" },
  { "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo:latest", "xn--n3h.com:18080", "foo",
    "xn--n3h.com:18080/foo:latest" },
  { "docker-rules/docker", "docker.io/docker-rules/docker:latest", "docker.io", "docker-rules/docker",
    "docker-rules/docker:latest" },
  { "docker---rules/docker", "docker.io/docker---rules/docker:latest", "docker.io", "docker---rules/docker",
    "docker---rules/docker:latest" },
  { "d/docker", "docker.io/d/docker:latest", "docker.io", "d/docker", "d/docker:latest" },
  { "jess/t", "docker.io/jess/t:latest", "docker.io", "jess/t", "jess/t:latest" },
  { "dock__er/docker", "docker.io/dock__er/docker:latest", "docker.io", "dock__er/docker", "dock__er/docker:latest" },
  { "foo__bar", "docker.io/library/foo__bar:latest", "docker.io", "library/foo__bar", "foo__bar:latest" },
  { "a/b/c/d", "docker.io/a/b/c/d:latest", "docker.io", "a/b/c/d", "a/b/c/d:latest" },
  { "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest", "docker.io",
    "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest" },
  { "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest", "docker.io",
    "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
    "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest" },
  { "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
    "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest", "docker.io",
    "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
    "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest" },
  { "redis@sha256:" D64, "docker.io/library/redis@sha256:" D64, "docker.io", "library/redis", "redis@sha256:" D64 },
  { "dmcgowan/myapp@sha256:" D64, "docker.io/dmcgowan/myapp@sha256:" D64, "docker.io", "dmcgowan/myapp",
    "dmcgowan/myapp@sha256:" D64 },
  { "busybox:latest@" SHA256, "docker.io/library/busybox:latest@" SHA256, "docker.io", "library/busybox",
    "busybox:latest@" SHA256 },
  { "gcr.io/library/busybox", "gcr.io/library/busybox:latest", "gcr.io", "library/busybox",
    "gcr.io/library/busybox:latest" },
  { "gcr.io/library/busybox:latest@" SHA256, "gcr.io/library/busybox:latest@" SHA256, "gcr.io", "library/busybox",
    "gcr.io/library/busybox:latest@" SHA256 },
  { "lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "docker.io", "library/lowercase",
    "lowercase:Uppercase" },
  { "REGISTRY.Example.COM:443/a/b:v1", "REGISTRY.Example.COM:443/a/b:v1", "REGISTRY.Example.COM:443", "a/b",
    "REGISTRY.Example.COM:443/a/b:v1" },
};

static void
test_normalized_valid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (normal_valid); i++)
    {
      const NormalCase *c = &normal_valid[i];
      g_autoptr (SkReference) ref = assert_parses (sk_reference_parse, c->input);
      g_autofree char *s = sk_reference_to_string (ref);
      g_autofree char *fam = sk_reference_familiar (ref);
      g_assert_cmpstr (s, ==, c->canonical);
      g_assert_cmpstr (ref->domain, ==, c->domain);
      g_assert_cmpstr (ref->path, ==, c->path);
      g_assert_cmpstr (fam, ==, c->familiar);
      g_assert_true (ref->tag != NULL || ref->digest != NULL);
    }
}

/* parse (to_string (x)) == x, and the familiar form parses back to x. */
static void
test_normalized_round_trip (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (normal_valid); i++)
    {
      g_autoptr (SkReference) ref = assert_parses (sk_reference_parse, normal_valid[i].input);
      g_autofree char *s = sk_reference_to_string (ref);
      g_autofree char *fam = sk_reference_familiar (ref);
      g_autoptr (SkReference) again = assert_parses (sk_reference_parse, s);
      g_autoptr (SkReference) from_fam = assert_parses (sk_reference_parse, fam);
      g_assert_true (sk_reference_equal (ref, again));
      g_assert_true (sk_reference_equal (ref, from_fam));
      g_autofree char *s2 = sk_reference_to_string (again);
      g_assert_cmpstr (s2, ==, s);
    }
}

static const RefusedCase normal_invalid[] = {
  { "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "64-character hexadecimal" },
  { "docker/Docker", "repository name must be lowercase" },
  { "docker.io/docker/Docker", "repository name must be lowercase" },
  { "localhost:5000/Foo", "repository name must be lowercase" },
  { "UBUNTU", "repository name must be lowercase" },
  { "-docker", "must start and end with a lowercase letter or digit" },
  { "-docker/docker", "path component '-docker'" },
  { "docker-/docker", "path component 'docker-'" },
  { "-docker-/docker", "must start and end" },
  { "-docker.io/docker/docker", "invalid registry domain '-docker.io'" },
  { "docker///docker", "empty path component" },
  { "docker.io/docker///docker", "empty path component" },
  { "docker/", "empty path component" },
  { "/foo", "empty path component" },
  { "____/____", "must start and end" },
  { "_docker/_docker", "must start and end" },
  { "dock..er/docker", "invalid registry domain 'dock..er'" },
  { "dock_.er/docker", "invalid registry domain 'dock_.er'" },
  { "dock-.er/docker", "invalid registry domain 'dock-.er'" },
  { "foo___bar", "invalid separator '___'" },
  { "[fc00::1]", "invalid character '['" },
  { "[fc00::1]:5000", "invalid character '['" },
  { "fc00::1:5000/debian", "invalid registry domain 'fc00::1:5000'" },
  { "[fe80::1%eth0]:5000/debian", "invalid registry domain '[fe80::1%eth0]:5000'" },
  { "[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid registry domain" },
  { "https://github.com/docker/docker", "invalid registry domain 'https:'" },
  { "foo_bar.com/x", "invalid registry domain 'foo_bar.com'" },
  { "example.com:/x", "invalid registry domain 'example.com:'" },
  { "example.com:port/x", "invalid registry domain" },
  { "ex..ample.com/x", "invalid registry domain" },
  { "example.com./x", "invalid registry domain" },
  { "[]:5000/x", "invalid registry domain" },
  { "-host.com/x", "invalid registry domain" },
  { "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_"
    "lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
    "namespace_because_its_lenth_is_greater_than_255/docker",
    "name longer than 255 characters" },
  { "quay.io/skiff/debian-{x}", "invalid character '{'" },
  { "{arch}/x", "invalid character '{'" },
  { "ubuntu:{arch}", "invalid tag '{arch}'" },
  { "x\x1b[2J", "invalid character '\\x1b' in path component 'x\\x1b[2J'" },
};

static void
test_normalized_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (normal_invalid); i++)
    assert_refused (sk_reference_parse, normal_invalid[i].input, normal_invalid[i].why);
}

/* The whole message, escaped: a hostile reference cannot drive the
 * terminal it is printed on. */
static void
test_error_message (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (sk_reference_parse ("Ubuntu", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  g_assert_cmpstr (error->message, ==, "invalid reference 'Ubuntu': repository name must be lowercase");
  g_clear_error (&error);

  g_assert_null (sk_reference_parse ("evil\x1b]0;pwned\x07:tag", &error));
  g_assert_cmpstr (error->message, ==,
                   "invalid reference 'evil\\x1b]0;pwned\\x07:tag': invalid character '\\x1b' in path component "
                   "'evil\\x1b]0;pwned\\x07'");
  g_assert_null (strchr (error->message, '\x1b'));
  g_clear_error (&error);

  g_assert_null (sk_reference_parse ("x@md5:\x1b", &error));
  g_assert_null (strchr (error->message, '\x1b'));
  g_assert_nonnull (strstr (error->message, "invalid digest 'md5:\\x1b'"));
  g_clear_error (&error);

  g_assert_null (sk_reference_parse_strict ("a/b:" F64 F64 F64, &error));
  g_assert_nonnull (strstr (error->message, "tag too long"));
}

/* Default tag only when neither tag nor digest is given. */
static void
test_default_tag (void)
{
  g_autoptr (SkReference) plain = assert_parses (sk_reference_parse, "busybox");
  g_assert_cmpstr (plain->tag, ==, "latest");
  g_assert_null (plain->digest);
  g_autoptr (SkReference) dig = assert_parses (sk_reference_parse, "busybox@" SHA256);
  g_assert_null (dig->tag);
  g_assert_cmpstr (dig->digest, ==, SHA256);
  g_autoptr (SkReference) both = assert_parses (sk_reference_parse, "busybox:1@" SHA256);
  g_assert_cmpstr (both->tag, ==, "1");
  g_assert_cmpstr (both->digest, ==, SHA256);
  g_autoptr (SkReference) strict = assert_parses (sk_reference_parse_strict, "docker.io/library/busybox");
  g_assert_null (strict->tag);
  g_assert_null (strict->digest);
  g_autofree char *s = sk_reference_to_string (strict);
  g_assert_cmpstr (s, ==, "docker.io/library/busybox");
}

/* ---- lengths --------------------------------------------------------- */

static char *
repeat (const char *unit, guint times)
{
  GString *out = g_string_new (NULL);
  for (guint i = 0; i < times; i++)
    g_string_append (out, unit);
  return g_string_free (out, FALSE);
}

static void
test_name_length (void)
{
  g_autofree char *a255 = repeat ("a", 255);
  g_autofree char *a256 = repeat ("a", 256);
  g_autofree char *a247 = repeat ("a", 247);
  g_autofree char *a248 = repeat ("a", 248);

  g_autofree char *ok = g_strconcat ("example.com/", a255, ":tag", NULL);
  g_autoptr (SkReference) r1 = assert_parses (sk_reference_parse_strict, ok);
  g_assert_cmpuint (strlen (r1->path), ==, 255);
  g_autoptr (SkReference) r1n = assert_parses (sk_reference_parse, ok);
  g_assert_cmpuint (strlen (r1n->path), ==, 255);

  g_autofree char *too_long = g_strconcat ("domain/", a256, ":tag", NULL);
  assert_refused (sk_reference_parse_strict, too_long, "repository name longer than 255 characters");
  assert_refused (sk_reference_parse, too_long, "name longer than 255 characters");

  /* docker's own case: 127 "a/" then "a": the domain is "a" and the
   * remaining path is 253 characters. */
  g_autofree char *slashes = repeat ("a/", 127);
  g_autofree char *nested = g_strconcat (slashes, "a:tag-puts-this-over-max", NULL);
  g_autoptr (SkReference) r2 = assert_parses (sk_reference_parse_strict, nested);
  g_assert_cmpstr (r2->domain, ==, "a");
  g_assert_cmpuint (strlen (r2->path), ==, 253);

  /* Normalised, "library/" counts: 8 + 247 = 255 fits, 8 + 248 does not. */
  g_autoptr (SkReference) r3 = assert_parses (sk_reference_parse, a247);
  g_assert_cmpuint (strlen (r3->path), ==, 255);
  assert_refused (sk_reference_parse, a248, "name longer than 255 characters");
}

static void
test_tag_length (void)
{
  g_autofree char *t128 = repeat ("t", 128);
  g_autofree char *t129 = repeat ("t", 129);
  g_autofree char *ok = g_strconcat ("ubuntu:", t128, NULL);
  g_autofree char *bad = g_strconcat ("ubuntu:", t129, NULL);
  g_autoptr (SkReference) ref = assert_parses (sk_reference_parse, ok);
  g_assert_cmpstr (ref->tag, ==, t128);
  assert_refused (sk_reference_parse, bad, "tag too long");
  assert_refused (sk_reference_parse_strict, bad, "tag too long");

  g_autoptr (GError) error = NULL;
  g_autoptr (SkReference) base = assert_parses (sk_reference_parse, "ubuntu");
  g_autoptr (SkReference) with = sk_reference_with_tag (base, t129, &error);
  g_assert_null (with);
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  g_assert_nonnull (strstr (error->message, "tag too long"));
}

/* ---- copies and derived references ----------------------------------- */

typedef struct {
  const char *input;
  const char *tag;
  const char *expected;
} WithTagCase;

static const WithTagCase with_tag_cases[] = {
  { "test.com/foo", "tag", "test.com/foo:tag" },
  { "foo", "tag2", "docker.io/library/foo:tag2" },
  { "test.com:8000/foo", "tag4", "test.com:8000/foo:tag4" },
  { "test.com:8000/foo", "TAG5", "test.com:8000/foo:TAG5" },
  { "test.com:8000/foo@" SHA256, "TAG5", "test.com:8000/foo:TAG5@" SHA256 },
  { "s3://bucket/a/b:1", "2", "s3://bucket/a/b:2" },
};

static void
test_with_tag (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (with_tag_cases); i++)
    {
      const WithTagCase *c = &with_tag_cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (SkReference) ref = assert_parses (sk_reference_parse, c->input);
      g_autoptr (SkReference) tagged = sk_reference_with_tag (ref, c->tag, &error);
      g_assert_no_error (error);
      g_autofree char *s = sk_reference_to_string (tagged);
      g_assert_cmpstr (s, ==, c->expected);
      /* The original is untouched. */
      g_assert_cmpstr (ref->tag, !=, c->tag);
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (SkReference) base = assert_parses (sk_reference_parse, "busybox");
  g_assert_null (sk_reference_with_tag (base, "-foo", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  g_assert_cmpstr (error->message, ==,
                   "invalid reference 'docker.io/library/busybox:-foo': invalid tag '-foo': must start with a "
                   "letter, digit or '_'");
}

static void
test_with_digest (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkReference) base = assert_parses (sk_reference_parse, "test.com:8000/foo:latest");
  g_autoptr (SkReference) dig = sk_reference_with_digest (base, SHA256, &error);
  g_assert_no_error (error);
  g_autofree char *s = sk_reference_to_string (dig);
  g_assert_cmpstr (s, ==, "test.com:8000/foo:latest@" SHA256);

  g_assert_null (sk_reference_with_digest (base, "foo", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_INVALID_REFERENCE);
  g_assert_nonnull (strstr (error->message, "invalid digest 'foo'"));
  g_clear_error (&error);
  g_assert_null (sk_reference_with_digest (base, "md5:d41d8cd98f00b204e9800998ecf8427e", &error));
  g_assert_nonnull (strstr (error->message, "unsupported algorithm 'md5'"));
}

static void
test_copy_equal_repository (void)
{
  g_autoptr (SkReference) a = assert_parses (sk_reference_parse, "localhost:5000/deb:12@" SHA256);
  g_autoptr (SkReference) b = sk_reference_copy (a);
  g_assert_true (a != b);
  g_assert_true (a->path != b->path);
  g_assert_true (sk_reference_equal (a, b));
  g_autofree char *repo = sk_reference_repository (b);
  g_assert_cmpstr (repo, ==, "localhost:5000/deb");

  g_autoptr (SkReference) c = assert_parses (sk_reference_parse, "localhost:5000/deb:13@" SHA256);
  g_autoptr (SkReference) d = assert_parses (sk_reference_parse, "localhost:5001/deb:12@" SHA256);
  g_autoptr (SkReference) e = assert_parses (sk_reference_parse, "localhost:5000/deb:12");
  g_assert_false (sk_reference_equal (a, c));
  g_assert_false (sk_reference_equal (a, d));
  g_assert_false (sk_reference_equal (a, e));
  g_assert_false (sk_reference_equal (a, NULL));
  g_assert_true (sk_reference_equal (NULL, NULL));

  g_autoptr (SkReference) s3 = assert_parses (sk_reference_parse, "s3://bucket/deb:12");
  g_autoptr (SkReference) reg = assert_parses (sk_reference_parse, "bucket/deb:12");
  g_assert_false (sk_reference_equal (s3, reg));
  g_autofree char *s3repo = sk_reference_repository (s3);
  g_assert_cmpstr (s3repo, ==, "s3://bucket/deb");
  sk_reference_free (NULL);
}

/* ---- s3 -------------------------------------------------------------- */

typedef struct {
  const char *input;
  const char *bucket;
  const char *path;
  const char *tag;
  const char *digest;
  const char *canonical;
} S3Case;

static const S3Case s3_valid[] = {
  { "s3://bucket/prefix/name:tag", "bucket", "prefix/name", "tag", NULL, "s3://bucket/prefix/name:tag" },
  { "s3://bucket/name:tag", "bucket", "name", "tag", NULL, "s3://bucket/name:tag" },
  { "s3://bucket/name", "bucket", "name", "latest", NULL, "s3://bucket/name:latest" },
  { "s3://bucket/a/b/c", "bucket", "a/b/c", "latest", NULL, "s3://bucket/a/b/c:latest" },
  { "s3://bucket/name@" SHA256, "bucket", "name", NULL, SHA256, "s3://bucket/name@" SHA256 },
  { "s3://bucket/p/name:1.0@" SHA256, "bucket", "p/name", "1.0", SHA256, "s3://bucket/p/name:1.0@" SHA256 },
  { "s3://my.bucket-01/vm/debian:12", "my.bucket-01", "vm/debian", "12", NULL, "s3://my.bucket-01/vm/debian:12" },
  { "s3://abc/x", "abc", "x", "latest", NULL, "s3://abc/x:latest" },
  { "s3://123/x", "123", "x", "latest", NULL, "s3://123/x:latest" },
  { "s3://192.168.1/x", "192.168.1", "x", "latest", NULL, "s3://192.168.1/x:latest" },
  { "s3://" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "/x",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x", "latest", NULL,
    "s3://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x:latest" },
  { "s3://bucket/foo__bar/x-y.z:T_1", "bucket", "foo__bar/x-y.z", "T_1", NULL, "s3://bucket/foo__bar/x-y.z:T_1" },
};

static void
test_s3_valid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (s3_valid); i++)
    {
      const S3Case *c = &s3_valid[i];
      g_autoptr (SkReference) ref = assert_parses (sk_reference_parse, c->input);
      g_assert_cmpint (ref->kind, ==, SK_REFERENCE_S3);
      g_assert_null (ref->domain);
      g_assert_cmpstr (ref->bucket, ==, c->bucket);
      g_assert_cmpstr (ref->path, ==, c->path);
      g_assert_cmpstr (ref->tag, ==, c->tag);
      g_assert_cmpstr (ref->digest, ==, c->digest);
      g_autofree char *s = sk_reference_to_string (ref);
      g_autofree char *fam = sk_reference_familiar (ref);
      g_assert_cmpstr (s, ==, c->canonical);
      g_assert_cmpstr (fam, ==, c->canonical);
      g_autoptr (SkReference) again = assert_parses (sk_reference_parse, s);
      g_assert_true (sk_reference_equal (ref, again));
    }
  g_autoptr (SkReference) strict = assert_parses (sk_reference_parse_strict, "s3://bucket/name");
  g_assert_null (strict->tag);
  g_autofree char *s = sk_reference_to_string (strict);
  g_assert_cmpstr (s, ==, "s3://bucket/name");
}

static const RefusedCase s3_invalid[] = {
  { "s3://ab/x", "bucket name 'ab' must be 3 to 63 characters long" },
  { "s3://" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "/x", "3 to 63 characters" },
  { "s3://Bucket/x", "bucket name 'Bucket' must be lowercase" },
  { "s3://-bucket/x", "bucket name '-bucket' must start and end with a letter or digit" },
  { "s3://bucket-/x", "must start and end with a letter or digit" },
  { "s3://.bucket/x", "must start and end with a letter or digit" },
  { "s3://192.168.1.1/x", "bucket name '192.168.1.1' must not be an IP address" },
  { "s3://my..bucket/x", "two adjacent periods" },
  { "s3://my_bucket/x", "invalid character '_' in bucket name 'my_bucket'" },
  { "s3://my:bucket/x", "invalid character ':'" },
  { "s3://xn--bucket/x", "reserved by S3" },
  { "s3://sthree-bucket/x", "reserved by S3" },
  { "s3://bucket-s3alias/x", "reserved by S3" },
  { "s3://bucket--ol-s3/x", "reserved by S3" },
  { "s3://", "missing bucket name" },
  { "s3:///x", "missing bucket name" },
  { "s3://bucket", "missing repository name" },
  { "s3://bucket/", "missing repository name" },
  { "s3://bucket/:tag", "missing repository name" },
  { "s3://bucket/@" SHA256, "missing repository name" },
  { "s3://bucket/Name:tag", "repository name must be lowercase" },
  { "s3://bucket/a//b", "empty path component" },
  { "s3://bucket/a/", "empty path component" },
  { "s3://bucket/-a", "must start and end with a lowercase letter or digit" },
  { "s3://bucket/a:-t", "invalid tag '-t'" },
  { "s3://bucket/a@sha256:short", "invalid digest 'sha256:short'" },
  { "s3://bucket/a@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported algorithm 'md5'" },
  { "s3://bucket/../x", "must start and end" },
  { "s3:/bucket/x", "invalid registry domain 's3:'" },
};

static void
test_s3_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (s3_invalid); i++)
    {
      assert_refused (sk_reference_parse, s3_invalid[i].input, s3_invalid[i].why);
      if (!g_str_has_prefix (s3_invalid[i].input, "s3:/b"))
        assert_refused (sk_reference_parse_strict, s3_invalid[i].input, s3_invalid[i].why);
    }
}

/* ---- {arch} ---------------------------------------------------------- */

typedef struct {
  const char *machine;
  const char *oci;
} ArchCase;

static const ArchCase arch_cases[] = {
  { "x86_64", "amd64" },   { "amd64", "amd64" },   { "aarch64", "arm64" }, { "arm64", "arm64" },
  { "i386", "386" },       { "i486", "386" },      { "i586", "386" },      { "i686", "386" },
  { "armv7l", "arm" },     { "armv6l", "arm" },    { "armv8l", "arm" },    { "arm", "arm" },
  { "ppc64le", "ppc64le" }, { "s390x", "s390x" }, { "riscv64", "riscv64" }, { "loongarch64", "loong64" },
  { "sparc64", NULL },     { "", NULL },           { "X86_64", NULL },     { "x86_64 ", NULL },
};

static void
test_arch_from_uname (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (arch_cases); i++)
    g_assert_cmpstr (sk_oci_arch_from_uname (arch_cases[i].machine), ==, arch_cases[i].oci);
  g_assert_null (sk_oci_arch_from_uname (NULL));
}

static void
test_host_arch (void)
{
  const char *host = sk_oci_host_arch ();
  g_assert_nonnull (host);
  g_assert_true (host == sk_oci_host_arch ());
#if defined(__x86_64__)
  g_assert_cmpstr (host, ==, "amd64");
#elif defined(__aarch64__)
  g_assert_cmpstr (host, ==, "arm64");
#endif
  g_autofree char *expanded = sk_reference_expand_arch ("localhost:5000/deb-{arch}:12");
  g_autofree char *expected = g_strdup_printf ("localhost:5000/deb-%s:12", host);
  g_assert_cmpstr (expanded, ==, expected);
}

typedef struct {
  const char *text;
  const char *arch;
  const char *expected;
} ExpandCase;

static const ExpandCase expand_cases[] = {
  { "debian:12-{arch}", "amd64", "debian:12-amd64" },
  { "{arch}/debian", "arm64", "arm64/debian" },
  { "quay.io/{arch}/deb-{arch}:{arch}", "riscv64", "quay.io/riscv64/deb-riscv64:riscv64" },
  { "s3://bucket/{arch}/vm:1", "s390x", "s3://bucket/s390x/vm:1" },
  { "debian:12", "amd64", "debian:12" },
  { "{arch", "amd64", "{arch" },
  { "{ARCH}", "amd64", "{ARCH}" },
  { "{{arch}}", "386", "{386}" },
  { "", "arm", "" },
};

static void
test_expand_arch (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (expand_cases); i++)
    {
      g_autofree char *out = sk_reference_expand_arch_for (expand_cases[i].text, expand_cases[i].arch);
      g_assert_cmpstr (out, ==, expand_cases[i].expected);
    }
  /* Every OCI architecture yields a valid reference. */
  for (guint i = 0; i < G_N_ELEMENTS (arch_cases); i++)
    {
      if (arch_cases[i].oci == NULL)
        continue;
      g_autofree char *text = sk_reference_expand_arch_for ("localhost:5000/vm-{arch}:{arch}", arch_cases[i].oci);
      g_autoptr (SkReference) ref = assert_parses (sk_reference_parse, text);
      g_autofree char *path = g_strdup_printf ("vm-%s", arch_cases[i].oci);
      g_assert_cmpstr (ref->path, ==, path);
      g_assert_cmpstr (ref->tag, ==, arch_cases[i].oci);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reference/strict/valid", test_strict_valid);
  g_test_add_func ("/reference/strict/invalid", test_strict_invalid);
  g_test_add_func ("/reference/normalized/valid", test_normalized_valid);
  g_test_add_func ("/reference/normalized/round-trip", test_normalized_round_trip);
  g_test_add_func ("/reference/normalized/invalid", test_normalized_invalid);
  g_test_add_func ("/reference/normalized/invalid-common", test_normalized_invalid_common);
  g_test_add_func ("/reference/error-message", test_error_message);
  g_test_add_func ("/reference/default-tag", test_default_tag);
  g_test_add_func ("/reference/name-length", test_name_length);
  g_test_add_func ("/reference/tag-length", test_tag_length);
  g_test_add_func ("/reference/with-tag", test_with_tag);
  g_test_add_func ("/reference/with-digest", test_with_digest);
  g_test_add_func ("/reference/copy-equal-repository", test_copy_equal_repository);
  g_test_add_func ("/reference/s3/valid", test_s3_valid);
  g_test_add_func ("/reference/s3/invalid", test_s3_invalid);
  g_test_add_func ("/reference/arch/from-uname", test_arch_from_uname);
  g_test_add_func ("/reference/arch/host", test_host_arch);
  g_test_add_func ("/reference/arch/expand", test_expand_arch);
  return g_test_run ();
}
