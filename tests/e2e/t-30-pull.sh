#!/usr/bin/env bash
# skiff pull against the real docker-registry: anonymous, basic and token
# auth; images published byte for byte as skiff makes them (from a scratch
# store) or written by hand (layer chains, zstd/gzip layers, an index);
# layers already stored are not fetched again; broken downloads resume; bad
# input (wrong password, missing tag, tampered blob, hostile qcow2, huge
# manifest) fails clearly with the store untouched; a pulled guest boots.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry htpasswd openssl node curl qemu-img qemu-io python3 ostree zstd gzip

. "$(dirname "$0")/images.sh"

# ---------------------------------------------------------------- images

make_disk "$TMP/base.qcow2"
src import -q "$TMP/base.qcow2" localhost/src/one:1 || abort "scratch import failed"
export_image localhost/src/one:1 "$TMP/one"
ONE_DIGEST=$(sha256_of "$TMP/one/manifest.json")
ARCH=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["architecture"])' "$TMP/one/config.json")
BASE_HEX=$(sha256sum "$TMP/base.qcow2" | cut -d' ' -f1)

# A two-layer chain on the same base: the top layer zstd-compressed.
# (Made beside a copy of the base under its layer name, so qemu-io can
# open the chain.)
mkdir -p "$TMP/chain"
cp "$TMP/base.qcow2" "$TMP/chain/$BASE_HEX.qcow2"
qemu-img create -q -f qcow2 -b "$BASE_HEX.qcow2" -F qcow2 "$TMP/chain/top.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x33 1M 128k" "$TMP/chain/top.qcow2" >/dev/null || abort "writing the top layer"
mv "$TMP/chain/top.qcow2" "$TMP/top.qcow2"
zstd -q -f -o "$TMP/top.qcow2.zst" "$TMP/top.qcow2"
gzip -c -n "$TMP/base.qcow2" >"$TMP/base.qcow2.gz"
write_config "$TMP/two-config.json" "$TMP/base.qcow2" "$TMP/top.qcow2"
write_manifest "$TMP/two" "$TMP/two-config.json" \
	"application/vnd.skiff.disk.qcow2.v1+gzip:$TMP/base.qcow2.gz:$TMP/base.qcow2" \
	"application/vnd.skiff.disk.qcow2.v1+zstd:$TMP/top.qcow2.zst:$TMP/top.qcow2"
TWO_DIGEST=$(sha256_of "$TMP/two/manifest.json")

# ---------------------------------------------------------------- anonymous

check "anonymous registry starts" registry_start || abort "no registry"
REG_AUTH=()
publish "$TMP/one" skiff/one 1 || abort "publishing skiff/one:1"
is "$MANIFEST_DIGEST" "$ONE_DIGEST" "the registry stores the manifest byte for byte"
publish "$TMP/two" skiff/two v2 || abort "publishing skiff/two:v2"

empty_ids=$(image_ids)
fail_clearly "pull without --tls-verify=false fails on a plain-http registry" 1 "$REGISTRY_ADDR" \
	skiff pull "$REGISTRY_ADDR/skiff/one:1"
is "$(image_ids)" "$empty_ids" "nothing stored after the TLS failure"

check "pull an image from an anonymous registry" skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/one:1"
is "$OUT" "$ONE_DIGEST" "pull prints the manifest digest"
like "$ERR" "Copying blob sha256:${BASE_HEX:0:12} .* done" "progress names the blob on stderr"
run skiff images --no-trunc
like "$OUT" "$REGISTRY_ADDR/skiff/one +1 +$ONE_DIGEST " "images lists the pulled image with its digest"
check "the pulled layer is the published qcow2" cmp "$TMP/root/layers/$BASE_HEX.qcow2" "$TMP/base.qcow2"
check "fsck passes after the pull" skiff fsck
run skiff inspect "$REGISTRY_ADDR/skiff/one:1"
like "$OUT" "\"Digest\": \"$ONE_DIGEST\"" "inspect shows the registry's digest"
is "$(ls "$TMP/root/tmp" | wc -l)" 0 "no download left in the store's tmp"

# A second pull downloads nothing: the registry no longer even has the layer.
curl -sS -o /dev/null -X DELETE "$REGISTRY_URL/v2/skiff/one/blobs/sha256:$BASE_HEX"
registry_get "skiff/one/blobs/sha256:$BASE_HEX"
is "$HTTP_STATUS" 404 "the layer blob is gone from the registry"
check "a second pull succeeds without the layer blob" skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/one:1"
like "$ERR" "skipped: already in the store" "the second pull skips the stored layer"
run skiff pull -q --tls-verify=false "$REGISTRY_ADDR/skiff/one:1"
is "$ERR" "" "-q prints nothing on stderr"
is "$OUT" "$ONE_DIGEST" "-q still prints the digest"

