# cloud-yaml.awk: the YAML subset of skiff's tiny guest, as a directory tree.
#
#   busybox awk -v out=DIR -f cloud-yaml.awk FILE
#
# Every mapping and sequence becomes a directory under DIR, every scalar a
# file holding its exact value (no newline added).  Mapping keys name their
# entries (characters outside [A-Za-z0-9_.-] become '_'); sequence items are
# numbered 0001, 0002, ...  A key with no value is an empty file.
#
# The subset:
#   - block mappings "key: value" (plain, "double" or 'single' quoted keys)
#     and block sequences "- item", nested by indentation (spaces); a
#     sequence may sit at its key's own indentation; "- key: v" starts a
#     mapping inside a sequence, "- - x" a sequence inside one
#   - plain scalars on one line (a " #" starts a comment), 'single quoted'
#     ('' is a quote), "double quoted" with the escapes \\ \" \/ \0 \a \b \t
#     \n \v \f \r \e \N \_ \L \P \xHH \uHHHH \UHHHHHHHH (decoded to UTF-8;
#     NUL is dropped), on one line
#   - block scalars | and > with the chomping indicators - and + and an
#     indentation digit
#   - one-line flow sequences [a, "b", 'c'] and flow mappings {k: v} of
#     scalars
#   - comment lines, "---" and "..." document markers, and lines that are
#     only "{", "}" or "}," (so one-key-per-line JSON reads too)
# Not supported (the line is reported on stderr and skipped where it is
# detected): anchors, aliases and tags, multi-line plain or quoted scalars,
# nested or multi-line flow collections, tabs as indentation, complex keys.

function warn(msg) {
	printf "cloud-yaml: line %d: %s\n", NR, msg > "/dev/stderr"
}

function mkdirp(d) {
	if (d in made)
		return
	system("mkdir -p '" d "'")
	made[d] = 1
}

function dirname(p,   i) {
	i = match(p, /\/[^\/]*$/)
	return i ? substr(p, 1, i - 1) : "."
}

function put(p, v) {
	mkdirp(dirname(p))
	printf "%s", v > p
	close(p)
}

function sanitize(k) {
	gsub(/[^A-Za-z0-9_.-]/, "_", k)
	if (k ~ /^\.*$/)
		k = "_" k
	return k
}

function ltrim(s) { sub(/^[ \t]+/, "", s); return s }
function rtrim(s) { sub(/[ \t]+$/, "", s); return s }

function hexval(s,   i, n, c) {
	n = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", tolower(substr(s, i, 1)))
		if (c == 0)
			return -1
		n = n * 16 + c - 1
	}
	return n
}

function utf8(c) {
	if (c <= 0)
		return ""
	if (c < 128)
		return sprintf("%c", c)
	if (c < 2048)
		return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
	if (c < 65536)
		return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
	return sprintf("%c%c%c%c", 240 + int(c / 262144), 128 + int(c / 4096) % 64,
		128 + int(c / 64) % 64, 128 + c % 64)
}

# Decodes the double-quoted scalar at the start of s; DQEND is set to the
# index of its closing quote (0 when it has none).
function decode_dq(s,   i, c, r, n, w, h) {
	r = ""
	DQEND = 0
	for (i = 2; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\"") {
			DQEND = i
			return r
		}
		if (c != "\\") {
			r = r c
			continue
		}
		c = substr(s, ++i, 1)
		w = 0
		if (c == "x") w = 2
		else if (c == "u") w = 4
		else if (c == "U") w = 8
		if (w) {
			h = hexval(substr(s, i + 1, w))
			if (h < 0 || length(substr(s, i + 1, w)) != w) {
				warn("bad \\" c " escape")
				h = 65533
			}
			r = r utf8(h)
			i += w
			continue
		}
		if (c == "n") r = r "\n"
		else if (c == "t" || c == "\t") r = r "\t"
		else if (c == "r") r = r "\r"
		else if (c == "\"" || c == "\\" || c == "/" || c == " ") r = r c
		else if (c == "0") r = r
		else if (c == "a") r = r sprintf("%c", 7)
		else if (c == "b") r = r sprintf("%c", 8)
		else if (c == "v") r = r sprintf("%c", 11)
		else if (c == "f") r = r sprintf("%c", 12)
		else if (c == "e") r = r sprintf("%c", 27)
		else if (c == "N") r = r utf8(133)
		else if (c == "_") r = r utf8(160)
		else if (c == "L") r = r utf8(8232)
		else if (c == "P") r = r utf8(8233)
		else {
			warn("unknown escape \\" c)
			r = r "\\" c
		}
	}
	warn("unterminated double-quoted scalar")
	return r
}

