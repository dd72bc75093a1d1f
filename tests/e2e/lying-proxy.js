#!/usr/bin/env node
// A lying HTTP proxy in front of a real registry, for skiff's e2e tests and
// benchmarks.  It forwards every request to --target (the Host header kept,
// so the registry's Location headers point back at the proxy) and, when a
// rule of the control file matches, lies in the way the rule says.
//
//   node lying-proxy.js --target http://127.0.0.1:5000 [--port 0]
//        [--port-file FILE] [--control FILE] [--log FILE]
//
// --port 0 (the default) binds a free port on 127.0.0.1; the chosen port is
// written to --port-file (atomically) and printed on stdout.
//
// The control file (JSON, re-read whenever it changes; missing = no rules):
//   {"rules": [{"method": "GET", "path": "/blobs/sha256:", "times": 1,
//               "action": "drop", ...}, ...]}
// A rule matches a request whose method equals "method" (any when absent)
// and whose path contains "path" (a plain substring).  "times" (default:
// always) counts how often it applies; counts restart when the file changes.
// The first matching rule that still has uses applies.  Actions:
//   corrupt       {"offset": N}        flip the bits of body byte N
//   truncate      {"bytes": N}         send only the first N body bytes, with
//                                      a Content-Length saying so (a
//                                      well-formed but short answer)
//   drop          {"percent": P}       send P % of the body (of the
//                                      Content-Length promised), then close
//                                      the connection mid-transfer
//   content-type  {"value": "..."}     replace the Content-Type header
//   digest        {"value": "..."}     replace Docker-Content-Digest
//   inflate       {"bytes": N}         pad the body with trailing spaces to
//                                      at least N bytes (JSON stays valid)
//   status        {"status": 503, "retry_after": "1"}  answer this status
//                                      (and Retry-After) without forwarding;
//                 {"body": "...", "content_type": "application/xml"} replace
//                                      the registry-style JSON error body
//   redirect      {"location": "file:///etc/passwd", "status": 307}
//   delay         {"ms": N}            wait N ms, then forward
//   location      {"origin": "http://127.0.0.1:N"}  point the Location
//                                      header at another host (path kept)
//   header        {"name": "range", "value": "0-5"}  set a header of the
//                                      answer ("value": null removes it)
//
// Every request is logged as one JSON line to --log when it ends: t0 and t1
// (when it came and ended, ms since the epoch), method, path, range,
// status, action, bytes (body bytes sent to the client), up (request body
// bytes forwarded to the registry), auth (whether the request carried an
// Authorization header).

'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

function parseArgs(argv) {
  const opts = { port: 0, portFile: null, control: null, log: null, target: null };
  const names = { '--target': 'target', '--port': 'port', '--port-file': 'portFile',
                  '--control': 'control', '--log': 'log' };
  for (let i = 2; i < argv.length; i++) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`bad argument '${argv[i]}'`);
    opts[key] = argv[++i];
  }
  if (!opts.target) throw new Error('missing --target');
  opts.target = new URL(opts.target);
  opts.port = Number(opts.port);
  return opts;
}

const opts = parseArgs(process.argv);

// ---------------------------------------------------------------- rules

let control = { text: null, rules: [], used: [] };

function loadRules() {
  if (!opts.control) return;
  let text = '';
  try {
    text = fs.readFileSync(opts.control, 'utf8');
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  if (text === control.text) return;
  let rules = [];
  if (text.trim() !== '') rules = JSON.parse(text).rules || [];
  control = { text, rules, used: rules.map(() => 0) };
}

function pickRule(req) {
  try {
    loadRules();
  } catch (e) {
    process.stderr.write(`lying-proxy: control file: ${e.message}\n`);
    return null;
  }
  for (let i = 0; i < control.rules.length; i++) {
    const r = control.rules[i];
    if (r.method && r.method !== req.method) continue;
    if (r.path && !req.url.includes(r.path)) continue;
    if (r.times !== undefined && control.used[i] >= r.times) continue;
    control.used[i]++;
    return r;
  }
  return null;
}

// ---------------------------------------------------------------- log

function logLine(entry) {
  if (!opts.log) return;
  entry.t1 = Date.now();
  fs.appendFileSync(opts.log, JSON.stringify(entry) + '\n');
}

// ---------------------------------------------------------------- answers

function answerDirectly(req, res, rule, entry) {
  if (rule.action === 'status') {
    const headers = { 'Content-Type': rule.content_type || 'application/json' };
    if (rule.retry_after !== undefined) headers['Retry-After'] = String(rule.retry_after);
    const body = rule.body !== undefined ? String(rule.body)
      : JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'the lying proxy says no' }] });
    res.writeHead(rule.status || 503, headers);
    res.end(body);
    entry.status = rule.status || 503;
    entry.bytes = body.length;
  } else {
    res.writeHead(rule.status || 307, { Location: rule.location, 'Content-Length': '0' });
    res.end();
    entry.status = rule.status || 307;
  }
  logLine(entry);
}

