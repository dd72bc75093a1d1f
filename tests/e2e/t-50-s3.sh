#!/usr/bin/env bash
# skiff push/pull through S3 against a real, signature-checking radosgw:
# the bucket holds an OCI layout per repository plus tag objects (readable
# with aws, and with skopeo after `aws s3 sync`); a re-push uploads nothing;
# a pull into a fresh store runs; a failed multipart upload is aborted.
# Bad input fails with one line naming bucket and key, exit 1, nothing
# stored: a wrong secret, no credentials on a private bucket, a missing
# bucket, clock skew, an expired session token (radosgw's clock moved with
# libfaketime), a tag naming a missing blob, a blob whose bytes do not
# match, 503 SlowDown (retried with backoff, or failing when it persists).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3.sh"
. "$(dirname "$0")/guest.sh"

require_cmd radosgw ceph-mon ceph-osd radosgw-admin monmaptool "$AWS_CLI" skopeo faketime node qemu-img qemu-io \
	python3 qemu-system-x86_64

image_ids() { skiff images -q --no-trunc | sort | tr '\n' ' '; }
digest_of() { skiff inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])'; }
# rgw_count PATTERN: skiff's requests in radosgw's access log matching PATTERN.
rgw_count() { grep '"skiff/' "$S3_RGW_LOG" | grep -c "$1" || true; }
has_line() { printf '%s\n' "$1" | grep -Eq "$2"; }
s3_error() { printf '<Error><Code>%s</Code><Message>%s</Message></Error>' "$1" "$2"; }

guest_build
s=$SECONDS
check "radosgw starts (1 mon, 1 OSD, radosgw)" s3_start || abort "no radosgw: $(tail -5 "$TMP/radosgw.log")"
diag "radosgw ready after $((SECONDS - s)) s"
check "aws creates the bucket" aws_s3 mb s3://skiff-e2e

guest_import localhost/tiny:1 >/dev/null || abort "importing the tiny guest"
TINY=$(digest_of localhost/tiny:1)
DEST=s3://skiff-e2e/team/tiny:1

# ---------------------------------------------------------------- push
run skiff push --compression none localhost/tiny:1 "$DEST"
is "$RC" 0 "push to s3 succeeds"
is "$OUT" "$TINY" "push prints the manifest digest"
like "$ERR" "4 blobs uploaded" "kernel, initrd, disk and config are uploaded"
listing=$(aws_s3 ls --recursive s3://skiff-e2e/team/tiny/)
for key in oci-layout index.json tags/1 "blobs/sha256/${TINY#sha256:}"; do
	check "aws s3 ls shows team/tiny/$key" has_line "$listing" " team/tiny/$key\$"
done
run aws_s3 cp s3://skiff-e2e/team/tiny/tags/1 -
like "$OUT" "\"digest\":\"$TINY\"" "the tag object is the manifest's descriptor"

puts=$(rgw_count '"PUT /skiff-e2e/team/tiny/blobs/')
is "$puts" 5 "the first push PUT 5 blobs (4 and the manifest)"
run skiff push --compression none localhost/tiny:1 "$DEST"
is "$RC" 0 "a second push succeeds"
like "$ERR" "0 blobs uploaded \(0 B\), 4 already there" "a second push uploads nothing"
is "$(rgw_count '"PUT /skiff-e2e/team/tiny/blobs/')" "$puts" "radosgw saw no new blob PUT"

# Compressed layers: zstd, deterministic, so a re-push uploads nothing.
run skiff push --compression zstd localhost/tiny:1 s3://skiff-e2e/team/tinyz:1
is "$RC" 0 "push --compression zstd to s3" || diag "$ERR"
TINYZ=$OUT
isnt "$TINYZ" "$TINY" "the zstd manifest has a digest of its own"
run aws_s3 cp --only-show-errors "s3://skiff-e2e/team/tinyz/blobs/sha256/${TINYZ#sha256:}" -
like "$OUT" '"mediaType":"application/vnd.skiff.disk.qcow2.v1\+zstd"' "the bucket's manifest has a +zstd layer"
run skiff push --compression zstd localhost/tiny:1 s3://skiff-e2e/team/tinyz:1
like "$ERR" "0 blobs uploaded \(0 B\), 4 already there" "a second zstd push uploads nothing"
is "$OUT" "$TINYZ" "and gives the same manifest"

# index.json keeps every tag when pushes race: a tag object whose
# index.json update was lost (written here by hand) is added back by the
# next push, and four pushes of different tags at once all stay listed.
index_refs() {
	aws_s3 cp --only-show-errors s3://skiff-e2e/team/tiny/index.json - | python3 -c 'import json,sys
print(" ".join(sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in json.load(sys.stdin)["manifests"])))'
}
aws_s3 cp --only-show-errors s3://skiff-e2e/team/tiny/tags/1 s3://skiff-e2e/team/tiny/tags/raced
is "$(index_refs)" "1" "index.json lacks the hand-written tag"
check "push tag 2" skiff push --compression none -q localhost/tiny:1 s3://skiff-e2e/team/tiny:2
is "$(index_refs)" "1 2 raced" "the next push adds the missing tag to index.json"
pids=()
for t in p1 p2 p3 p4; do
	"$SKIFF" --root "$TMP/root" push -q localhost/tiny:1 "s3://skiff-e2e/team/tiny:$t" >/dev/null 2>"$TMP/err-$t" &
	pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
