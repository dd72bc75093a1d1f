#!/usr/bin/env bash
# skiff push's uploads against the real docker-registry, watched (and lied
# to) by the lying proxy: a blob larger than --chunk-size goes as PATCHes
# with Content-Range, each to the newest Location, then an empty PUT
# ?digest=; a Location on another host is followed without credentials;
# a registry that answers a wrong digest, a wrong Range, no Location or a
# non-http Location makes the push fail clearly and tag nothing.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry skopeo qemu-img qemu-io python3 node

# Every push here must upload: forget where earlier pushes put the blobs
# (else skiff mounts them from there, t-37).
forget_mounts() { rm -rf "$TMP/root/registry-cache"; }
# tag_absent REPO:TAG: the registry behind the proxies has no such tag.
tag_absent() { ! skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_ADDR/$1" >/dev/null 2>&1; }

qemu-img create -q -f qcow2 "$TMP/disk.qcow2" 16M
qemu-io -f qcow2 -c "write -P 0x5a 0 256k" -c "write -P 0x33 4M 256k" "$TMP/disk.qcow2" >/dev/null
skiff import -q "$TMP/disk.qcow2" localhost/up/one:1 >/dev/null || abort "import failed"
DIGEST=$(skiff inspect localhost/up/one:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
LAYER_SIZE=$(skiff inspect localhost/up/one:1 | python3 -c '
import json, sys
m = json.load(sys.stdin)[0]["Manifest"]
print(m["layers"][0]["size"])') || abort "no layer size"
CHUNK=65536
PATCHES=$(((LAYER_SIZE + CHUNK - 1) / CHUNK))

# ---------------------------------------------------------------- chunks
check "registry starts" registry_start || abort "no registry"
check "proxy starts" proxy_start "$REGISTRY_URL" || abort "no proxy"
P1_ADDR=$PROXY_ADDR P1_LOG=$PROXY_LOG P1_CONTROL=$PROXY_CONTROL
check "second proxy (another host) starts" proxy_start "$REGISTRY_URL" || abort "no proxy"
P2_ADDR=$PROXY_ADDR P2_URL=$PROXY_URL P2_LOG=$PROXY_LOG P2_CONTROL=$PROXY_CONTROL
PROXY_CONTROL=$P1_CONTROL PROXY_LOG=$P1_LOG

run skiff push --compression none --tls-verify=false --chunk-size 64k localhost/up/one:1 "$P1_ADDR/up/chunked:1"
is "$RC" 0 "push with --chunk-size 64k succeeds" || diag "$ERR"
is "$OUT" "$DIGEST" "the manifest keeps its digest"
note "layer of $LAYER_SIZE bytes, $PATCHES chunks of $CHUNK"
[ "$PATCHES" -ge 3 ] && ok "the layer spans several chunks" || not_ok "the layer spans several chunks"
is "$(proxy_count "$P1_LOG" method=PATCH)" "$PATCHES" "one PATCH per chunk of the layer"
is "$(proxy_up "$P1_LOG" method=PATCH)" "$LAYER_SIZE" "the PATCHes carry exactly the layer's bytes"
is "$(proxy_count "$P1_LOG" method=PATCH status=202)" "$PATCHES" "the registry accepted every chunk (202)"
is "$(proxy_count "$P1_LOG" method=PUT "path~/blobs/uploads/" "path~digest=")" 2 \
	"two closing PUT ?digest= (the layer's and the config's)"
is "$(proxy_up "$P1_LOG" method=PUT "path~/blobs/uploads/")" \
	"$(skiff inspect localhost/up/one:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Manifest"]["config"]["size"])')" \
	"the closing PUTs carry only the small config (one request)"

run skiff rmi localhost/up/one:1
run skiff pull -q --tls-verify=false "$REGISTRY_ADDR/up/chunked:1"
is "$OUT" "$DIGEST" "the chunked upload pulls back with the same digest"
skiff tag "$REGISTRY_ADDR/up/chunked:1" localhost/up/one:1
check "fsck after the chunked round trip" skiff fsck
check "skopeo copies the chunked upload to an oci layout" \
	skopeo copy -q --src-tls-verify=false "docker://$REGISTRY_ADDR/up/chunked:1" "oci:$TMP/layout:one"

# ---------------------------------------------------------------- Locations
# The second PATCH's answer sends the rest of the upload to another host:
# every later request goes there (the newest Location).
: >"$P1_LOG"
: >"$P2_LOG"
proxy_rules '{"method":"PATCH","times":1,"action":"delay","ms":0}' \
	"{\"method\":\"PATCH\",\"times\":1,\"action\":\"location\",\"origin\":\"$P2_URL\"}"
forget_mounts
run skiff push --compression none --tls-verify=false --chunk-size 64k localhost/up/one:1 "$P1_ADDR/up/moved:1"
is "$RC" 0 "push follows a Location to another host" || diag "$ERR"
is "$(proxy_count "$P1_LOG" method=PATCH)" 2 "two PATCHes went to the first Location's host"
is "$(proxy_count "$P2_LOG" method=PATCH)" $((PATCHES - 2)) "the other PATCHes followed the newest Location"
is "$(proxy_count "$P2_LOG" method=PUT "path~digest=")" 1 "the closing PUT followed it too"
is "$(proxy_count "$P2_LOG" auth=true)" 0 "no credentials went to the other host"
proxy_rules

# With a token registry, the other host gets no token: the registry there
# answers 401 and the push fails, naming that host.
stop_server "$REGISTRY_PID"
check "token registry starts" registry_start_token alice s3cret || abort "no token registry"
cat >"$TMP/auth.json" <<EOF
{"auths": {"$REGISTRY_ADDR": {"auth": "$(printf 'alice:s3cret' | base64)"}}}
EOF
# Two new proxies before the token registry (the old ones stay idle).
check "proxy before the token registry" proxy_start "$REGISTRY_URL" || abort "no proxy"
P1_ADDR=$PROXY_ADDR P1_LOG=$PROXY_LOG P1_CONTROL=$PROXY_CONTROL
check "other host before the token registry" proxy_start "$REGISTRY_URL" || abort "no proxy"
P2_URL=$PROXY_URL P2_LOG=$PROXY_LOG
PROXY_CONTROL=$P1_CONTROL PROXY_LOG=$P1_LOG
sed "s/$REGISTRY_ADDR/$P1_ADDR/" "$TMP/auth.json" >"$TMP/auth-proxy.json"
proxy_rules "{\"method\":\"POST\",\"action\":\"location\",\"origin\":\"$P2_URL\"}"
forget_mounts
fail_clearly "a token registry's upload moved to another host fails" 1 "$P2_URL" \
	skiff push --compression none --tls-verify=false --authfile "$TMP/auth-proxy.json" --chunk-size 64k localhost/up/one:1 \
	"$P1_ADDR/up/leak:1"
like "$ERR" "401" "the other host's 401 is reported"
[ "$(proxy_count "$P2_LOG")" -ge 1 ] && ok "the upload went to the other host" || not_ok "the upload went to the other host"
is "$(proxy_count "$P2_LOG" auth=true)" 0 "the token stayed with the registry"
check "no tag after the refused upload" tag_absent up/leak:1
proxy_rules
forget_mounts
run skiff push --compression none --tls-verify=false --authfile "$TMP/auth-proxy.json" --chunk-size 64k localhost/up/one:1 \
	"$P1_ADDR/up/tok:1"
is "$RC" 0 "chunked push through the token registry" || diag "$ERR"
[ "$(proxy_count "$P1_LOG" method=PATCH status=202)" -ge "$PATCHES" ] && ok "its chunks were accepted" ||
	not_ok "its chunks were accepted"

# ---------------------------------------------------------------- lies
images_before=$(skiff images --format json)
lie() { # DESC EXPECTED-STDERR RULE...
	local desc=$1 want=$2 repo
	shift 2
	repo=up/lie$((++n_lies))
	: >"$P1_LOG"
	proxy_rules "$@"
	forget_mounts
	fail_clearly "$desc" 1 "$want" skiff push --compression none --tls-verify=false --authfile "$TMP/auth-proxy.json" \
		--chunk-size 64k localhost/up/one:1 "$P1_ADDR/$repo:1"
	note "$ERR"
	proxy_rules
	check "$desc: no tag" tag_absent "$repo:1"
	[ "$(proxy_count "$P1_LOG" method=DELETE "path~/blobs/uploads/")" -ge 1 ] && ok "$desc: the upload is cancelled" ||
		not_ok "$desc: the upload is cancelled"
}
n_lies=0
lie "a wrong digest after the upload" "the registry stored the blob as 'sha256:$(printf '0%.0s' {1..64})'" \
	"{\"method\":\"PUT\",\"path\":\"/blobs/uploads/\",\"action\":\"digest\",\"value\":\"sha256:$(printf '0%.0s' {1..64})\"}"
lie "a Range short of the bytes sent" "the registry holds 6 bytes of the upload, 65536 were sent" \
	'{"method":"PATCH","times":1,"action":"header","name":"range","value":"0-5"}'
lie "a chunk answer without Location" "the answer has no Location" \
	'{"method":"PATCH","times":1,"action":"header","name":"location","value":null}'
lie "a Location that is not http" "unusable Location 'ftp://127.0.0.1/x'" \
	'{"method":"PATCH","times":1,"action":"header","name":"location","value":"ftp://127.0.0.1/x"}'
lie "a chunk refused with 416" "PATCH" \
	'{"method":"PATCH","times":1,"action":"status","status":416}'

is "$(skiff images --format json)" "$images_before" "the store's images are as before"
check "fsck at the end" skiff fsck
done_testing
