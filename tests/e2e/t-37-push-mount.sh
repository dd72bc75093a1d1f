#!/usr/bin/env bash
# Cross-repository mounts against the real docker-registry with token
# auth, watched by the lying proxy: pushing an image to a second
# repository of the same registry mounts its blobs (POST ?mount=&from=
# with a token for both repositories) and uploads no byte; a pulled image
# mounts from the repository it came from; a mount the registry cannot do
# (202) becomes an upload in the session it opened; a registry that lies
# about the mounted digest fails the push.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry skopeo qemu-img qemu-io python3 node openssl

# Request body bytes that went to upload sessions (PATCH and PUT).
uploaded_bytes() { proxy_up "$PROXY_LOG" "path~/blobs/uploads/"; }

qemu-img create -q -f qcow2 "$TMP/disk.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x6b 0 512k" "$TMP/disk.qcow2" >/dev/null
skiff import -q "$TMP/disk.qcow2" localhost/mount/one:1 >/dev/null || abort "import failed"
DIGEST=$(skiff inspect localhost/mount/one:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
LAYER=$(skiff inspect localhost/mount/one:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Manifest"]["layers"][0]["digest"])')

check "token registry starts" registry_start_token alice s3cret || abort "no token registry"
check "proxy starts" proxy_start "$REGISTRY_URL" || abort "no proxy"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$PROXY_ADDR" "$(printf 'alice:s3cret' | base64)" >"$TMP/auth.json"
push() { run skiff push --compression none --tls-verify=false --authfile "$TMP/auth.json" "$@"; }

push localhost/mount/one:1 "$PROXY_ADDR/team-a/vm:1"
is "$RC" 0 "push to repository A" || diag "$ERR"
a_bytes=$(uploaded_bytes)
[ "$a_bytes" -gt 0 ] && ok "the first push uploaded the blobs ($a_bytes bytes)" || not_ok "the first push uploaded the blobs"

: >"$PROXY_LOG"
: >"$TOKEN_LOG"
push localhost/mount/one:1 "$PROXY_ADDR/team-b/vm:1"
is "$RC" 0 "push of the same image to repository B" || diag "$ERR"
is "$OUT" "$DIGEST" "B gets the same manifest digest"
like "$ERR" "0 blobs uploaded .*, 2 mounted from other repositories" "both blobs are mounted"
like "$ERR" "mounted from team-a/vm" "the mount names its source"
is "$(uploaded_bytes)" 0 "no blob byte was uploaded to B"
is "$(proxy_count "$PROXY_LOG" method=POST "path~mount=$LAYER" "path~from=team-a/vm" status=201)" 1 \
	"the layer was mounted with POST ?mount=&from= (201)"
is "$(proxy_count "$PROXY_LOG" method=PATCH)" 0 "no PATCH"
like "$(cat "$TOKEN_LOG")" "repository:team-b/vm:pull,push.*repository:team-a/vm:pull|repository:team-a/vm:pull.*repository:team-b/vm:pull,push" \
	"one token request asked for both repositories"
check "skopeo reads B" skopeo inspect --raw --tls-verify=false --creds alice:s3cret "docker://$REGISTRY_ADDR/team-b/vm:1"

# A fresh store that pulled the image from A mounts from A (its tag says
# where it came from): it has no record of any push.
ROOT2=$TMP/root2
skiff2() { "$SKIFF" --root "$ROOT2" "$@"; }
check "a second store pulls from A" skiff2 pull -q --tls-verify=false --authfile "$TMP/auth.json" "$PROXY_ADDR/team-a/vm:1"
: >"$PROXY_LOG"
run skiff2 push --compression none --tls-verify=false --authfile "$TMP/auth.json" "$PROXY_ADDR/team-a/vm:1" "$PROXY_ADDR/team-c/vm:1"
is "$RC" 0 "the pulled image pushes to repository C" || diag "$ERR"
like "$ERR" "2 mounted from other repositories" "its blobs are mounted from where it was pulled"
is "$(uploaded_bytes)" 0 "no blob byte was uploaded to C"
run skiff2 rmi "$PROXY_ADDR/team-a/vm:1"
run skiff2 pull -q --tls-verify=false --authfile "$TMP/auth.json" "$PROXY_ADDR/team-c/vm:1"
is "$OUT" "$DIGEST" "C pulls back with the same digest"
check "fsck of the second store" skiff2 fsck

# A stale hint: the registry cannot mount from a repository without the
# blob, answers 202 with an upload session, and skiff uploads there.
hint=$TMP/root/registry-cache/locations/sha256-${LAYER#sha256:}
[ -f "$hint" ] && ok "the push recorded where the layer is" || not_ok "the push recorded where the layer is"
printf '%s/team-x/empty\n' "$PROXY_ADDR" >"$hint"
: >"$PROXY_LOG"
push localhost/mount/one:1 "$PROXY_ADDR/team-d/vm:1"
is "$RC" 0 "a push with a stale mount hint succeeds" || diag "$ERR"
is "$(proxy_count "$PROXY_LOG" method=POST "path~mount=$LAYER" status=202)" 1 "the registry answered the mount 202"
layer_size=$(skiff inspect localhost/mount/one:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Manifest"]["layers"][0]["size"])')
is "$(proxy_up "$PROXY_LOG" "path~/blobs/uploads/" method=PUT "path~digest=$LAYER")" \
	"$layer_size" "the layer was uploaded"
is "$(proxy_count "$PROXY_LOG" method=POST "path~/blobs/uploads/" status=202)" 1 \
	"into the session the 202 opened (no other session; the config was mounted)"
run skopeo inspect --raw --tls-verify=false --creds alice:s3cret "docker://$REGISTRY_ADDR/team-d/vm:1"
is "$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "${DIGEST#sha256:}" "D holds the same manifest"

# A registry that says it mounted another blob.
: >"$PROXY_LOG"
proxy_rules "{\"method\":\"POST\",\"path\":\"mount=\",\"action\":\"digest\",\"value\":\"sha256:$(printf 'f%.0s' {1..64})\"}"
fail_clearly "a mount answered with another digest fails" 1 "the registry mounted 'sha256:ffff" \
	skiff push --compression none --tls-verify=false --authfile "$TMP/auth.json" localhost/mount/one:1 "$PROXY_ADDR/team-e/vm:1"
proxy_rules
run skopeo inspect --raw --tls-verify=false --creds alice:s3cret "docker://$REGISTRY_ADDR/team-e/vm:1"
isnt "$RC" 0 "no manifest in E after the lie"
check "fsck at the end" skiff fsck
done_testing