# Decodes the single-quoted scalar at the start of s; sets SQEND.
function decode_sq(s,   i, c, r) {
	r = ""
	SQEND = 0
	for (i = 2; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c != "'") {
			r = r c
			continue
		}
		if (substr(s, i + 1, 1) == "'") {
			r = r "'"
			i++
			continue
		}
		SQEND = i
		return r
	}
	warn("unterminated single-quoted scalar")
	return r
}

function scalar(v,   i) {
	v = ltrim(v)
	if (substr(v, 1, 1) == "\"")
		return decode_dq(v)
	if (substr(v, 1, 1) == "'")
		return decode_sq(v)
	if (v ~ /^[&*!]/)
		warn("anchors, aliases and tags are not supported")
	i = index(v, " #")
	if (i)
		v = substr(v, 1, i - 1)
	i = index(v, "\t#")
	if (i)
		v = substr(v, 1, i - 1)
	return rtrim(v)
}

# Splits the flow collection body s (without its brackets) at top-level
# commas into ITEMS[1..n]; returns n.
function flow_split(s,   i, c, q, n, cur) {
	n = 0
	q = ""
	cur = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (q != "") {
			if (c == "\\" && q == "\"") {
				cur = cur c substr(s, ++i, 1)
				continue
			}
			if (c == q)
				q = ""
			cur = cur c
			continue
		}
		if (c == "\"" || c == "'") {
			q = c
			cur = cur c
			continue
		}
		if (c == ",") {
			ITEMS[++n] = cur
			cur = ""
			continue
		}
		cur = cur c
	}
	if (ltrim(cur) != "")
		ITEMS[++n] = cur
	return n
}

# The body of the one-line flow collection v opening with o and closing
# with c; "" with a warning when it does not close on this line.
function flow_body(v, o, c,   q, i, ch) {
	q = ""
	for (i = 2; i <= length(v); i++) {
		ch = substr(v, i, 1)
		if (q != "") {
			if (ch == "\\" && q == "\"")
				i++
			else if (ch == q)
				q = ""
			continue
		}
		if (ch == "\"" || ch == "'")
			q = ch
		else if (ch == o) {
			warn("nested flow collections are not supported")
			return ""
		} else if (ch == c)
			return substr(v, 2, i - 2)
	}
	warn("multi-line flow collections are not supported")
	return ""
}

function flow_seq(p, v,   n, i) {
	mkdirp(p)
	n = flow_split(flow_body(v, "[", "]"))
	for (i = 1; i <= n; i++)
		put(p "/" sprintf("%04d", i), scalar(ITEMS[i]))
}

function flow_map(p, v,   n, i) {
	mkdirp(p)
	n = flow_split(flow_body(v, "{", "}"))
	for (i = 1; i <= n; i++) {
		if (splitkey(ltrim(ITEMS[i])))
			put(p "/" sanitize(KEY), scalar(VAL))
		else
			warn("expected key: value in a flow mapping")
	}
}

