#!/usr/bin/env node
// A small token server for the distribution registry's `auth.token` mode, for
// end-to-end tests only.  Built-in modules only.
//
//   node token-server.js --key KEY.pem --cert CERT.pem --issuer ISS
//        --service SVC --user USER [--password PASS] [--anonymous-pull]
//        [--user-actions pull,push] [--expires-in SECONDS]
//        [--port N] [--port-file FILE] [--log FILE]
//
// The password may also come from $TOKEN_SERVER_PASSWORD (keeps it out of ps).
// --port 0 (the default) binds a free port on 127.0.0.1; the chosen port is
// written to --port-file (atomically) and printed on stdout.
//
// GET  /token?service=S&scope=repository:a/b:pull,push[&scope=...]
//      No Authorization: anonymous, granted pull only with --anonymous-pull.
//      Authorization: Basic with the right user and password: the requested
//      actions (limited to --user-actions when given).  Wrong ones: 401.
//      offline_token=true with credentials also returns a refresh_token.
// POST /token  (OAuth2 form: grant_type=password|refresh_token, username,
//      password, refresh_token, service, scope, access_type=offline)
//
// Every request is logged as one JSON line to --log: time, method, grant,
// user, service, scopes, granted access and the HTTP status.

'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

function parseArgs(argv) {
  const opts = {
    port: 0, expiresIn: 300, anonymousPull: false, userActions: null,
    password: process.env.TOKEN_SERVER_PASSWORD,
  };
  const names = {
    '--key': 'key', '--cert': 'cert', '--issuer': 'issuer', '--service': 'service',
    '--user': 'user', '--password': 'password', '--port': 'port',
    '--port-file': 'portFile', '--log': 'log', '--expires-in': 'expiresIn',
    '--user-actions': 'userActions',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--anonymous-pull') {
      opts.anonymousPull = true;
    } else if (names[arg] && i + 1 < argv.length) {
      opts[names[arg]] = argv[++i];
    } else {
      throw new Error(`unknown or incomplete option '${arg}'`);
    }
  }
  for (const required of ['key', 'cert', 'issuer', 'service', 'user', 'password']) {
    if (opts[required] === undefined) throw new Error(`missing option --${required}`);
  }
  opts.port = Number(opts.port);
  opts.expiresIn = Number(opts.expiresIn);
  if (opts.userActions !== null) opts.userActions = opts.userActions.split(',');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const privateKey = crypto.createPrivateKey(fs.readFileSync(opts.key));
const certDer = new crypto.X509Certificate(fs.readFileSync(opts.cert)).raw;
const refreshTokens = new Map();

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

function signJwt(subject, access) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
  const claims = {
    iss: opts.issuer, sub: subject, aud: opts.service,
    exp: now + opts.expiresIn, nbf: now - 10, iat: now,
    jti: crypto.randomBytes(12).toString('hex'), access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

// "type:name:actions"; the name may itself hold a ':' (host:port).
function parseScope(scope) {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return null;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(',').filter((a) => a !== ''),
  };
}

function grantFor(user, scopes) {
  const access = [];
  for (const scope of scopes) {
    let allowed;
    if (user === null) {
      allowed = opts.anonymousPull ? ['pull'] : [];
    } else {
      allowed = opts.userActions === null ? scope.actions : opts.userActions;
    }
    const actions = scope.actions.filter((a) => allowed.includes(a));
    if (actions.length > 0) access.push({ type: scope.type, name: scope.name, actions });
  }
  return access;
}

function splitScopes(values) {
  const scopes = [];
  for (const value of values) {
    for (const part of value.split(' ')) {
      if (part === '') continue;
      const scope = parseScope(part);
      if (scope === null) return null;
      scopes.push(scope);
    }
  }
  return scopes;
}

