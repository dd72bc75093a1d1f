# mime.awk: splits a MIME message (cloud-init multipart user-data) into
# its parts.
#
#   busybox awk -v out=DIR -f mime.awk MESSAGE
#
# For each part N (0001, 0002, ...) it writes DIR/N.hdr (the part's headers,
# unfolded, one per line), DIR/N.type (the lower-cased media type, e.g.
# text/cloud-config, or text/plain when the part has none) and DIR/N.enc
# (the lower-cased Content-Transfer-Encoding, or 7bit) and DIR/N.body (the
# body; the line break before a delimiter belongs to the delimiter).  A
# message that is not multipart is one part.  Nested multiparts are parts
# of type multipart/...: feed "N.hdr, an empty line, N.body" back in.
# CRLF line ends are accepted.

function lower(s) { return tolower(s) }

# Value of header name (lower case) among H[1..nh], "" when absent.
function header(name,   i, l) {
	for (i = 1; i <= nh; i++) {
		l = H[i]
		if (lower(substr(l, 1, length(name) + 1)) == name ":")
			return substr(l, length(name) + 2)
	}
	return ""
}

function media_type(ct,   t) {
	t = lower(ct)
	sub(/;.*/, "", t)
	gsub(/[ \t]/, "", t)
	return t == "" ? "text/plain" : t
}

function param(ct, name,   l, i, v) {
	l = lower(ct)
	i = match(l, "(^|;)[ \t]*" name "=")
	if (!i)
		return ""
	v = substr(ct, RSTART + RLENGTH)
	if (substr(v, 1, 1) == "\"") {
		v = substr(v, 2)
		sub(/".*/, "", v)
	} else
		sub(/[; \t].*/, "", v)
	return v
}

# Writes the headers collected in H as part n.
function start_part(n,   base, i, enc) {
	base = out "/" sprintf("%04d", n)
	for (i = 1; i <= nh; i++)
		print H[i] > (base ".hdr")
	printf "" > (base ".hdr")
	close(base ".hdr")
	printf "%s", media_type(header("content-type")) > (base ".type")
	close(base ".type")
	enc = lower(header("content-transfer-encoding"))
	gsub(/[ \t]/, "", enc)
	printf "%s", enc == "" ? "7bit" : enc > (base ".enc")
	close(base ".enc")
	body = base ".body"
	printf "" > body
	first = 1
}

function body_line(l) {
	printf "%s%s", first ? "" : "\n", l > body
	first = 0
}

function end_part() {
	if (body != "")
		close(body)
	body = ""
}

function add_header(l) {
	if (l ~ /^[ \t]/ && nh > 0) {
		sub(/^[ \t]+/, " ", l)
		H[nh] = H[nh] l
	} else
		H[++nh] = l
}

BEGIN {
	state = "top"
	nh = 0
	n = 0
	body = ""
}

{
	sub(/\r$/, "")
}

state == "top" {
	if ($0 != "") {
		add_header($0)
		next
	}
	ct = header("content-type")
	boundary = media_type(ct) ~ /^multipart\// ? param(ct, "boundary") : ""
	if (boundary == "") {
		start_part(++n)
		state = "single"
	} else
		state = "preamble"
	next
}

state == "single" {
	body_line($0)
	next
}

{
	line = $0
	sub(/[ \t]+$/, "", line)
}

line == "--" boundary "--" {
	end_part()
	state = "epilogue"
	next
}

line == "--" boundary {
	end_part()
	nh = 0
	state = "headers"
	next
}

state == "headers" {
	if ($0 != "") {
		add_header($0)
		next
	}
	start_part(++n)
	state = "body"
	next
}

state == "body" {
	body_line($0)
}

END {
	end_part()
	if (state == "headers")
		start_part(++n)
}
