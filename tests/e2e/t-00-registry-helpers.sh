#!/usr/bin/env bash
# The e2e helpers against the real docker-registry, with curl and skopeo:
# anonymous, basic and token auth, the token server's grants, and cleanup of
# servers when a script fails or is killed.
. "$(dirname "$0")/lib.sh"

require_cmd docker-registry htpasswd openssl node curl skopeo perl

sha256_of() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

# Writes a layer, the empty config and an OCI 1.1 artifact manifest for them
# into $TMP/LABEL/.
make_artifact() {
	local dir=$TMP/$1 layer_digest layer_size
	mkdir -p "$dir"
	head -c 70000 /dev/urandom >"$dir/layer"
	printf '{}' >"$dir/config"
	layer_digest=$(sha256_of "$dir/layer")
	layer_size=$(stat -c %s "$dir/layer")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.skiff.test.v1","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.skiff.test.layer.v1","digest":"%s","size":%s}]}' \
		"$(sha256_of "$dir/config")" "$layer_digest" "$layer_size" >"$dir/manifest.json"
}

# push_and_pull LABEL REPO: push the artifact with REG_AUTH, read it back.
push_and_pull() {
	local label=$1 repo=$2 dir=$TMP/$1
	make_artifact "$label"
	registry_push_blob "$repo" "$dir/layer"
	is "$HTTP_STATUS" 201 "$label: layer blob pushed (POST, PUT ?digest=)"
	registry_push_blob "$repo" "$dir/config"
	is "$HTTP_STATUS" 201 "$label: config blob pushed"
	registry_push_manifest "$repo" v1 "$dir/manifest.json"
	is "$HTTP_STATUS" 201 "$label: manifest pushed"
	is "$MANIFEST_DIGEST" "$(sha256_of "$dir/manifest.json")" "$label: registry reports the manifest's digest"
	registry_get "$repo/manifests/v1" -H "Accept: $SK_MANIFEST_ACCEPT"
	is "$HTTP_STATUS" 200 "$label: manifest read back"
	is "$(sha256_of "$TMP/.body")" "$(sha256_of "$dir/manifest.json")" "$label: manifest is byte-identical"
	registry_get "$repo/blobs/$(sha256_of "$dir/layer")"
	is "$(sha256_of "$TMP/.body")" "$(sha256_of "$dir/layer")" "$label: layer blob is byte-identical"
}

# A header's value from $HEADERS (case-insensitive name).
header() {
	printf '%s\n' "$HEADERS" | sed -n "s/^$1: //Ip" | head -n 1
}

test_anonymous() {
	check "anonymous registry starts" registry_start
	REG_AUTH=()
	registry_get ""
	is "$HTTP_STATUS" 200 "anonymous: /v2/ answers 200"
	push_and_pull anonymous skiff/anon
	registry_get skiff/anon/manifests/v1
	is "$HTTP_STATUS" 404 "anonymous: a manifest GET without Accept is 404 (documented registry quirk)"
	check "skopeo inspect --raw reads the anonymous registry" \
		skopeo inspect --raw --tls-verify=false "docker://$REGISTRY_ADDR/skiff/anon:v1"
	is "$OUT" "$(cat "$TMP/anonymous/manifest.json")" "skopeo sees the pushed manifest unchanged"
}

test_basic() {
	check "basic registry starts" registry_start_basic alice 's3cret:with colon'
	REG_AUTH=()
	registry_get ""
	is "$HTTP_STATUS" 401 "basic: no credentials is 401"
	is "$(header www-authenticate)" 'Basic realm="skiff-e2e"' "basic: challenge names the Basic realm"
	REG_AUTH=(-u "alice:wrong")
	registry_get ""
	is "$HTTP_STATUS" 401 "basic: wrong password is 401"
	REG_AUTH=(-u "$REGISTRY_USER:$REGISTRY_PASS")
	registry_get ""
	is "$HTTP_STATUS" 200 "basic: right password is 200"
	push_and_pull basic skiff/basic
	check "skopeo --creds reads the basic registry" skopeo inspect --raw --tls-verify=false \
		--creds "$REGISTRY_USER:$REGISTRY_PASS" "docker://$REGISTRY_ADDR/skiff/basic:v1"
	is "$OUT" "$(cat "$TMP/basic/manifest.json")" "skopeo sees the basic registry's manifest unchanged"
	run skopeo inspect --raw --tls-verify=false --creds alice:wrong "docker://$REGISTRY_ADDR/skiff/basic:v1"
	like "$RC:$ERR" '^[1-9][0-9]*:.*(unauthorized|authentication required)' "skopeo with a wrong password fails as unauthorized"
}