check "pull a two-layer chain (gzip base, zstd top)" skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/two:v2"
is "$OUT" "$TWO_DIGEST" "the chain's digest"
like "$ERR" "skipped: already in the store" "the shared base layer is not downloaded again"
TOP_HEX=$(sha256sum "$TMP/top.qcow2" | cut -d' ' -f1)
check "the decompressed top layer is the original" cmp "$TMP/root/layers/$TOP_HEX.qcow2" "$TMP/top.qcow2"
run qemu-img info --backing-chain -U "$TMP/root/layers/$TOP_HEX.qcow2"
like "$OUT" "backing file: $BASE_HEX.qcow2" "qemu-img follows the pulled chain"
check "fsck passes with the chain" skiff fsck

check "pull by digest" skiff pull -q --tls-verify=false "$REGISTRY_ADDR/skiff/two@$TWO_DIGEST"
is "$OUT" "$TWO_DIGEST" "pull by digest prints that digest"

# An index: the host's platform is picked.
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}]}' \
	"$TWO_DIGEST" "$(size_of "$TMP/two/manifest.json")" "$ARCH" >"$TMP/index.json"
registry_push_manifest skiff/two multi "$TMP/index.json" application/vnd.oci.image.index.v1+json
is "$HTTP_STATUS" 201 "index pushed"
check "pull through an index" skiff pull -q --tls-verify=false "$REGISTRY_ADDR/skiff/two:multi"
is "$OUT" "$TWO_DIGEST" "the index resolves to the host's manifest"
before=$(image_ids)
fail_clearly "an index without the wanted platform" 1 "has no image for linux/riscv64" \
	skiff pull --tls-verify=false --platform linux/riscv64 "$REGISTRY_ADDR/skiff/two:multi"
is "$(image_ids)" "$before" "nothing stored for a missing platform"

# ---------------------------------------------------------------- bad input

before=$(image_ids)
fail_clearly "a missing tag is not found" 1 "not found" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/one:nope"
like "$ERR" "^skiff: pulling '$REGISTRY_ADDR/skiff/one:nope': .*HTTP 404 MANIFEST_UNKNOWN" \
	"the error names the reference and the registry's answer"
is "$(echo "$ERR" | wc -l)" 1 "the error is one line"
fail_clearly "an invalid reference exits 2" 2 "invalid reference" skiff pull --tls-verify=false 'Bad/Name:x'
fail_clearly "a bad --platform is a usage error" 2 "--platform" skiff pull --platform linux "$REGISTRY_ADDR/skiff/one:1"

# A blob whose bytes do not match its digest (tampered in the registry's storage).
make_disk "$TMP/tamper.qcow2" 0x77
write_config "$TMP/tamper-config.json" "$TMP/tamper.qcow2"
write_manifest "$TMP/tamper" "$TMP/tamper-config.json" "application/vnd.skiff.disk.qcow2.v1:$TMP/tamper.qcow2:$TMP/tamper.qcow2"
publish "$TMP/tamper" skiff/tamper 1 || abort "publishing skiff/tamper:1"
hex=$(sha256sum "$TMP/tamper.qcow2" | cut -d' ' -f1)
data=$REGISTRY_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
printf 'X' | dd of="$data" bs=1 seek=70000 conv=notrunc status=none
fail_clearly "a tampered blob is refused" 1 "digest mismatch" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/tamper:1"
is "$(image_ids)" "$before" "nothing stored for the tampered blob"
[ -e "$TMP/root/layers/$hex.qcow2" ] && not_ok "no layer link for the tampered blob" || ok "no layer link for the tampered blob"
is "$(ls "$TMP/root/tmp" | wc -l)" 0 "the bad download is not kept"

# A hostile layer: a base qcow2 whose backing file is an absolute path.
qemu-img create -q -f qcow2 -u -b /etc/passwd -F raw "$TMP/evil.qcow2" 16M
write_config "$TMP/evil-config.json" "$TMP/evil.qcow2"
write_manifest "$TMP/evil" "$TMP/evil-config.json" "application/vnd.skiff.disk.qcow2.v1:$TMP/evil.qcow2:$TMP/evil.qcow2"
publish "$TMP/evil" skiff/evil 1 || abort "publishing skiff/evil:1"
fail_clearly "a qcow2 with an absolute backing file is refused" 1 "backing file" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/evil:1"
like "$ERR" "invalid disk" "the refusal says the disk is invalid"
is "$(image_ids)" "$before" "nothing stored for the hostile layer"
evil_hex=$(sha256sum "$TMP/evil.qcow2" | cut -d' ' -f1)
[ -e "$TMP/root/layers/$evil_hex.qcow2" ] && not_ok "no layer link for the hostile layer" ||
	ok "no layer link for the hostile layer"