function basicUser(header) {
  const match = /^Basic\s+(\S+)$/i.exec(header || '');
  if (!match) return { present: false };
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { present: true, user: null };
  return { present: true, user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function credentialsMatch(user, password) {
  const a = crypto.createHash('sha256').update(`${user}\0${password}`).digest();
  const b = crypto.createHash('sha256').update(`${opts.user}\0${opts.password}`).digest();
  return crypto.timingSafeEqual(a, b);
}

function logLine(entry) {
  if (!opts.log) return;
  fs.appendFileSync(opts.log, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
}

function reply(res, status, body, extraHeaders = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...extraHeaders });
  res.end(JSON.stringify(body));
}

function errorBody(code, message) {
  return { errors: [{ code, message }] };
}

// Resolves who is asking: { user } (null for anonymous) or { error }.
function authenticate(req, form) {
  if (form) {
    if (form.get('grant_type') === 'password') {
      const user = form.get('username');
      return credentialsMatch(user || '', form.get('password') || '') ? { user } : { error: 401 };
    }
    if (form.get('grant_type') === 'refresh_token') {
      const user = refreshTokens.get(form.get('refresh_token') || '');
      return user === undefined ? { error: 401 } : { user };
    }
    return { error: 400 };
  }
  const basic = basicUser(req.headers.authorization);
  if (!basic.present) return { user: null };
  if (basic.user === null || !credentialsMatch(basic.user, basic.password)) return { error: 401 };
  return { user: basic.user };
}

function handleToken(req, res, params, form) {
  const entry = { method: req.method, path: req.url, grant: form ? form.get('grant_type') : 'get' };
  const who = authenticate(req, form);
  const service = params.get('service');
  const scopes = splitScopes(params.getAll('scope'));
  entry.user = who.user === undefined ? null : who.user;
  entry.service = service;
  entry.scopes = params.getAll('scope');
  let status;
  if (who.error) {
    status = who.error;
    reply(res, status, errorBody(status === 401 ? 'UNAUTHORIZED' : 'UNSUPPORTED',
      status === 401 ? 'invalid credentials' : 'unsupported grant_type'),
    status === 401 ? { 'WWW-Authenticate': 'Basic realm="skiff-test-token"' } : {});
  } else if (service !== opts.service) {
    status = 400;
    reply(res, status, errorBody('INVALID_SERVICE', `unknown service '${service}'`));
  } else if (scopes === null) {
    status = 400;
    reply(res, status, errorBody('INVALID_SCOPE', 'malformed scope'));
  } else {
    status = 200;
    const access = grantFor(who.user, scopes);
    entry.access = access;
    const token = signJwt(who.user === null ? '' : who.user, access);
    const body = { token, access_token: token, expires_in: opts.expiresIn,
      issued_at: new Date().toISOString() };
    const offline = form ? params.get('access_type') === 'offline' : params.get('offline_token') === 'true';
    if (offline && who.user !== null) {
      const refresh = form && form.get('grant_type') === 'refresh_token'
        ? form.get('refresh_token') : crypto.randomBytes(16).toString('hex');
      refreshTokens.set(refresh, who.user);
      body.refresh_token = refresh;
    }
    reply(res, status, body);
  }
  entry.status = status;
  logLine(entry);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/token') {
    logLine({ method: req.method, path: req.url, status: 404 });
    reply(res, 404, errorBody('NOT_FOUND', 'not found'));
    return;
  }
  if (req.method === 'GET') {
    handleToken(req, res, url.searchParams, null);
    return;
  }
  if (req.method !== 'POST') {
    logLine({ method: req.method, path: req.url, status: 405 });
    reply(res, 405, errorBody('UNSUPPORTED', 'method not allowed'));
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    handleToken(req, res, form, form);
  });
});

server.listen(opts.port, '127.0.0.1', () => {
  const port = server.address().port;
  if (opts.portFile) {
    fs.writeFileSync(`${opts.portFile}.tmp`, `${port}\n`);
    fs.renameSync(`${opts.portFile}.tmp`, opts.portFile);
  }
  process.stdout.write(`${port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