# Whether c is "key: value" or "key:"; sets KEY and VAL.
function splitkey(c,   rest) {
	if (substr(c, 1, 1) == "\"") {
		KEY = decode_dq(c)
		if (!DQEND)
			return 0
		rest = substr(c, DQEND + 1)
	} else if (substr(c, 1, 1) == "'") {
		KEY = decode_sq(c)
		if (!SQEND)
			return 0
		rest = substr(c, SQEND + 1)
	} else {
		if (!match(c, /^[^] \t:#[{},&*!|>%@`-][^ \t:]*:/) &&
			!match(c, /^-[^ \t:]+:/))
			return 0
		KEY = substr(c, 1, RLENGTH - 1)
		rest = substr(c, RLENGTH)
	}
	rest = ltrim(rest)
	if (substr(rest, 1, 1) != ":")
		return 0
	rest = substr(rest, 2)
	if (rest != "" && rest !~ /^[ \t]/)
		return 0
	VAL = ltrim(rest)
	return 1
}

function is_item(c) {
	return c == "-" || substr(c, 1, 2) == "- " || substr(c, 1, 2) == "-\t"
}

function push(ind, kind, p) {
	sp++
	st_ind[sp] = ind
	st_kind[sp] = kind
	st_path[sp] = p
	st_n[sp] = 0
	mkdirp(p)
}

function block_start(p, v, ind,   h, d) {
	h = v
	sub(/[ \t]+#.*$/, "", h)
	h = rtrim(h)
	if (h !~ /^[|>][-+]?[1-9]?$/ && h !~ /^[|>][1-9][-+]$/) {
		warn("bad block scalar header '" h "'")
	}
	inblock = 1
	bpath = p
	bparent = ind
	bfold = substr(h, 1, 1) == ">"
	bchomp = h ~ /-/ ? "strip" : (h ~ /\+/ ? "keep" : "clip")
	d = h
	gsub(/[^1-9]/, "", d)
	bind = d != "" ? ind + d : 0
	bn = 0
}

# Takes line into the open block scalar; 0 when the line ends the block
# (the caller then parses it as usual).
function block_line(line,   i) {
	if (line ~ /^[ ]*$/) {
		bl[++bn] = (bind && length(line) > bind) ? substr(line, bind + 1) : ""
		return 1
	}
	match(line, /^ */)
	i = RLENGTH
	if (!bind) {
		if (i <= bparent) {
			block_end()
			return 0
		}
		bind = i
	}
	if (i < bind) {
		block_end()
		return 0
	}
	bl[++bn] = substr(line, bind + 1)
	return 1
}

function block_end(   n, i, text) {
	n = bn
	while (n > 0 && bl[n] == "")
		n--
	text = ""
	for (i = 1; i <= n; i++) {
		if (!bfold)
			text = text bl[i] "\n"
		else if (i == 1)
			text = bl[i] == "" ? "\n" : bl[i]
		else if (bl[i] == "")
			text = text "\n"
		else if (bl[i - 1] == "")
			text = text bl[i]
		else if (bl[i] ~ /^[ \t]/ || bl[i - 1] ~ /^[ \t]/)
			text = text "\n" bl[i]
		else
			text = text " " bl[i]
	}
	if (bfold && n > 0)
		text = text "\n"
	if (n > 0 && bchomp == "strip")
		text = substr(text, 1, length(text) - 1)
	if (bchomp == "keep")
		for (i = n + 1; i <= bn; i++)
			text = text "\n"
	put(bpath, text)
	inblock = 0
	bn = 0
}

function value(p, v, ind) {
	if (v ~ /^[|>]/)
		block_start(p, v, ind)
	else if (v ~ /^\[/)
		flow_seq(p, v)
	else if (v ~ /^\{/)
		flow_map(p, v)
	else
		put(p, scalar(v))
}

# Parses the content c of a line indented by ind.
function node(ind, c,   p, rest, col, n) {
	if (pend != "") {
		if (is_item(c) && ind >= pend_ind)
			push(ind, "seq", pend)
		else if (ind > pend_ind)
			push(ind, "map", pend)
		else
			put(pend, "")
		pend = ""
	}
	while (sp > 0 && (st_ind[sp] > ind || (st_ind[sp] == ind && st_kind[sp] == "seq" && !is_item(c))))
		sp--
	if (sp == 0)
		push(ind, "map", out)
	if (st_ind[sp] != ind) {
		warn("unexpected indentation (multi-line scalars are not supported)")
		return
	}
	if (st_kind[sp] == "seq") {
		n = ++st_n[sp]
		p = st_path[sp] "/" sprintf("%04d", n)
		rest = substr(c, 2)
		match(rest, /^[ \t]*/)
		col = ind + 1 + RLENGTH
		rest = substr(rest, RLENGTH + 1)
		if (rest == "" || rest ~ /^#/) {
			pend = p
			pend_ind = ind
		} else if (is_item(rest)) {
			push(col, "seq", p)
			node(col, rest)
		} else if (splitkey(rest)) {
			push(col, "map", p)
			node(col, rest)
		} else
			value(p, rest, ind)
		return
	}
	if (!splitkey(c)) {
		warn("expected key: value")
		return
	}
	p = st_path[sp] "/" sanitize(KEY)
	if (VAL == "" || VAL ~ /^#/) {
		pend = p
		pend_ind = ind
		return
	}
	value(p, VAL, ind)
}

BEGIN {
	if (out == "") {
		print "cloud-yaml: usage: awk -v out=DIR -f cloud-yaml.awk FILE" > "/dev/stderr"
		exit 2
	}
	sp = 0
	pend = ""
	inblock = 0
	mkdirp(out)
}

{
	line = $0
	sub(/\r$/, "", line)
	if (inblock && block_line(line))
		next
	if (line ~ /^[ ]*(#.*)?$/ || line ~ /^(---|\.\.\.)([ \t].*)?$/ || line ~ /^[ ]*[{}],?[ ]*$/)
		next
	if (line ~ /^ *\t/) {
		warn("tabs as indentation are not supported")
		next
	}
	match(line, /^ */)
	node(RLENGTH, substr(line, RLENGTH + 1))
}

END {
	if (inblock)
		block_end()
	if (pend != "")
		put(pend, "")
}
