#!/usr/bin/env bash
# Layers with the real tiny guest: run, change a file, stop, commit, run the
# new image, four times over (a 5-layer image); history; commit --pause of a
# running VM; a tampered overlay refused; rmi of a base that children use;
# squash; export to qcow2 and raw, and an import of the export boots.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd qemu-system-x86_64 qemu-img ssh ssh-keygen python3
guest_build
check "import the tiny guest" guest_import tiny

image_ids() { skiff images -q --no-trunc | sort | tr '\n' ' '; }
vm_id() { skiff inspect --type vm "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])'; }
fsck_clean() {
	run skiff fsck
	if [ "$RC" -eq 0 ]; then ok "$1"; else not_ok "$1" "$OUT" "$ERR"; fi
}

# Four generations: each VM writes its own file and sees its ancestors'.
prev=tiny
for i in 1 2 3 4; do
	check "run gen$i from $prev" skiff run -d --name "v$i" "$prev"
	want=""
	for ((j = 1; j < i; j++)); do want+="gen$j "; done
	run skiff exec "v$i" -- sh -c 'for f in /root/gen*; do [ -e "$f" ] && printf "%s " "$(cat "$f")"; done; true'
	is "$OUT" "$want" "v$i sees the files of every layer below it"
	check "v$i writes /root/gen$i" skiff exec "v$i" -- sh -c "echo gen$i > /root/gen$i && sync"
	if [ "$i" = 1 ]; then
		fail_clearly "commit of a running VM is refused" 1 "it is running: stop it first, or use --pause" \
			skiff commit "v$i" refused
		unlike "$(skiff images)" refused "nothing was stored for the refused commit"
	fi
	check "stop v$i" skiff stop "v$i"
	check "commit v$i gen$i" skiff commit -m "step $i" "v$i" "gen$i"
	like "$OUT" '^sha256:[0-9a-f]{64}$' "commit prints the new image's digest"
	check "rm v$i" skiff rm "v$i"
	prev=gen$i
done
run skiff inspect gen4
layers=$(printf '%s' "$OUT" | python3 -c 'import json,sys; m=json.load(sys.stdin)[0]["Manifest"]; print(sum(1 for l in m["layers"] if "disk" in l["mediaType"]))')
is "$layers" 5 "gen4 has five disk layers"
check "run the 5-layer image" skiff run -d --name five gen4
run skiff exec five -- sh -c 'cat /root/gen1 /root/gen2 /root/gen3 /root/gen4 | tr "\n" " "'
is "$OUT" "gen1 gen2 gen3 gen4 " "the 5-layer image has every generation's file"

run skiff history gen4
is "$(printf '%s\n' "$OUT" | tail -n +2 | wc -l)" 5 "history shows five layers"
like "$OUT" 'skiff commit v4 +[0-9.]+ [KM]iB +step 4' "history shows the top commit with its size and comment"
like "$OUT" 'skiff import rootfs.qcow2 +[0-9.]+ MiB +imported' "history shows the base layer"
run skiff history --format json gen4
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(h["comment"] for h in json.load(sys.stdin)))')" \
	"step 4 step 3 step 2 step 1 imported" "history --format json lists every comment, newest first"

# A running VM with --pause: the layer holds what was synced before it.
check "five writes a file and syncs" skiff exec five -- sh -c 'echo paused > /root/paused && sync'
check "commit --pause of the running VM" skiff commit --pause -m live --change memory=300 five live
run skiff exec five -- cat /root/gen4
is "$OUT" gen4 "the VM runs on after commit --pause"
run skiff inspect live
like "$OUT" '"memory": 300' "--change memory=300 is in the new config"
fail_clearly "an unknown --change is a usage error" 2 "--change 'colour=red'" \
	skiff commit --pause --change colour=red five bad
check "stop five" skiff stop five

# A tampered overlay: its backing file names another layer, or an absolute path.
id=$(vm_id five)
overlay=$TMP/root/vms/$id/overlay.qcow2
before=$(image_ids)
base_hex=$(skiff inspect tiny | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"]["rootfs"]["diff_ids"][0][7:])')
qemu-img rebase -u -f qcow2 -b "../../layers/$base_hex.qcow2" -F qcow2 "$overlay"
fail_clearly "an overlay whose backing file names another layer is refused" 1 \
	"backing file '../../layers/$base_hex.qcow2' is not the expected '../../layers/" \
	skiff commit five tampered
top=$(readlink -f "$TMP/root/layers/$(skiff inspect gen4 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"]["rootfs"]["diff_ids"][-1][7:])').qcow2")
qemu-img rebase -u -f qcow2 -b "$top" -F qcow2 "$overlay"
fail_clearly "an overlay whose backing file is an absolute path is refused" 1 "invalid disk" skiff commit five tampered
is "$(image_ids)" "$before" "no image was stored for the tampered overlays"
check "rm five" skiff rm five

# rmi of a base that children use removes only its name; the layer stays.
check "rmi gen2 (gen3 and gen4 build on it)" skiff rmi gen2
check "prune" skiff prune
fsck_clean "fsck is clean after rmi of a base and prune"
check "run gen4 after its parent's removal" skiff run -d --name after gen4
run skiff exec after -- cat /root/gen2
is "$OUT" gen2 "gen2's layer still serves gen4"
check "rm -f after" skiff rm -f after

# squash and export.
check "squash gen4 flat" skiff squash gen4 flat
run skiff inspect flat
is "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["Config"]["rootfs"]["diff_ids"]))')" 1 \
	"the squashed image has one layer"
run skiff history flat
like "$OUT" 'skiff squash gen4 +[0-9.]+ MiB +squashed' "history of the squashed image"
check "export flat as qcow2" skiff export flat -o "$TMP/flat.qcow2"
run qemu-img info --output=json "$TMP/flat.qcow2"
unlike "$OUT" 'backing' "the exported qcow2 has no backing file"
check "export gen4 as raw" skiff export --format raw gen4 -o "$TMP/gen4.raw"
run qemu-img info --output=json "$TMP/gen4.raw"
like "$OUT" '"format": "raw"' "the raw export is raw"
check "the raw and qcow2 exports hold the same disk" qemu-img compare -f raw -F qcow2 "$TMP/gen4.raw" "$TMP/flat.qcow2"
fail_clearly "export to an unknown format" 2 "unknown --format 'vmdk'" skiff export --format vmdk gen4 -o "$TMP/x"
check "import the exported disk" skiff import -q --kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initrd.img" \
	--cmdline "$(cat "$GUEST_DIR/cmdline")" --memory 256 "$TMP/flat.qcow2" reimported
check "run the re-imported export" skiff run -d --name re reimported
run skiff exec re -- cat /root/gen4
is "$OUT" gen4 "the guest boots from the exported disk with every layer's change"
check "rm -f re" skiff rm -f re
fsck_clean "fsck is clean at the end"
done_testing
