#!/usr/bin/env bash
# push --compression zstd|gzip|none against the real docker-registry (a
# lying proxy in front only counts bytes): layers go compressed with the
# +zstd/+gzip media types (zstd when no --compression is given) and their diff-id and size annotations; the same
# layer always gives the same blob, so a second push uploads nothing and a
# push elsewhere (even with the blob cache gone) gives the same manifest;
# skopeo copies the result with its digest; a fresh store pulls it and the
# guest boots; save writes it with its digest; an image pulled compressed is
# pushed as pulled when the
# destination has its blobs, compressed again (same bytes) when not, and
# back to the original manifest with --compression none; a layer of 64
# MiB and more is uploaded while it compresses (a PATCH before the digest
# is known), gives the same blob, is dropped when the finished blob turns
# out to be there, and a failing upload leaves nothing; a bad
# --compression is a usage error that pushes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd docker-registry skopeo qemu-img qemu-system-x86_64 python3 node
guest_build

# layer_info REF: "MEDIATYPE DIFF-ID SIZE-ANNOTATION" of each disk layer, as skopeo sees it.
layer_info() {
	skopeo inspect --raw --tls-verify=false "docker://$1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
for l in m["layers"]:
    if "disk.qcow2" in l["mediaType"]:
        a = l.get("annotations", {})
        print(l["mediaType"], a.get("io.skiff.disk.diff-id"), a.get("io.skiff.disk.size"))'
}
manifest_digest() { echo "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | cut -d' ' -f1)"; }
uploaded() { proxy_up "$PROXY_LOG" "path~/blobs/uploads/"; }