# A second layer whose backing file is not its parent's name.
qemu-img create -q -f qcow2 -u -b "0000000000000000000000000000000000000000000000000000000000000000.qcow2" \
	-F qcow2 "$TMP/stray.qcow2" 16M
write_config "$TMP/stray-config.json" "$TMP/base.qcow2" "$TMP/stray.qcow2"
write_manifest "$TMP/stray" "$TMP/stray-config.json" \
	"application/vnd.skiff.disk.qcow2.v1:$TMP/base.qcow2:$TMP/base.qcow2" \
	"application/vnd.skiff.disk.qcow2.v1:$TMP/stray.qcow2:$TMP/stray.qcow2"
publish "$TMP/stray" skiff/stray 1 || abort "publishing skiff/stray:1"
fail_clearly "a layer backed by something else than its parent is refused" 1 "backing file" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/stray:1"
is "$(image_ids)" "$before" "nothing stored for the stray chain"

# A config whose diff_ids disagree with the layers.
write_config "$TMP/liar-config.json" "$TMP/top.qcow2"
write_manifest "$TMP/liar" "$TMP/liar-config.json" "application/vnd.skiff.disk.qcow2.v1:$TMP/base.qcow2:$TMP/base.qcow2"
publish "$TMP/liar" skiff/liar 1 || abort "publishing skiff/liar:1"
fail_clearly "a config that disagrees with the manifest is refused" 1 "diff_ids do not match" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/liar:1"
is "$(image_ids)" "$before" "nothing stored for the lying config"

# A manifest larger than 4 MiB.  docker-registry neither accepts nor serves
# one (it caps both at 4 MiB), so a static web server plays a registry
# that sends one.
mkdir -p "$TMP/www/v2/skiff/big/manifests"
python3 - "$TMP/one/manifest.json" "$TMP/www/v2/skiff/big/manifests/1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["annotations"] = {"padding": "A" * (4 * 1024 * 1024 + 100)}
open(sys.argv[2], "w").write(json.dumps(m, separators=(",", ":")))
PY
www_port=$(free_port)
spawn_server www python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$www_port"
wait_for_port "$www_port" "$SERVER_PID" 10 || abort "the static web server did not start"
fail_clearly "a manifest over 4 MiB is refused" 1 "larger than 4.0 MiB" \
	skiff pull --tls-verify=false "127.0.0.1:$www_port/skiff/big:1"
is "$(image_ids)" "$before" "nothing stored for the huge manifest"

# ---------------------------------------------------------------- resume

# A broken earlier download: the first half of the blob is in tmp.
make_disk "$TMP/resume.qcow2" 0x42
write_config "$TMP/resume-config.json" "$TMP/resume.qcow2"
write_manifest "$TMP/resume" "$TMP/resume-config.json" "application/vnd.skiff.disk.qcow2.v1:$TMP/resume.qcow2:$TMP/resume.qcow2"
publish "$TMP/resume" skiff/resume 1 || abort "publishing skiff/resume:1"
resume_hex=$(sha256sum "$TMP/resume.qcow2" | cut -d' ' -f1)
half=$(($(size_of "$TMP/resume.qcow2") / 2))
head -c "$half" "$TMP/resume.qcow2" >"$TMP/root/tmp/blob-$resume_hex.partial"
check "a pull resumes a partial download" skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/resume:1"
like "$ERR" "Resuming blob sha256:${resume_hex:0:12} at" "the pull says it resumes"
check "the resumed layer is whole" cmp "$TMP/root/layers/$resume_hex.qcow2" "$TMP/resume.qcow2"
skiff rmi "$REGISTRY_ADDR/skiff/resume:1" >/dev/null 2>&1
skiff prune >/dev/null 2>&1
# A partial file holding garbage: the pull starts over.
head -c "$half" /dev/urandom >"$TMP/root/tmp/blob-$resume_hex.partial"
check "a pull recovers from a corrupt partial download" skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/resume:1"
check "the re-downloaded layer is whole" cmp "$TMP/root/layers/$resume_hex.qcow2" "$TMP/resume.qcow2"

# ---------------------------------------------------------------- basic auth

check "basic-auth registry starts" registry_start_basic alice 'pa:ss word' || abort "no basic registry"
REG_AUTH=(-u "$REGISTRY_USER:$REGISTRY_PASS")
publish "$TMP/two" skiff/basic v1 || abort "publishing to the basic registry"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf '%s' "$REGISTRY_USER:$REGISTRY_PASS" | base64 -w0)" >"$TMP/auth.json"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf 'alice:wrong' | base64 -w0)" >"$TMP/wrong.json"
skiff images -q --no-trunc | xargs -r "$SKIFF" --root "$TMP/root" rmi >/dev/null 2>&1
skiff prune >/dev/null 2>&1
before=$(image_ids)
fail_clearly "basic: no credentials" 1 "no credentials for '$REGISTRY_ADDR'" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/basic:v1"
fail_clearly "basic: a wrong password" 1 "credentials for '$REGISTRY_ADDR' were refused" \
	skiff pull --tls-verify=false --authfile "$TMP/wrong.json" "$REGISTRY_ADDR/skiff/basic:v1"
