#!/usr/bin/env bash
# Layered images through the real registry: a child of a pushed base
# uploads only its new layer and config; a fresh store pulls the chain and
# runs it; a pull of a grandchild fetches only what the store lacks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

require_cmd docker-registry skopeo qemu-system-x86_64 qemu-img ssh ssh-keygen python3
guest_build
check "import the tiny guest" guest_import tiny
check "registry starts" registry_start || abort "no registry"
R=$REGISTRY_ADDR/layers

# A child image: a VM writes a file, stops, commits.
gen() { # gen PARENT CHILD WORD
	skiff run -d --name "mk-$2" "$1" >/dev/null &&
		skiff exec "mk-$2" -- sh -c "echo $3 > /root/$3 && sync" &&
		skiff stop "mk-$2" >/dev/null && skiff commit -q -m "$3" "mk-$2" "$2" && skiff rm "mk-$2" >/dev/null
}
check "make child from tiny" gen tiny child one
check "make grandchild from child" gen child grandchild two

run skiff push --compression none --tls-verify=false tiny "$R/vm:base"
like "$ERR" "4 blobs uploaded" "the base pushes its layer, kernel, initrd and config"
layer_size() { skiff inspect "$1" | python3 -c 'import json,sys; m=json.load(sys.stdin)[0]["Manifest"]; print([l["size"] for l in m["layers"] if "disk" in l["mediaType"]][-1])'; }
config_size() { skiff inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Manifest"]["config"]["size"])'; }
run skiff push --compression none --tls-verify=false child "$R/vm:child"
is "$RC" 0 "push of the child succeeds"
like "$ERR" "2 blobs uploaded .*, 3 already there" "the child uploads only its new layer and its config (the base layer, kernel and initrd are there)"
want=$(($(layer_size child) + $(config_size child)))
up=$(printf '%s\n' "$ERR" | sed -n 's/.*blobs uploaded (\(.*\)),.*/\1/p')
got=$(python3 -c 'import sys; v,u=sys.argv[1].split(); print(int(round(float(v)*{"B":1,"KiB":1024,"MiB":1<<20,"GiB":1<<30}[u])))' "$up")
python3 -c 'import sys; g,w=map(int,sys.argv[1:]); sys.exit(0 if abs(g-w) <= max(0.05*w, 1024) else 1)' "$got" "$want" &&
	ok "bytes uploaded ($up) are the new layer and config ($want bytes)" || not_ok "uploaded bytes" "got $got, want $want"
run skopeo inspect --raw --tls-verify=false "docker://$R/vm:child"
is "$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" "$(skiff inspect child | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"][7:])')" \
	"the registry holds the child's manifest byte for byte"
run skiff push --compression none --tls-verify=false grandchild "$R/vm:grandchild"
like "$ERR" "2 blobs uploaded .*, 4 already there" "the grandchild uploads only its layer and config"

# A fresh store pulls the child, then the grandchild (only the new layer).
export SKIFF_ROOT2=$TMP/root2
s2() { "$SKIFF" --root "$SKIFF_ROOT2" "$@"; }
run s2 pull --tls-verify=false "$R/vm:child"
is "$RC" 0 "a fresh store pulls the layered child"
run s2 pull --tls-verify=false "$R/vm:grandchild"
like "$ERR" "skipped: already in the store" "the grandchild's pull skips what the store has"
is "$(printf '%s\n' "$ERR" | grep -c 'Copying blob .* done')" 1 "the grandchild's pull downloads only its new layer"
run s2 history "$R/vm:grandchild"
like "$OUT" 'skiff commit mk-grandchild .* two' "the pulled history keeps the comments"
check "run the pulled grandchild" s2 run -d --name g "$R/vm:grandchild"
run s2 exec g -- sh -c 'cat /root/one /root/two | tr "\n" " "'
is "$OUT" "one two " "the pulled 3-layer image has both layers' files"
check "rm -f g" s2 rm -f g
run s2 fsck
is "$RC" 0 "fsck of the pulling store is clean"

# Layers go up side by side: the grandchild (3 disk layers, kernel and
# initrd) to an empty registry, through a proxy holding every upload's
# closing PUT for a second; at least two of those PUTs overlap in time.
check "a second, empty registry starts" registry_start || abort "no second registry"
check "a proxy in front of it starts" proxy_start "$REGISTRY_URL" || abort "no proxy"
proxy_rules '{"method":"PUT","path":"/blobs/uploads/","action":"delay","ms":1000}'
run skiff push --compression none --tls-verify=false grandchild "$PROXY_ADDR/par/vm:grandchild"
is "$RC" 0 "push of the grandchild to an empty registry succeeds"
like "$ERR" "6 blobs uploaded" "its five layers and config are uploaded"
most=$(proxy_requests "$PROXY_LOG" method=PUT path~/blobs/uploads/ | python3 -c '
import json, sys
spans = [(e["t0"], e["t1"]) for e in map(json.loads, sys.stdin)]
print(max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans) if spans else 0)')
[ "$most" -ge 2 ] && ok "layer uploads overlap ($most at once)" || not_ok "layer uploads overlap" "at most $most at once"
run skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_ADDR/par/vm:grandchild"
is "$(printf '%s' "$OUT" | sha256sum | cut -d' ' -f1)" \
	"$(skiff inspect grandchild | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"][7:])')" \
	"the registry holds the grandchild's manifest byte for byte"
done_testing
