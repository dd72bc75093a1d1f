#!/usr/bin/env bash
# skiff pull of a 3-layer chain: the layers download at the same time
# (seen from the lying proxy, which holds each blob request back 1.5 s and
# logs when each began and ended), each verified and stored in chain
# order; progress is plain lines when stderr is not a terminal, bars with
# bytes, rate and ETA redrawn in place on a terminal, nothing with -q.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry node curl qemu-img qemu-io python3 ostree script

. "$(dirname "$0")/images.sh"

ARCH=$(uname -m)
[ "$ARCH" = x86_64 ] && ARCH=amd64
[ "$ARCH" = aarch64 ] && ARCH=arm64

# A chain base <- mid <- top, each layer with 2 MiB of its own random data
# (made beside copies of their parents under their layer names).
mkdir -p "$TMP/chain"
head -c 2M /dev/urandom >"$TMP/base.raw"
qemu-img convert -O qcow2 "$TMP/base.raw" "$TMP/chain/base.qcow2" || abort "making the base"
qemu-img resize -q "$TMP/chain/base.qcow2" 16M
prev=base
for name in mid top; do
	prev_hex=$(sha256sum "$TMP/chain/$prev.qcow2" | cut -d' ' -f1)
	cp "$TMP/chain/$prev.qcow2" "$TMP/chain/$prev_hex.qcow2"
	qemu-img create -q -f qcow2 -b "$prev_hex.qcow2" -F qcow2 "$TMP/chain/$name.qcow2" 16M
	head -c 2M /dev/urandom >"$TMP/$name.raw"
	qemu-io -f qcow2 -c "write -s $TMP/$name.raw 4M 2M" "$TMP/chain/$name.qcow2" >/dev/null || abort "writing $name"
	prev=$name
done
write_config "$TMP/config.json" "$TMP/chain/base.qcow2" "$TMP/chain/mid.qcow2" "$TMP/chain/top.qcow2"
write_manifest "$TMP/three" "$TMP/config.json" \
	"application/vnd.skiff.disk.qcow2.v1:$TMP/chain/base.qcow2:$TMP/chain/base.qcow2" \
	"application/vnd.skiff.disk.qcow2.v1:$TMP/chain/mid.qcow2:$TMP/chain/mid.qcow2" \
	"application/vnd.skiff.disk.qcow2.v1:$TMP/chain/top.qcow2:$TMP/chain/top.qcow2"
DIGEST=$(sha256_of "$TMP/three/manifest.json")

check "registry starts" registry_start || abort "no registry"
publish "$TMP/three" skiff/three 1 || abort "publishing skiff/three:1"
check "lying proxy starts" proxy_start "$REGISTRY_URL" || abort "no proxy"
REF=$PROXY_ADDR/skiff/three:1
forget() { skiff rmi "$REF" >/dev/null && skiff prune >/dev/null; }

# ---------------------------------------------------------------- parallel

proxy_rules '{"path":"/blobs/sha256:","method":"GET","action":"delay","ms":1500}'
: >"$PROXY_LOG"
check "pull a 3-layer image (not on a terminal)" skiff pull --tls-verify=false "$REF"
is "$OUT" "$DIGEST" "the 3-layer image's digest"
PULL_ERR=$ERR
check "fsck after the 3-layer pull" skiff fsck
for name in base mid top; do
	hex=$(sha256sum "$TMP/chain/$name.qcow2" | cut -d' ' -f1)
	check "layer $name is stored as published" cmp "$TMP/root/layers/$hex.qcow2" "$TMP/chain/$name.qcow2"
done
# The three layer downloads (the config is fetched first, alone) overlap.
overlap=$(node -e '
	const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
	const layers = lines.filter((l) => l.path.includes("/blobs/") && l.bytes > 1000000);
	if (layers.length !== 3) { console.log("layers: " + layers.length); process.exit(0); }
	const start = Math.max(...layers.map((l) => l.t0)), end = Math.min(...layers.map((l) => l.t1));
	console.log(start < end ? "overlap" : "sequential");' "$PROXY_LOG")
is "$overlap" overlap "the three layer downloads run at the same time"

# ---------------------------------------------------------------- progress

like "$PULL_ERR" "Copying config sha256:" "plain progress names the config"
is "$(grep -c '^Copying blob sha256:[0-9a-f]\{12\} [0-9.]* MiB done$' <<<"$PULL_ERR")" 3 \
	"plain progress: one line per layer when it is done"
unlike "$PULL_ERR" $'\033' "plain progress has no terminal escapes"
like "$PULL_ERR" "Writing the image to the store" "plain progress says when it stores"

forget
proxy_rules '{"path":"/blobs/sha256:","method":"GET","action":"delay","ms":500}'
# script(1) gives skiff a terminal; its stdout is what the terminal showed.
check "pull on a terminal" script -qefc "'$SKIFF' --root '$TMP/root' pull --tls-verify=false '$REF'" /dev/null
tty_out=$OUT
like "$tty_out" $'\033\\[[0-9]+A' "on a terminal the bars are redrawn in place (cursor up)"
like "$tty_out" 'Copying blob sha256:[0-9a-f]{12} \[[=> ]+\] [0-9.]+ [KM]iB / [0-9.]+ MiB +[0-9.]+ [BKMG]i?B/s +ETA [0-9]+:[0-9]{2}' \
	"a bar shows bytes, rate and ETA"
is "$(grep -o 'Copying blob sha256:[0-9a-f]\{12\} [0-9.]* MiB done' <<<"$tty_out" | sort -u | wc -l)" 3 \
	"each of the three bars ends as done"
like "$tty_out" "$DIGEST" "the digest on a terminal"

forget
check "pull -q" skiff pull -q --tls-verify=false "$REF"
is "$ERR" "" "-q prints nothing on stderr"
is "$OUT" "$DIGEST" "-q prints the digest"
forget
check "pull -q on a terminal" script -qefc "'$SKIFF' --root '$TMP/root' pull -q --tls-verify=false '$REF'" /dev/null
is "$(tr -d '\r' <<<"$OUT")" "$DIGEST" "-q on a terminal prints only the digest"

done_testing