// Headers of the upstream answer as the client will see them.
function rewriteHeaders(up, rule) {
  const headers = Object.assign({}, up.headers);
  if (!rule) return headers;
  if (rule.action === 'content-type') headers['content-type'] = rule.value;
  if (rule.action === 'digest') headers['docker-content-digest'] = rule.value;
  if (rule.action === 'truncate' && headers['content-length'] !== undefined)
    headers['content-length'] = String(Math.min(Number(headers['content-length']), rule.bytes));
  if (rule.action === 'inflate') delete headers['content-length'];
  if (rule.action === 'location' && headers.location) {
    const where = new URL(headers.location, 'http://placeholder');
    headers.location = rule.origin + where.pathname + where.search;
  }
  if (rule.action === 'header') {
    if (rule.value === null) delete headers[rule.name.toLowerCase()];
    else headers[rule.name.toLowerCase()] = rule.value;
  }
  return headers;
}

// Streams the upstream body to the client, applying a body-changing rule.
function relayBody(up, res, rule, entry) {
  const promised = Number(up.headers['content-length'] || 0);
  let limit = Infinity;
  if (rule && rule.action === 'truncate') limit = rule.bytes;
  if (rule && rule.action === 'drop') limit = Math.floor(promised * rule.percent / 100);
  let sent = 0;
  let finished = false;
  const finish = (how) => {
    if (finished) return;
    finished = true;
    entry.bytes = sent;
    entry.end = how;
    logLine(entry);
  };
  up.on('data', (chunk) => {
    if (finished) return;
    if (rule && rule.action === 'corrupt' && rule.offset >= sent && rule.offset < sent + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[rule.offset - sent] ^= 0xff;
    }
    if (sent + chunk.length >= limit) {
      chunk = chunk.subarray(0, limit - sent);
      sent += chunk.length;
      up.destroy();
      if (rule.action === 'drop') {
        res.write(chunk, () => res.socket && res.socket.destroy());
        finish('dropped');
      } else {
        res.end(chunk);
        finish('truncated');
      }
      return;
    }
    sent += chunk.length;
    if (!res.write(chunk)) {
      up.pause();
      res.once('drain', () => up.resume());
    }
  });
  up.on('end', () => {
    if (finished) return;
    if (rule && rule.action === 'inflate') {
      const pad = Math.max(0, rule.bytes - sent);
      // Written in pieces: the padding may be tens of MiB.
      const piece = Buffer.alloc(Math.min(pad, 1 << 20), 0x20);
      for (let left = pad; left > 0; left -= piece.length) res.write(left >= piece.length ? piece : piece.subarray(0, left));
      sent += pad;
    }
    res.end();
    finish('complete');
  });
  up.on('error', () => { res.destroy(); finish('upstream-error'); });
  res.on('close', () => { up.destroy(); finish('client-closed'); });
}

function forward(req, res, rule, entry) {
  const up = http.request({
    host: opts.target.hostname,
    port: opts.target.port,
    method: req.method,
    path: req.url,
    headers: req.headers,
  }, (upRes) => {
    entry.status = upRes.statusCode;
    res.writeHead(upRes.statusCode, rewriteHeaders(upRes, rule));
    relayBody(upRes, res, rule, entry);
  });
  up.on('error', (e) => {
    entry.status = 502;
    entry.error = e.message;
    logLine(entry);
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end('upstream: ' + e.message);
  });
  req.on('data', (chunk) => { entry.up += chunk.length; });
  req.pipe(up);
}

const server = http.createServer((req, res) => {
  const rule = pickRule(req);
  const entry = { t0: Date.now(), method: req.method, path: req.url, range: req.headers.range || null,
                  action: rule ? rule.action : null, status: 0, bytes: 0, up: 0,
                  auth: req.headers.authorization !== undefined };
  if (rule && (rule.action === 'status' || rule.action === 'redirect')) {
    req.resume();
    answerDirectly(req, res, rule, entry);
    return;
  }
  if (rule && rule.action === 'delay') {
    req.pause();
    setTimeout(() => forward(req, res, null, entry), rule.ms);
    return;
  }
  forward(req, res, rule, entry);
});
server.keepAliveTimeout = 30000;

server.listen(opts.port, '127.0.0.1', () => {
  const port = server.address().port;
  if (opts.portFile) {
    const tmp = path.join(path.dirname(opts.portFile), `.${path.basename(opts.portFile)}.tmp`);
    fs.writeFileSync(tmp, `${port}\n`);
    fs.renameSync(tmp, opts.portFile);
  }
  process.stdout.write(`${port}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