is "$failed" 0 "four pushes of different tags at once succeed"
is "$(index_refs)" "1 2 p1 p2 p3 p4 raced" "index.json lists every tag after the concurrent pushes"

# ---------------------------------------------------------------- interop
check "aws s3 sync copies the repository" aws_s3 sync --only-show-errors s3://skiff-e2e/team/tiny "$TMP/synced"
run skopeo inspect --raw "oci:$TMP/synced:1"
is "sha256:$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$TINY" "skopeo reads the synced layout's tag 1"
check "skopeo copies the synced layout" skopeo copy -q "oci:$TMP/synced:1" "oci:$TMP/copied:x"

# ---------------------------------------------------------------- pull, and run (which pulls)
# A fresh store: the pushing one moves aside.
mv "$TMP/root" "$TMP/root-src"
run skiff pull "$DEST"
is "$RC" 0 "pull from s3 into a fresh store"
is "$OUT" "$TINY" "the pulled digest is the pushed one"
like "$ERR" "Copying config" "pull shows progress"
run skiff pull -q "$DEST"
is "$ERR" "" "pull -q prints nothing on stderr"
check "fsck passes after the pull" skiff fsck
run skiff pull -q s3://skiff-e2e/team/tinyz:1
is "$OUT" "$TINYZ" "the zstd image pulls from s3 into the fresh store"
check "fsck after the zstd pull" skiff fsck
check "remove it again" skiff rmi "$DEST"
check "run -d of the s3 reference pulls it" skiff run -d -q --name s3vm "$DEST"
wait_console s3vm 'skiff-guest: ready' 90 && ok "the guest pulled from s3 boots" ||
	not_ok "the guest pulled from s3 boots" "$(skiff logs s3vm 2>&1 | tail -20)"
skiff rm -f s3vm >/dev/null 2>&1

