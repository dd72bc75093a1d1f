#!/bin/bash
# tests/guest/test-tiny-parsers.sh: the tiny guest's YAML-subset and MIME
# parsers (tests/guest/tiny/*.awk) run on the host with busybox awk, the
# awk the guest has.  No VM, no network.  Prints TAP.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
awk=(busybox awk)
"${awk[@]}" 'BEGIN {}' 2>/dev/null || { echo "1..0 # SKIP busybox is not installed"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

# yaml NAME: parses stdin into $tmp/NAME, stderr into $tmp/NAME.err.
yaml() {
	cat >"$tmp/$1.yaml"
	"${awk[@]}" -v out="$tmp/$1" -f "$here/tiny/cloud-yaml.awk" "$tmp/$1.yaml" 2>"$tmp/$1.err"
}

# is FILE EXPECTED(printf format) DESCRIPTION: byte-exact content.
is() {
	local got want
	if [ ! -f "$tmp/$1" ]; then
		not_ok "$3 ($1 missing)"
		return
	fi
	got=$(od -An -c "$tmp/$1")
	# shellcheck disable=SC2059
	want=$(printf -- "$2" | od -An -c)
	if [ "$got" = "$want" ]; then ok "$3"; else
		not_ok "$3"
		echo "#   got: $got"
		echo "#  want: $want"
	fi
}

absent() {
	if [ -e "$tmp/$1" ]; then not_ok "$2"; else ok "$2"; fi
}

# ---- the cloud-config skiff writes (runner/userdata.c) ----------------------

yaml skiff <<'EOF'
#cloud-config
hostname: "web-1"
users:
  - name: "debian"
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    shell: "/bin/sh"
    lock_passwd: true
    ssh_authorized_keys:
      - "ssh-ed25519 AAAAkey1 me@host"
      - "ssh-ed25519 AAAAkey2 skiff"
ssh_authorized_keys:
  - "ssh-ed25519 AAAAkey1 me@host"
disable_root: false
ssh_keys:
  ed25519_private: |
    -----BEGIN OPENSSH PRIVATE KEY-----
    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
    -----END OPENSSH PRIVATE KEY-----
  ed25519_public: "ssh-ed25519 AAAAhost root@x"
write_files:
  - path: "/etc/environment"
    permissions: "0644"
    append: true
    content: "A=\"x y\"\nB=\"quote\\\" back\\\\slash\"\n"
  - path: "/etc/profile.d/skiff-env.sh"
    permissions: "0644"
    content: "# written by skiff from -e\nexport A='x y'\n"
runcmd:
  - "echo \"hi\"\tthere"
  - "caf\u00E9 \U0001F600 \x41"
EOF
is skiff/hostname 'web-1' "double-quoted hostname"
is skiff/users/0001/name 'debian' "mapping inside a sequence"
is skiff/users/0001/sudo 'ALL=(ALL) NOPASSWD:ALL' "quoted value with spaces and colons"
is skiff/users/0001/lock_passwd 'true' "plain boolean"
is skiff/users/0001/ssh_authorized_keys/0002 'ssh-ed25519 AAAAkey2 skiff' "nested sequence item"
is skiff/ssh_authorized_keys/0001 'ssh-ed25519 AAAAkey1 me@host' "top-level key list"
is skiff/disable_root 'false' "plain scalar"
is skiff/ssh_keys/ed25519_private \
	'-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n' \
	"literal block scalar keeps lines and one final newline"
is skiff/ssh_keys/ed25519_public 'ssh-ed25519 AAAAhost root@x' "key after a block scalar"
is skiff/write_files/0001/content 'A="x y"\nB="quote\\" back\\\\slash"\n' "escaped quotes, backslashes and newlines"
is skiff/write_files/0001/append 'true' "write_files append flag"
is skiff/write_files/0002/content "# written by skiff from -e\\nexport A='x y'\\n" "a '#' inside quotes is not a comment"
is skiff/runcmd/0001 'echo "hi"\tthere' "tab escape"
is skiff/runcmd/0002 'caf\303\251 \360\237\230\200 A' "\\u, \\U and \\x escapes become UTF-8"
if [ -s "$tmp/skiff.err" ]; then not_ok "skiff's cloud-config parses without warnings"; sed 's/^/#   /' "$tmp/skiff.err"; else ok "skiff's cloud-config parses without warnings"; fi

# ---- hand-written cloud-config ----------------------------------------------

yaml hand <<'EOF'
#cloud-config
---
# a comment
hostname: plain-host   # trailing comment
runcmd:
- echo compact
- [ls, "-l", 'it''s', "a, b"]
- - echo
  - nested
-
  - echo
  - dash-alone
url: http://example.com:8080/x#frag
folded: >
  one
  two

  three
keep: |+
  kept

strip: |-
  stripped
indented: |2
    two extra
empty:
emptylist: []
flowmap: {a: 1, "b": 'two'}
last: value
EOF
is hand/hostname 'plain-host' "plain scalar with a trailing comment"
is hand/runcmd/0001 'echo compact' "sequence at its key's indentation"
is hand/runcmd/0002/0003 "it's" "single-quoted '' escape in a flow sequence"
is hand/runcmd/0002/0004 'a, b' "quoted comma in a flow sequence"
is hand/runcmd/0003/0002 'nested' "block sequence inside a sequence"
is hand/runcmd/0004/0002 'dash-alone' "sequence under a lone dash"
is hand/url 'http://example.com:8080/x#frag' "colons and # without a space stay in a plain scalar"
is hand/folded 'one two\nthree\n' "folded block scalar"
is hand/keep 'kept\n\n' "keep chomping"
is hand/strip 'stripped' "strip chomping"
is hand/indented '  two extra\n' "indentation indicator"
is hand/empty '' "a key without a value is empty"
if [ -d "$tmp/hand/emptylist" ] && [ -z "$(ls -A "$tmp/hand/emptylist")" ]; then ok "empty flow sequence is an empty directory"; else not_ok "empty flow sequence is an empty directory"; fi
is hand/flowmap/b 'two' "flow mapping"
is hand/last 'value' "the key after everything else"

# ---- meta-data, YAML and one-key-per-line JSON ------------------------------

yaml meta <<'EOF'
instance-id: iid-abc
local-hostname: 'host-1'
EOF
is meta/instance-id 'iid-abc' "meta-data instance-id"
is meta/local-hostname 'host-1' "meta-data single-quoted hostname"
printf '{\r\n "instance-id": "iid-json",\r\n "local-hostname": "h2"\r\n}\r\n' | yaml json
is json/instance-id 'iid-json' "JSON-ish meta-data with CRLF"
is json/local-hostname 'h2' "JSON-ish trailing comma ignored"

# ---- hostile and unsupported input ------------------------------------------

yaml hostile <<'EOF'
../escape: x
"a/b": y
'$(touch pwned)': z
..: dots
ok: fine
EOF
absent escape "'../' in a key cannot leave the output directory"
is hostile/.._escape 'x' "'../' in a key becomes '.._'"
absent hostile/a/b "'/' in a key does not make a directory"
is hostile/a_b 'y' "'/' in a key becomes '_'"
absent hostile/pwned "a key is never run by a shell"
[ ! -e "$here/pwned" ] && [ ! -e pwned ] && ok "no file created by a key's command substitution" ||
	not_ok "no file created by a key's command substitution"
is hostile/_.. 'dots' "'..' as a key is renamed"
is hostile/ok 'fine' "parsing goes on after hostile keys"

yaml bad <<'EOF'
anchor: &a value
multi: [a,
  b]
	tabbed: x
plain: multi
  line continuation
after: still parsed
EOF
grep -q 'line 1: anchors' "$tmp/bad.err" && ok "anchors are reported" || not_ok "anchors are reported"
grep -q 'multi-line flow' "$tmp/bad.err" && ok "multi-line flow collections are reported" ||
	not_ok "multi-line flow collections are reported"
grep -q 'line 4: tabs' "$tmp/bad.err" && ok "tab indentation is reported" || not_ok "tab indentation is reported"
grep -q 'line 6: unexpected indentation' "$tmp/bad.err" && ok "multi-line plain scalars are reported" ||
	not_ok "multi-line plain scalars are reported"
is bad/after 'still parsed' "parsing goes on after unsupported lines"

# ---- MIME ---------------------------------------------------------------------

# mime NAME: splits stdin into $tmp/NAME.
mime() {
	cat >"$tmp/$1.msg"
	mkdir -p "$tmp/$1"
	"${awk[@]}" -v out="$tmp/$1" -f "$here/tiny/mime.awk" "$tmp/$1.msg"
}

user_b64=$(printf '#!/bin/sh\necho user\n' | base64)
mime multi <<EOF
Content-Type: multipart/mixed; boundary="==skiff-abc=="
MIME-Version: 1.0

--==skiff-abc==
Content-Type: text/x-shellscript; charset="utf-8"
MIME-Version: 1.0
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="user-data"

$user_b64

--==skiff-abc==
Content-Type: text/cloud-config; charset="utf-8"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Merge-Type: dict(no_replace,recurse_list)+list(append)+str()

#cloud-config
hostname: "h"
--==skiff-abc==--
EOF
is multi/0001.type 'text/x-shellscript' "part media type without parameters"
is multi/0001.enc 'base64' "part transfer encoding"
if [ "$(base64 -d <"$tmp/multi/0001.body")" = "$(printf '#!/bin/sh\necho user')" ]; then
	ok "base64 body decodes to the user's script"
else
	not_ok "base64 body decodes to the user's script"
fi
is multi/0002.type 'text/cloud-config' "second part"
is multi/0002.body '#cloud-config\nhostname: "h"' "the line break before a delimiter belongs to it"
absent multi/0003.type "the closing delimiter ends the parts"

printf 'Content-Type: multipart/mixed; boundary=plain\r\n\r\npreamble\r\n--plain  \r\ncontent-type: Text/Cloud-Config\r\n\r\n#cloud-config\r\n--plain\r\n\r\nno headers\r\n' | mime crlf
is crlf/0001.type 'text/cloud-config' "CRLF, unquoted boundary, padded delimiter, case-insensitive header"
is crlf/0001.body '#cloud-config' "CRLF body"
is crlf/0002.type 'text/plain' "a part without Content-Type is text/plain"
is crlf/0002.body 'no headers' "an unterminated last part is kept"

printf 'Content-Type: text/x-shellscript\nMIME-Version: 1.0\n\n#!/bin/sh\necho single\n' | mime single
is single/0001.type 'text/x-shellscript' "a message that is not multipart is one part"
is single/0001.body '#!/bin/sh\necho single' "its body"

echo "1..$n"
[ $failed = 0 ]