like "$ERR" "HTTP 401" "basic: the refusal shows the registry's status"
is "$(image_ids)" "$before" "basic: nothing stored after the refusals"
check "basic: pull with --authfile" skiff pull --tls-verify=false --authfile "$TMP/auth.json" "$REGISTRY_ADDR/skiff/basic:v1"
is "$OUT" "$TWO_DIGEST" "basic: the pulled digest"
check "basic: pull with REGISTRY_AUTH_FILE" env REGISTRY_AUTH_FILE="$TMP/auth.json" \
	"$SKIFF" --root "$TMP/root" pull -q --tls-verify=false "$REGISTRY_ADDR/skiff/basic:v1"
check "fsck passes after basic pulls" skiff fsck

# ---------------------------------------------------------------- token auth

check "token-auth registry starts" registry_start_token bob 'tok-pass' || abort "no token registry"
registry_token -u "bob:tok-pass" "repository:skiff/tok:pull,push" || abort "no push token"
REG_AUTH=(-H "Authorization: Bearer $TOKEN")
publish "$TMP/one" skiff/tok 1 || abort "publishing to the token registry"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf 'bob:tok-pass' | base64 -w0)" >"$TMP/tok.json"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$REGISTRY_ADDR" "$(printf 'bob:nope' | base64 -w0)" >"$TMP/tok-wrong.json"
skiff images -q --no-trunc | xargs -r "$SKIFF" --root "$TMP/root" rmi >/dev/null 2>&1
skiff prune >/dev/null 2>&1
before=$(image_ids)
fail_clearly "token: no credentials" 1 "no credentials for '$REGISTRY_ADDR'" \
	skiff pull --tls-verify=false "$REGISTRY_ADDR/skiff/tok:1"
fail_clearly "token: a wrong password" 1 "credentials for '$REGISTRY_ADDR' were refused" \
	skiff pull --tls-verify=false --authfile "$TMP/tok-wrong.json" "$REGISTRY_ADDR/skiff/tok:1"
is "$(image_ids)" "$before" "token: nothing stored after the refusals"
: >"$TOKEN_LOG"
check "token: pull with --authfile" skiff pull --tls-verify=false --authfile "$TMP/tok.json" "$REGISTRY_ADDR/skiff/tok:1"
is "$OUT" "$ONE_DIGEST" "token: the pulled digest"
is "$(grep -c '"user":"bob"' "$TOKEN_LOG")" 1 "token: one token with credentials serves the whole pull"
like "$(head -1 "$TOKEN_LOG")" '"user":null' "token: an anonymous token is asked first"
check "fsck passes after the token pull" skiff fsck

# ---------------------------------------------------------------- a pulled guest runs

. "$(dirname "$0")/guest.sh"
if [ -s "$GUEST_DIR/rootfs.qcow2" ] && [ -s "$GUEST_DIR/vmlinux" ] && command -v qemu-system-x86_64 >/dev/null; then
	src import -q --kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initrd.img" \
		--cmdline "$(cat "$GUEST_DIR/cmdline")" --memory 256 "$GUEST_DIR/rootfs.qcow2" localhost/src/tiny:1 ||
		abort "scratch import of the tiny guest"
	rm -rf "$TMP/tiny"
	export_image localhost/src/tiny:1 "$TMP/tiny"
	registry_token -u "bob:tok-pass" "repository:skiff/tiny:pull,push" || abort "no push token for skiff/tiny"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	publish "$TMP/tiny" skiff/tiny 1 || abort "publishing the tiny guest"
	check "pull the tiny guest (kernel, initrd, disk)" skiff pull -q --tls-verify=false --authfile "$TMP/tok.json" \
		"$REGISTRY_ADDR/skiff/tiny:1"
	is "$OUT" "$(sha256_of "$TMP/tiny/manifest.json")" "the guest's digest"
	check "run the pulled guest" skiff run -d --name pulled "$REGISTRY_ADDR/skiff/tiny:1"
	wait_console pulled 'skiff-guest: ready' 90 && ok "the pulled guest boots to its ready line" ||
		not_ok "the pulled guest boots" "$(skiff logs pulled 2>&1 | tail -20)"
	skiff rm -f pulled >/dev/null 2>&1
else
	skip "run a pulled guest" "the tiny guest is not built (make check builds it in t-20)"
fi

done_testing