# ---------------------------------------------------------------- bad input
# A small image for the failure cases.
qemu-img create -q -f qcow2 "$TMP/small.qcow2" 8M
qemu-io -f qcow2 -c "write -P 0x33 0 128k" "$TMP/small.qcow2" >/dev/null
skiff import -q "$TMP/small.qcow2" localhost/small:1 >/dev/null || abort "import"
SMALL=$(digest_of localhost/small:1)
check "push the small image" skiff push --compression none -q localhost/small:1 s3://skiff-e2e/small:1
check "aws creates a second bucket" aws_s3 mb s3://skiff-public
check "push the small image there too" skiff push --compression none -q localhost/small:1 s3://skiff-public/small:1
check "remove the local copy" skiff rmi localhost/small:1
before=$(image_ids)
objects=$(aws_s3 ls --recursive s3://skiff-e2e/ | wc -l)

AWS_SECRET_ACCESS_KEY=wrong-secret fail_clearly "pull: a wrong secret" 1 \
	"GET s3://skiff-e2e/small/tags/1: HTTP 403 SignatureDoesNotMatch" skiff pull s3://skiff-e2e/small:1
AWS_SECRET_ACCESS_KEY=wrong-secret fail_clearly "push: a wrong secret" 1 \
	"s3://skiff-e2e/again/oci-layout: HTTP 403 SignatureDoesNotMatch" skiff push --compression none "$DEST" s3://skiff-e2e/again:1
is "$(printf '%s\n' "$ERR" | wc -l)" 1 "the error is one line"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$SKIFF" --root "$TMP/root" pull s3://skiff-e2e/small:1 \
	>"$TMP/out" 2>"$TMP/err"
is "$?" 1 "no credentials on a private bucket: exit 1"
like "$(cat "$TMP/err")" "^skiff: pulling 's3://skiff-e2e/small:1': tag '1': GET s3://skiff-e2e/small/tags/1: HTTP 403 AccessDenied" \
	"no credentials: one line naming bucket and key"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$SKIFF" --root "$TMP/root-anon" pull -q \
	s3://skiff-public/small:1
is "$RC" 1 "anonymous pull before the bucket is public: refused"
policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::skiff-public/*"]}]}'
check "make skiff-public readable by anyone (bucket policy)" aws_s3api put-bucket-policy --bucket skiff-public \
	--policy "$policy"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$SKIFF" --root "$TMP/root-anon" pull -q \
	s3://skiff-public/small:1
is "$RC" 0 "anonymous pull from a public bucket (unsigned GETs)"
is "$OUT" "$SMALL" "the anonymous pull has the pushed digest"
fail_clearly "a missing bucket" 1 "HTTP 404 NoSuchBucket (bucket 'no-such-bucket' does not exist)" \
	skiff pull s3://no-such-bucket/x:1
fail_clearly "a missing tag" 1 "tag 'nope': GET s3://skiff-e2e/small/tags/nope: HTTP 404 NoSuchKey" \
	skiff pull s3://skiff-e2e/small:nope
fail_clearly "clock skew (faketime -20m)" 1 "HTTP 403 RequestTimeTooSkewed" \
	faketime -f -20m "$SKIFF" --root "$TMP/root" pull s3://skiff-e2e/small:1
# radosgw takes any region name in the credential scope (checked below).
run env AWS_REGION=mars-north-7 "$SKIFF" --root "$TMP/root" pull -q s3://skiff-e2e/small:1
is "$RC" 0 "radosgw accepts a signature for another region"
skiff rmi s3://skiff-e2e/small:1 >/dev/null 2>&1

# A tag naming a manifest that is not there.
printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":500}' \
	"$(printf x | sha256sum | cut -d' ' -f1)" >"$TMP/tag"
aws_s3 cp --only-show-errors "$TMP/tag" s3://skiff-e2e/small/tags/ghost
fail_clearly "a tag naming a missing manifest" 1 \
	"manifest of tag 'ghost': GET s3://skiff-e2e/small/blobs/sha256/2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881: HTTP 404 NoSuchKey" \
	skiff pull s3://skiff-e2e/small:ghost

# A layer whose bytes were replaced.
layer=$(aws_s3 ls s3://skiff-e2e/small/blobs/sha256/ | sort -n -k3 | tail -1 | awk '{print $4}')
aws_s3 cp --only-show-errors s3://skiff-e2e/small/blobs/sha256/"$layer" "$TMP/layer"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[70000]^=1; open(sys.argv[1],"wb").write(b)' "$TMP/layer"
aws_s3 cp --only-show-errors "$TMP/layer" s3://skiff-e2e/small/blobs/sha256/"$layer"
fail_clearly "a layer whose bytes do not match" 1 \
	"s3://skiff-e2e/small/blobs/sha256/$layer: content is sha256:" \
	skiff pull s3://skiff-e2e/small:1
is "$(image_ids)" "$before" "nothing stored after the refusals"
check "fsck passes after the refusals" skiff fsck
is "$(aws_s3 ls --recursive s3://skiff-e2e/ | wc -l)" "$((objects + 1))" \
	"the refused pushes wrote nothing (one object more: the ghost tag)"

# ---------------------------------------------------------------- throttling
check "lying proxy in front of radosgw" proxy_start "$S3_ENDPOINT" || abort "no proxy"
proxy_rules "{\"method\":\"GET\",\"path\":\"/blobs/\",\"action\":\"status\",\"status\":503,\"times\":2,
	\"content_type\":\"application/xml\",\"body\":\"$(s3_error SlowDown 'Please reduce your request rate.')\"}"
run env AWS_ENDPOINT_URL="$PROXY_URL" "$SKIFF" --root "$TMP/root3" pull -q s3://skiff-e2e/team/tiny:1
is "$RC" 0 "503 SlowDown twice: the pull backs off and succeeds"
is "$(grep -c '"status":503' "$PROXY_LOG")" 2 "the proxy answered SlowDown twice"
proxy_rules "{\"method\":\"PUT\",\"path\":\"/blobs/\",\"action\":\"status\",\"status\":503,
	\"content_type\":\"application/xml\",\"body\":\"$(s3_error SlowDown 'Please reduce your request rate.')\"}"
AWS_ENDPOINT_URL=$PROXY_URL fail_clearly "503 SlowDown that persists" 1 \
	"HTTP 503 SlowDown: Please reduce your request rate" skiff push --compression none "$DEST" s3://skiff-e2e/slow:1
like "$ERR" "PUT s3://skiff-e2e/slow/blobs/sha256/[0-9a-f]{64}: HTTP 503" "the SlowDown error names the key"
run aws_s3 ls --recursive s3://skiff-e2e/slow/
unlike "$OUT" "tags/1" "the throttled push wrote no tag"

# ---------------------------------------------------------------- multipart abort
head -c 80M /dev/urandom >"$TMP/big.raw"
qemu-img convert -q -f raw -O qcow2 "$TMP/big.raw" "$TMP/big.qcow2"
rm -f "$TMP/big.raw"
skiff import -q "$TMP/big.qcow2" localhost/big:1 >/dev/null || abort "import big"
BIG=$(digest_of localhost/big:1)
proxy_rules '{"method":"PUT","path":"partNumber=2","action":"status","status":500}'
AWS_ENDPOINT_URL=$PROXY_URL fail_clearly "a multipart part that keeps failing" 1 \
	"part 2: PUT s3://skiff-e2e/big/blobs/sha256/" skiff push --compression none localhost/big:1 s3://skiff-e2e/big:1
run aws_s3api list-multipart-uploads --bucket skiff-e2e
unlike "$OUT" "UploadId" "the failed multipart upload was aborted (no pending upload)"
proxy_rules
run skiff push --compression none localhost/big:1 s3://skiff-e2e/big:1
is "$RC" 0 "the multipart push succeeds without the failures"
run skiff rmi localhost/big:1
run skiff pull -q s3://skiff-e2e/big:1
is "$OUT" "$BIG" "the multipart blob pulls back (parallel ranges)"
check "fsck after the multipart pull" skiff fsck

# ---------------------------------------------------------------- an expired session token
# Last: radosgw's clock moves 20 minutes on, past the token's 15 minutes,
# and skiff's with it (faketime) so the clocks agree again.
check "radosgw restarts with STS and a clock the test moves" s3_sts_restart || abort "radosgw did not restart"
check "radosgw hands out a session token (STS GetSessionToken)" s3_session_token
tok() { AWS_ACCESS_KEY_ID=$S3_TOKEN_KEY AWS_SECRET_ACCESS_KEY=$S3_TOKEN_SECRET AWS_SESSION_TOKEN=$S3_TOKEN "$@"; }
skiff import -q "$TMP/small.qcow2" localhost/token:1 >/dev/null || abort "import for the token test"
run tok "$SKIFF" --root "$TMP/root" push -q localhost/token:1 s3://skiff-e2e/token:1
is "$RC" 0 "the session token pushes while it is valid" || diag "$ERR"
TOKEN_IMG=$OUT # compressed by default: not the stored image's digest
run tok "$SKIFF" --root "$TMP/root-token" pull -q s3://skiff-e2e/token:1
is "$RC" 0 "the session token pulls while it is valid" || diag "$ERR"
is "$OUT" "$TOKEN_IMG" "the session token's pull has the pushed digest"
check "radosgw's clock moves 20 minutes on" s3_clock 20
tok fail_clearly "an expired session token" 1 \
	"GET s3://skiff-e2e/token/tags/1: HTTP 403 AccessDenied (the session token may have expired)" \
	faketime -f +20m "$SKIFF" --root "$TMP/root-expired" pull s3://skiff-e2e/token:1
grep -q "Token expired" "$S3_RGW_LOG" && ok "radosgw refused the token as expired" ||
	not_ok "radosgw refused the token as expired" "$(tail -5 "$S3_RGW_LOG")"
is "$("$SKIFF" --root "$TMP/root-expired" images -q | wc -l)" 0 "nothing stored after the expired token"

done_testing