check "registry starts" registry_start || abort "no registry"
check "a lying proxy (that tells the truth) counts bytes" proxy_start "$REGISTRY_URL" || abort "no proxy"
R=$PROXY_ADDR
guest_import localhost/tiny:1 >/dev/null || abort "importing the tiny guest"
LOCAL=$(skiff inspect localhost/tiny:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
DIFF_ID=$(skiff inspect localhost/tiny:1 | python3 -c '
import json,sys; m=json.load(sys.stdin)[0]["Manifest"]
print([l for l in m["layers"] if "disk" in l["mediaType"]][0]["annotations"]["io.skiff.disk.diff-id"])')
DISK_SIZE=$(stat -c %s "$GUEST_DIR/rootfs.qcow2")

# ---------------------------------------------------------------- zstd
run skiff push --compression zstd --tls-verify=false localhost/tiny:1 "$R/c/tiny:zstd"
is "$RC" 0 "push --compression zstd succeeds" || diag "$ERR"
ZSTD=$OUT
isnt "$ZSTD" "$LOCAL" "the pushed manifest has a digest of its own"
is "$(manifest_digest "$R/c/tiny:zstd")" "$ZSTD" "push prints the digest the registry has"
is "$(layer_info "$R/c/tiny:zstd")" "application/vnd.skiff.disk.qcow2.v1+zstd $DIFF_ID $DISK_SIZE" \
	"the disk layer is +zstd with its diff-id and uncompressed size"
zsize=$(skopeo inspect --raw --tls-verify=false "docker://$R/c/tiny:zstd" | python3 -c '
import json,sys; print([l for l in json.load(sys.stdin)["layers"] if "zstd" in l["mediaType"]][0]["size"])')
[ "$zsize" -gt 0 ] && [ "$zsize" -lt "$DISK_SIZE" ] && ok "the zstd layer is smaller than the disk ($zsize < $DISK_SIZE)" ||
	not_ok "the zstd layer is smaller than the disk" "layer $zsize, disk $DISK_SIZE"

: >"$PROXY_LOG"
run skiff push --compression zstd --tls-verify=false localhost/tiny:1 "$R/c/tiny:zstd"
is "$RC" 0 "a second zstd push succeeds"
is "$OUT" "$ZSTD" "the second push gives the same manifest"
is "$(uploaded)" 0 "the second push uploads no byte"
like "$ERR" "0 blobs uploaded" "and says so"

: >"$PROXY_LOG"
run skiff push -q --tls-verify=false localhost/tiny:1 "$R/c/tiny:default"
is "$RC" 0 "a push without --compression succeeds" || diag "$ERR"
is "$OUT" "$ZSTD" "it sends the layer as zstd by default (the manifest of --compression zstd)"
is "$(uploaded)" 0 "so it uploads nothing the zstd push sent"

rm -rf "$TMP/root/registry-cache"
: >"$PROXY_LOG"
run skiff push --compression zstd --tls-verify=false localhost/tiny:1 "$R/c/again:1"
is "$OUT" "$ZSTD" "compressing again (blob cache gone) gives the same blob and manifest"
is "$(proxy_count "$PROXY_LOG" method=HEAD "path~/c/again/blobs/sha256:")" 4 \
	"every blob was asked for (kernel, initrd, disk, config)"

check "skopeo copies the zstd image to an oci: layout" skopeo copy -q --src-tls-verify=false \
	"docker://$R/c/tiny:zstd" "oci:$TMP/layout:z"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TMP/layout/index.json")
is "$got" "$ZSTD" "the layout keeps the digest"

# ---------------------------------------------------------------- gzip, none
run skiff push -q --compression gzip --tls-verify=false localhost/tiny:1 "$R/c/tiny:gzip"
is "$RC" 0 "push --compression gzip succeeds"
GZIP_DIGEST=$OUT
is "$(layer_info "$R/c/tiny:gzip")" "application/vnd.skiff.disk.qcow2.v1+gzip $DIFF_ID $DISK_SIZE" \
	"the disk layer is +gzip"
run skiff push -q --compression gzip --tls-verify=false localhost/tiny:1 "$R/c/tiny:gzip2"
is "$OUT" "$GZIP_DIGEST" "gzip is deterministic too"
run skiff push -q --compression none --tls-verify=false localhost/tiny:1 "$R/c/tiny:none"
is "$OUT" "$LOCAL" "--compression none pushes the stored manifest byte for byte"

# ---------------------------------------------------------------- pull, run
# A fresh store: the pushing one moves aside.
mv "$TMP/root" "$TMP/root-src"
run skiff pull -q --tls-verify=false "$R/c/tiny:zstd"
is "$RC" 0 "a fresh store pulls the zstd image" || diag "$ERR"
is "$OUT" "$ZSTD" "with the pushed digest"
check "fsck of the fresh store" skiff fsck
check "the pulled guest runs" skiff run -d --name z1 "$R/c/tiny:zstd"
if wait_console z1 'skiff-guest: ready' 120; then
	ok "the guest pulled compressed boots to its ready line"
else
	not_ok "the guest pulled compressed boots to its ready line" "$(skiff logs z1 2>&1 | tail -20)"
fi
skiff rm -f z1 >/dev/null 2>&1

check "save the image pulled compressed" skiff save "$R/c/tiny:zstd" -o "$TMP/z.tar"
run tar tf "$TMP/z.tar"
like "$OUT" "blobs/sha256/${ZSTD#sha256:}" "the archive holds the pulled manifest"
run "$SKIFF" --root "$TMP/root3" load -i "$TMP/z.tar"
is "$RC" 0 "a fresh store loads it" || diag "$ERR"
like "$OUT" "\\($ZSTD\\)" "with the same digest (skiff's zstd made the same bytes again)"

# ---------------------------------------------------------------- pushing what was pulled compressed
: >"$PROXY_LOG"
run skiff push --tls-verify=false "$R/c/tiny:zstd" "$R/c/tiny:copy"
is "$RC" 0 "the pulled image pushes as it is" || diag "$ERR"
is "$OUT" "$ZSTD" "with its digest unchanged"
is "$(uploaded)" 0 "nothing uploaded: the registry has its blobs"
check "a second registry starts" registry_start || abort "no second registry"
: >"$PROXY_LOG"
run skiff push -q --tls-verify=false "$R/c/tiny:zstd" "$REGISTRY_ADDR/other/tiny:1"
is "$RC" 0 "it pushes to a registry that lacks its blobs" || diag "$ERR"
is "$OUT" "$ZSTD" "compressed again, the same bytes: the same manifest"
run skiff push -q --compression none --tls-verify=false "$R/c/tiny:zstd" "$REGISTRY_ADDR/other/tiny:plain"
is "$RC" 0 "it pushes uncompressed" || diag "$ERR"
is "$OUT" "$LOCAL" "which gives back the original manifest"

# ---------------------------------------------------------------- a big layer: uploaded while it compresses
# 64 MiB (the size from which a push streams), half random, half zeros,
# sent in PATCHes of 1 MiB.
python3 -c '
import os, sys
with open(sys.argv[1], "wb") as f:
    for i in range(16):
        f.write(os.urandom(4 << 20) if i % 2 == 0 else bytes(4 << 20))' "$TMP/big.raw"
qemu-img convert -S 0 -O qcow2 "$TMP/big.raw" "$TMP/big.qcow2" && rm -f "$TMP/big.raw"
skiff import -q "$TMP/big.qcow2" localhost/big:1 >/dev/null || abort "importing the big disk"
# layer_of REF: the digest of REF's disk layer, as the registry has it
layer_of() {
	skopeo inspect --raw --tls-verify=false "docker://$1" | python3 -c '
import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"] if "disk" in l["mediaType"]][0])'
}
# first_t0 COND...: when the first request of the proxy log matching COND came
first_t0() { proxy_requests "$PROXY_LOG" "$@" | python3 -c 'import json,sys; print(min([json.loads(l)["t0"] for l in sys.stdin] or [0]))'; }
: >"$PROXY_LOG"
run skiff push -q --chunk-size 1m --tls-verify=false localhost/big:1 "$R/c/big:1"
is "$RC" 0 "a push of a 64 MiB layer succeeds" || diag "$ERR"
BIG=$OUT
BIG_LAYER=$(layer_of "$R/c/big:1")
patches=$(proxy_count "$PROXY_LOG" method=PATCH)
[ "$patches" -gt 8 ] && ok "it went up in PATCHes of 1 MiB ($patches)" || not_ok "it went up in PATCHes of 1 MiB" "PATCHes: $patches"
first_patch=$(first_t0 method=PATCH)
head_t0=$(first_t0 method=HEAD "path~$BIG_LAYER")
[ "$head_t0" -gt 0 ] && [ "$first_patch" -gt 0 ] && [ "$first_patch" -lt "$head_t0" ] &&
	ok "the upload started before the compression ended (a PATCH before the HEAD of the finished blob)" ||
	not_ok "the upload started before the compression ended" "first PATCH at $first_patch, HEAD of $BIG_LAYER at $head_t0"
is "$(curl -sSL "http://$R/v2/c/big/blobs/$BIG_LAYER" | sha256sum | cut -d' ' -f1)" "${BIG_LAYER#sha256:}" \
	"the registry's blob has the digest the manifest names"
run "$SKIFF" --root "$TMP/root-big" pull -q --tls-verify=false "$R/c/big:1"
is "$OUT" "$BIG" "a fresh store pulls it" || diag "$ERR"
check "and its layer verifies" "$SKIFF" --root "$TMP/root-big" fsck
run skiff push -q --compression zstd --chunk-size 1m --tls-verify=false localhost/big:1 "$REGISTRY_ADDR/other/big:1"
is "$OUT" "$BIG" "the same layer streamed to another registry gives the same manifest"

# the blob cache gone: the push streams again, and the registry turns out
# to have the blob once its digest is known
rm -rf "$TMP/root/registry-cache"
: >"$PROXY_LOG"
run skiff push --chunk-size 1m --tls-verify=false localhost/big:1 "$R/c/big:again"
is "$RC" 0 "a push of a layer the registry has, unknown to the cache, succeeds" || diag "$ERR"
like "$ERR" "0 blobs uploaded .*, 2 already there" "it finds the blob there once compressed"
is "$(proxy_count "$PROXY_LOG" method=PUT "path~/blobs/uploads/")" 0 "and closes no upload"
[ "$(proxy_count "$PROXY_LOG" method=DELETE "path~/blobs/uploads/")" -ge 1 ] && ok "it drops the upload it had started" ||
	not_ok "it drops the upload it had started" "$(proxy_requests "$PROXY_LOG" method=DELETE)"

# an upload failing mid-stream: one clear line, the session dropped, nothing left
proxy_rules '{"method":"PATCH","path":"/blobs/uploads/","action":"status","status":500}'
rm -rf "$TMP/root/registry-cache"
: >"$PROXY_LOG"
fail_clearly "a PATCH failing while the layer compresses" 1 "PATCH http://$R/v2/c/failed/blobs/uploads/" \
	skiff push --chunk-size 1m --tls-verify=false localhost/big:1 "$R/c/failed:1"
proxy_rules
[ "$(proxy_count "$PROXY_LOG" method=DELETE "path~/blobs/uploads/")" -ge 1 ] && ok "the failed upload is dropped" ||
	not_ok "the failed upload is dropped"
is "$(ls -A "$TMP/root/tmp")" "" "no compressed file is left in the store's tmp"
is "$(curl -sS -o /dev/null -w '%{http_code}' "http://$R/v2/c/failed/manifests/1")" 404 "no manifest was pushed"

# ---------------------------------------------------------------- bad input
before=$(skopeo list-tags --tls-verify=false "docker://$REGISTRY_ADDR/other/tiny" | tr -d ' \n')
fail_clearly "an unknown --compression" 2 "push: --compression: unknown compression 'lz4' (expected zstd, gzip or none)" \
	skiff push --compression lz4 --tls-verify=false "$R/c/tiny:zstd" "$REGISTRY_ADDR/other/tiny:lz4"
is "$(skopeo list-tags --tls-verify=false "docker://$REGISTRY_ADDR/other/tiny" | tr -d ' \n')" "$before" \
	"nothing was pushed"
is "$(ls -A "$TMP/root/tmp")" "" "no compressed file is left in the store's tmp"

done_testing