# The scope of the last challenge, its scopes and their actions sorted (the
# registry's order varies).
challenge_scopes() {
	local scope sorted=()
	for scope in $(header www-authenticate | sed -n 's/.*scope="\([^"]*\)".*/\1/p'); do
		sorted+=("${scope%:*}:$(tr ',' '\n' <<<"${scope##*:}" | sort | paste -sd, -)")
	done
	printf '%s\n' "${sorted[@]}" | sort | paste -sd' ' -
}

# JSON field of the JWT's header (part 0) or claims (part 1) in $TOKEN.
jwt_field() {
	node -e '
		const part = JSON.parse(Buffer.from(process.argv[1].split(".")[process.argv[2]], "base64url"));
		const v = part[process.argv[3]];
		process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$TOKEN" "$1" "$2"
}

test_token_grants() {
	registry_token repository:skiff/token:pull,push
	is "$HTTP_STATUS" 200 "token: anonymous token request answers 200"
	is "$(jwt_field 1 access)" '[]' "token: anonymous gets no access without --anonymous-pull"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	registry_get skiff/token/tags/list
	is "$HTTP_STATUS" 401 "token: an anonymous token cannot pull"
	like "$(header www-authenticate)" 'error="insufficient_scope"' "token: the registry says insufficient_scope"
	registry_token -u "$REGISTRY_USER:wrong" repository:skiff/token:pull
	is "$HTTP_STATUS" 401 "token: wrong password at the token server is 401"
	is "$TOKEN" "" "token: no token for a wrong password"
	registry_token -u "$REGISTRY_USER:$REGISTRY_PASS" "repository:skiff/token:pull,push"
	is "$HTTP_STATUS" 200 "token: credentials get a token"
	like "$TOKEN_RESPONSE" '"access_token":"'"$TOKEN"'"' "token: token and access_token are the same"
	like "$TOKEN_RESPONSE" '"expires_in":[0-9]+,"issued_at":"[0-9]{4}-' "token: expires_in and issued_at"
	is "$(jwt_field 0 alg)" RS256 "token: JWT is RS256"
	like "$(jwt_field 0 x5c)" '^\["MII' "token: JWT header carries the certificate (x5c)"
	is "$(jwt_field 1 iss):$(jwt_field 1 aud):$(jwt_field 1 sub)" \
		"$TOKEN_ISSUER:$TOKEN_SERVICE:$REGISTRY_USER" "token: iss, aud and sub"
}

test_token() {
	check "token registry starts" registry_start_token bob 'p4ss word'
	REG_AUTH=()
	registry_get ""
	is "$HTTP_STATUS" 401 "token: no token is 401"
	is "$(header www-authenticate)" "Bearer realm=\"$TOKEN_URL\",service=\"$TOKEN_SERVICE\"" \
		"token: challenge names the realm and the service"
	registry_get skiff/token/manifests/v1
	like "$(header www-authenticate)" 'scope="repository:skiff/token:pull"' "token: challenge names the scope"
	test_token_grants

	registry_token -u "$REGISTRY_USER:$REGISTRY_PASS" "repository:skiff/token:pull,push"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	push_and_pull token skiff/token

	# A cross-repository mount needs both scopes, space-separated in one
	# parameter here (repeated parameters are tested by the token request
	# count below).
	local layer
	layer=$(sha256_of "$TMP/token/layer")
	registry_token -u "$REGISTRY_USER:$REGISTRY_PASS" "repository:skiff/other:pull,push repository:skiff/token:pull"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	HTTP_STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "${REG_AUTH[@]}" \
		"$REGISTRY_URL/v2/skiff/other/blobs/uploads/?mount=$layer&from=skiff/token")
	is "$HTTP_STATUS" 201 "token: a token with both scopes mounts a blob across repositories"
	registry_token -u "$REGISTRY_USER:$REGISTRY_PASS" "repository:skiff/third:pull,push"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	HTTP_STATUS=$(curl -sS -D "$TMP/.headers" -o /dev/null -w '%{http_code}' -X POST "${REG_AUTH[@]}" \
		"$REGISTRY_URL/v2/skiff/third/blobs/uploads/?mount=$layer&from=skiff/token")
	HEADERS=$(tr -d '\r' <"$TMP/.headers")
	is "$HTTP_STATUS" 401 "token: a mount without the source's pull scope is 401"
	like "$(header www-authenticate)" 'error="insufficient_scope"' "token: the mount's challenge says insufficient_scope"
	is "$(challenge_scopes)" "repository:skiff/third:pull,push repository:skiff/token:pull" \
		"token: the mount's challenge asks for both scopes, space-separated"
	is "$(wc -l <"$TOKEN_LOG")" 6 "token: the log has one line per token request"

	check "skopeo --creds reads the token registry" skopeo inspect --raw --tls-verify=false \
		--creds "$REGISTRY_USER:$REGISTRY_PASS" "docker://$REGISTRY_ADDR/skiff/token:v1"
	is "$OUT" "$(cat "$TMP/token/manifest.json")" "skopeo sees the token registry's manifest unchanged"
	like "$(tail -n 1 "$TOKEN_LOG")" '"user":"bob".*"status":200' "token: skopeo's request is in the token log"
	fail_clearly "skopeo with a wrong password fails at the token server" '*' 'unauthorized' \
		skopeo inspect --raw --tls-verify=false --creds bob:wrong "docker://$REGISTRY_ADDR/skiff/token:v1"
}

test_token_options() {
	local port=$TOKEN_PORT
	check "token registry with anonymous pull starts" registry_start_token carol pw --anonymous-pull
	isnt "$TOKEN_PORT" "$port" "token: a second token server on its own port"
	registry_token -u carol:pw "repository:skiff/anon-pull:pull,push"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	push_and_pull anon-pull skiff/anon-pull
	registry_token "repository:skiff/anon-pull:pull,push"
	is "$(jwt_field 1 access)" '[{"type":"repository","name":"skiff/anon-pull","actions":["pull"]}]' \
		"token: --anonymous-pull grants anonymous pull only"
	REG_AUTH=(-H "Authorization: Bearer $TOKEN")
	registry_get skiff/anon-pull/manifests/v1 -H "Accept: $SK_MANIFEST_ACCEPT"
	is "$(sha256_of "$TMP/.body")" "$(sha256_of "$TMP/anon-pull/manifest.json")" "token: anonymous pull reads the manifest"
	registry_push_blob skiff/anon-pull "$TMP/anon-pull/config"
	is "$HTTP_STATUS" 401 "token: anonymous push is refused"
	like "$(header www-authenticate)" 'error="insufficient_scope"' "token: anonymous push is insufficient_scope"

	# OAuth2 form POST, as docker and podman may use.
	run curl -sS -d grant_type=password -d username=carol -d password=pw -d access_type=offline \
		-d "service=$TOKEN_SERVICE" -d scope=repository:skiff/anon-pull:push "$TOKEN_URL"
	like "$OUT" '"access_token":"ey.*"refresh_token":"[0-9a-f]+"' "token: POST password grant gives a refresh token"
	local refresh
	refresh=$(printf '%s' "$OUT" | sed -n 's/.*"refresh_token":"\([0-9a-f]*\)".*/\1/p')
	run curl -sS -o /dev/null -w '%{http_code}' -d grant_type=refresh_token -d "refresh_token=$refresh" \
		-d "service=$TOKEN_SERVICE" -d scope=repository:skiff/anon-pull:push "$TOKEN_URL"
	is "$OUT" 200 "token: POST refresh_token grant works"
	run curl -sS -o /dev/null -w '%{http_code}' -d grant_type=refresh_token -d refresh_token=nope \
		-d "service=$TOKEN_SERVICE" "$TOKEN_URL"
	is "$OUT" 401 "token: an unknown refresh token is 401"
	run curl -sS -o /dev/null -w '%{http_code}' -u carol:pw "$TOKEN_URL?service=other&scope=repository:a:pull"
	is "$OUT" 400 "token: a wrong service is 400"
}

# A script that fails (or is killed) after starting a registry leaves no
# registry and no temp dir behind.
test_cleanup() {
	local dir=$TMP/cleanup pid tmp child rc i
	mkdir -p "$dir"
	bash -c '. "$1/lib.sh"; registry_start || exit 3; echo "$REGISTRY_PID" >"$2/pid"
		echo "$TMP" >"$2/tmp"; exit 1' cleanup "$SK_E2E_LIB_DIR" "$dir" >/dev/null 2>&1
	rc=$?
	pid=$(cat "$dir/pid" 2>/dev/null)
	tmp=$(cat "$dir/tmp" 2>/dev/null)
	is "$rc" 1 "cleanup: the failing script exits with its own status"
	like "$pid" '^[0-9]+$' "cleanup: the failing script had started a registry"
	if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
		ok "cleanup: its registry is gone"
	else
		not_ok "cleanup: its registry is gone" "process $pid still exists"
	fi
	if [ -n "$tmp" ] && [ ! -e "$tmp" ]; then ok "cleanup: its temp dir is gone"; else not_ok "cleanup: its temp dir is gone" "$tmp"; fi

	rm -f "$dir/pid"
	bash -c '. "$1/lib.sh"; registry_start_token u p || exit 3
		echo "$REGISTRY_PID $TOKEN_PID" >"$2/pid.tmp"; mv "$2/pid.tmp" "$2/pid"
		while :; do sleep 0.1; done' killed "$SK_E2E_LIB_DIR" "$dir" >/dev/null 2>&1 &
	child=$!
	for ((i = 0; i < 150; i++)); do
		[ -s "$dir/pid" ] && break
		sleep 0.1
	done
	kill -TERM "$child"
	wait "$child"
	rc=$?
	pid=$(cat "$dir/pid" 2>/dev/null)
	is "$rc" 143 "cleanup: a script killed by TERM exits 143"
	like "$pid" '^[0-9]+ [0-9]+$' "cleanup: the killed script had started a registry and a token server"
	local alive=
	for i in $pid; do kill -0 "$i" 2>/dev/null && alive+=" $i"; done
	is "$alive" "" "cleanup: both servers are gone after TERM"
}

test_anonymous
test_basic
test_token
test_token_options
test_cleanup

# The helpers themselves.
port=$(free_port)
like "$port" '^[0-9]+$' "free_port prints a port"
fail_clearly "wait_for_port gives up on a closed port" 1 "" wait_for_port "$port" "" 1
fail_clearly "fail_clearly's own check: a failing command with its message" 2 "No such file" \
	ls "$TMP/does-not-exist"
done_testing
