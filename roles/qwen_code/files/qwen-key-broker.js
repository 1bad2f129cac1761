// qwen key broker: a loopback HTTP service between the qwen CLI of unprivileged users and the LLM providers. Users'
// qwen processes hold only a per-user token; the broker checks the token against the kernel's idea of who opened
// the TCP connection (its uid, from /proc/net/tcp), allows only the endpoints the CLI needs, swaps the token for the
// provider's real key and streams the request and the answer through, directly or through an HTTP CONNECT proxy.
//
//   node qwen-key-broker.js serve --config FILE [--listen 127.0.0.1:PORT]   binds itself (or systemd's fd 3 when
//                                                                            LISTEN_FDS=1 and LISTEN_PID is its pid)
//   node qwen-key-broker.js serve --config FILE --inherit                   gets the listening socket from `supervise`
//   node qwen-key-broker.js supervise --config FILE --user ACCOUNT --log FILE --pidfile FILE   (as root, no systemd)
//   node qwen-key-broker.js image-config --out FILE --listen 127.0.0.1:PORT [--ca-file FILE]
//                                 the container image's one route, from its own environment (docs/IMAGE.md)
//   node qwen-key-broker.js wait --listen 127.0.0.1:PORT [--timeout-ms N]   until GET /_broker/health answers
//
// Dependency-free CommonJS for Node 18, 20 and 22. See docs/BROKER.md. It never prints a key, a token, a body or
// proxy credentials.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const os = require('os');
const path = require('path');
const readline = require('readline');
const tls = require('tls');

const PROTOCOLS = ['openai', 'openai-responses', 'anthropic', 'gemini', 'vertex-ai'];
const DEFAULT_LISTEN = { host: '127.0.0.1', port: 1009 };
const DEFAULT_UPSTREAM = { https_proxy: '', http_proxy: '', no_proxy: 'localhost,127.0.0.1', ca_file: '' };
const DEFAULT_LIMITS = {
  max_body_bytes: 8388608, max_streams: 128, max_streams_per_user: 32,
  connect_timeout_ms: 15000, headers_timeout_ms: 60000, idle_timeout_ms: 300000,
};
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'proxy-authenticate', 'proxy-authorization']);
const DROPPED_REQUEST_HEADERS = new Set(['host', 'authorization', 'x-api-key', 'x-goog-api-key', 'cookie',
  'content-length']);
const SHUTDOWN_GRACE_MS = 10000;
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
const LOG_KEEP = 3;

// ---------------------------------------------------------------------------------------------------------------
// Configuration

class ConfigError extends Error {}

function need(cond, field, what) {
  if (!cond) throw new ConfigError(`${field}: ${what}`);
}

function checkKeys(obj, allowed, field) {
  for (const k of Object.keys(obj)) need(allowed.includes(k), `${field}.${k}`, 'unknown field');
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseProxy(value, field) {
  if (value === '') return null;
  let u;
  try { u = new URL(value); } catch (e) { throw new ConfigError(`${field}: not a URL`); }
  need(u.protocol === 'http:', field, 'must be an http:// proxy URL');
  need(u.hostname !== '', field, 'has no host');
  const proxy = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), auth: null };
  if (u.username || u.password) {
    const creds = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    proxy.auth = 'Basic ' + Buffer.from(creds).toString('base64');
  }
  return proxy;
}

function sha256(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The endpoints a route allows: [method, regexp over the path after /<provider>, endpoint name for the log].
function allowList(protocol, basePath) {
  const B = escapeRe(basePath);
  const B1 = escapeRe(basePath.replace(/\/v1$/, ''));
  // A model id: qwen sends ids such as qwen/qwen3-coder as they are (`.` and `..` segments were refused before)
  const M = '[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*';
  const methods = '(generateContent|streamGenerateContent|countTokens)';
  if (protocol === 'openai' || protocol === 'openai-responses') {
    return [
      ['POST', new RegExp(`^${B}/chat/completions$`), () => 'chat/completions'],
      ['POST', new RegExp(`^${B1}/v1/responses$`), () => 'responses'],
      ['GET', new RegExp(`^${B}/models$`), () => 'models'],
      ['GET', new RegExp(`^${B}/models/${M}$`), () => 'models'],
    ];
  }
  if (protocol === 'anthropic') {
    return [
      ['POST', new RegExp(`^${B}/v1/messages$`), () => 'messages'],
      ['POST', new RegExp(`^${B}/v1/messages/count_tokens$`), () => 'count_tokens'],
      ['GET', new RegExp(`^${B}/v1/models$`), () => 'models'],
    ];
  }
  if (protocol === 'gemini') {
    return [
      ['POST', new RegExp(`^${B}/(v1beta|v1)/models/${M}:${methods}$`), (m) => m[2]],
      ['GET', new RegExp(`^${B}/v1beta/models$`), () => 'models'],
    ];
  }
  return [ // vertex-ai, express mode
    // (qwen's SDK sends a model "p/m" as publishers/p/models/m)
    ['POST', new RegExp(`^${B}/(v1beta1|v1)/publishers/(?:google/models/${M}|[A-Za-z0-9._-]+/models/[A-Za-z0-9._-]+):${methods}$`),
      (m) => m[2]],
  ];
}

// The header that carries the real key upstream: [name, value].
function authHeaderFor(protocol, upstreamHost, key) {
  if (protocol === 'gemini' || protocol === 'vertex-ai') return ['x-goog-api-key', key];
  if (protocol === 'anthropic') {
    const host = String(upstreamHost).toLowerCase();
    if (host === 'anthropic.com' || host.endsWith('.anthropic.com')) return ['x-api-key', key];
  }
  return ['authorization', `Bearer ${key}`];
}

function parseRoute(r, i, seen) {
  const f = `routes[${i}]`;
  need(isObject(r), f, 'must be an object');
  checkKeys(r, ['token', 'uid', 'user', 'provider', 'protocol', 'upstream', 'key'], f);
  need(typeof r.token === 'string' && /^[\x21-\x7e]{16,}$/.test(r.token), `${f}.token`,
    'must be a string of at least 16 printable characters');
  const digest = sha256(r.token);
  need(!seen.has(digest), `${f}.token`, 'is the token of an earlier route');
  seen.add(digest);
  need(Number.isInteger(r.uid) && r.uid >= 0, `${f}.uid`, 'must be a non-negative integer');
  need(typeof r.user === 'string' && r.user !== '', `${f}.user`, 'must be a non-empty string');
  need(typeof r.provider === 'string' && /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(r.provider) && r.provider !== '_broker',
    `${f}.provider`, 'must be one path segment of letters, digits, ".", "_" or "-" (not "_broker")');
  need(PROTOCOLS.includes(r.protocol), `${f}.protocol`, `must be one of ${PROTOCOLS.join(', ')}`);
  need(typeof r.key === 'string' && /^[\x21-\x7e]+$/.test(r.key), `${f}.key`,
    'must be a non-empty string of printable characters');
  need(typeof r.upstream === 'string', `${f}.upstream`, 'must be a URL');
  let u;
  try { u = new URL(r.upstream); } catch (e) { throw new ConfigError(`${f}.upstream: not a URL`); }
  need(u.protocol === 'http:' || u.protocol === 'https:', `${f}.upstream`, 'must be an http or https URL');
  need(!u.username && !u.password, `${f}.upstream`, 'must not carry credentials');
  need(!u.search && !u.hash, `${f}.upstream`, 'must have no query or fragment');
  const basePath = u.pathname.replace(/\/+$/, '');
  const https_ = u.protocol === 'https:';
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  return {
    digest, uid: r.uid, user: r.user, provider: r.provider, protocol: r.protocol, key: r.key,
    https: https_, hostname, port: Number(u.port || (https_ ? 443 : 80)), hostHeader: u.host,
    origin: u.origin, basePath, allow: allowList(r.protocol, basePath),
  };
}

function parseConfig(text) {
  let c;
  try { c = JSON.parse(text); } catch (e) { throw new ConfigError('config: not valid JSON'); }
  need(isObject(c), 'config', 'must be a JSON object');
  checkKeys(c, ['version', 'listen', 'upstream', 'limits', 'routes'], 'config');
  need(c.version === 1, 'version', 'must be 1');
  const listen = Object.assign({}, DEFAULT_LISTEN);
  if (c.listen !== undefined) {
    need(isObject(c.listen), 'listen', 'must be an object');
    checkKeys(c.listen, ['host', 'port'], 'listen');
    Object.assign(listen, c.listen);
    need(typeof listen.host === 'string' && net.isIP(listen.host) !== 0, 'listen.host', 'must be an IP address');
    need(Number.isInteger(listen.port) && listen.port > 0 && listen.port < 65536, 'listen.port',
      'must be a port number');
  }
  const upstream = Object.assign({}, DEFAULT_UPSTREAM);
  if (c.upstream !== undefined) {
    need(isObject(c.upstream), 'upstream', 'must be an object');
    checkKeys(c.upstream, Object.keys(DEFAULT_UPSTREAM), 'upstream');
    for (const k of Object.keys(c.upstream)) {
      need(typeof c.upstream[k] === 'string', `upstream.${k}`, 'must be a string');
      upstream[k] = c.upstream[k];
    }
  }
  const limits = Object.assign({}, DEFAULT_LIMITS);
  if (c.limits !== undefined) {
    need(isObject(c.limits), 'limits', 'must be an object');
    checkKeys(c.limits, Object.keys(DEFAULT_LIMITS), 'limits');
    for (const k of Object.keys(c.limits)) {
      need(Number.isInteger(c.limits[k]) && c.limits[k] > 0, `limits.${k}`, 'must be a positive integer');
      limits[k] = c.limits[k];
    }
  }
  need(Array.isArray(c.routes), 'routes', 'must be a list');
  const seen = new Set();
  const routes = new Map();
  c.routes.forEach((r, i) => {
    const route = parseRoute(r, i, seen);
    routes.set(route.digest, route);
  });
  const httpsProxy = parseProxy(upstream.https_proxy, 'upstream.https_proxy');
  const httpProxy = parseProxy(upstream.http_proxy, 'upstream.http_proxy');
  const noProxy = upstream.no_proxy.split(',').map((e) => e.trim().toLowerCase()).filter((e) => e !== '')
    .map((e) => e.replace(/^\*?\./, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, ''));
  return { listen, limits, routes, httpsProxy, httpProxy, noProxy, caFile: upstream.ca_file };
}

function bypassesProxy(noProxy, host) {
  const h = host.toLowerCase();
  return noProxy.some((e) => e === '*' || h === e || h.endsWith('.' + e));
}

// A loaded configuration with its agents (one set per load: a reload never changes a running request's transport).
function loadConfig(file) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
    throw new ConfigError(`config: cannot read ${file}: ${e.code || 'error'}`);
  }
  const cfg = parseConfig(text);
  let ca;
  if (cfg.caFile) {
    let extra;
    try { extra = fs.readFileSync(cfg.caFile, 'utf8'); } catch (e) {
      throw new ConfigError(`upstream.ca_file: cannot read ${cfg.caFile}: ${e.code || 'error'}`);
    }
    ca = [...tls.rootCertificates, extra];
  }
  cfg.ca = ca;
  const agentOpts = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 64, scheduling: 'lifo' };
  cfg.agents = {
    http: new http.Agent(agentOpts),
    https: new https.Agent(Object.assign({ ca, rejectUnauthorized: true }, agentOpts)),
    httpProxy: cfg.httpProxy ? new http.Agent(agentOpts) : null,
    httpsProxy: cfg.httpsProxy ? new TunnelAgent(cfg.httpsProxy, ca, cfg.limits, agentOpts) : null,
  };
  return cfg;
}

// HTTPS through an HTTP CONNECT proxy: the tunnel, then TLS to the upstream inside it.
class TunnelAgent extends https.Agent {
  constructor(proxy, ca, limits, opts) {
    super(Object.assign({ ca, rejectUnauthorized: true }, opts));
    this.proxy = proxy;
    this.tunnelCa = ca;
    this.limits = limits;
  }

  createConnection(options, callback) {
    const target = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    const headers = { host: target };
    if (this.proxy.auth) headers['proxy-authorization'] = this.proxy.auth;
    const connectReq = http.request({
      host: this.proxy.host, port: this.proxy.port, method: 'CONNECT', path: target, headers, agent: false,
    });
    let done = false;
    const finish = (err, sock) => {
      if (done) return;
      done = true;
      callback(err, sock);
    };
    connectReq.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        const e = new Error(`proxy ${this.proxy.host}:${this.proxy.port} refused the tunnel: ${res.statusCode}`);
        e.code = 'EPROXY';
        return finish(e);
      }
      if (head && head.length) socket.unshift(head);
      const servername = net.isIP(options.host) ? undefined : options.host;
      const secure = tls.connect({ socket, servername, ca: this.tunnelCa, rejectUnauthorized: true,
        ALPNProtocols: ['http/1.1'] });
      secure.once('secureConnect', () => finish(null, secure));
      secure.once('error', (e) => finish(e));
    });
    connectReq.once('error', (e) => {
      const err = new Error(`proxy ${this.proxy.host}:${this.proxy.port}: ${e.code || e.message}`);
      err.code = e.code || 'EPROXY';
      finish(err);
    });
    connectReq.end();
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The peer's uid, from the kernel's table of TCP sockets

// An address as /proc/net/tcp{,6} prints it: the address's 32-bit words in host byte order, each as %08X.
function procHex(address) {
  let bytes;
  if (net.isIPv4(address)) {
    bytes = address.split('.').map(Number);
  } else {
    bytes = [];
    const full = expandIPv6(address);
    for (const group of full) bytes.push(group >> 8, group & 0xff);
  }
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let word = bytes.slice(i, i + 4);
    if (os.endianness() === 'LE') word = word.reverse();
    out += word.map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return out.toUpperCase();
}

function expandIPv6(address) {
  let a = address;
  let tail = [];
  const v4 = a.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    a = a.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = a.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest !== undefined ? new Array(8 - h.length - r.length).fill('0') : [];
  const groups = [...h, ...fill, ...r].map((g) => parseInt(g, 16));
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

function procEntry(address, port) {
  return `${procHex(address)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

// Where to look for the socket whose local end is (clientAddr, clientPort) and remote end (serverAddr, serverPort):
// [[file, local, remote], ...].
function peerCandidates(clientAddr, clientPort, serverAddr, serverPort) {
  const candidates = [];
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;
  const c4 = clientAddr.match(mapped);
  const s4 = serverAddr.match(mapped);
  if (net.isIPv4(clientAddr) || (c4 && s4)) {
    const c = c4 ? c4[1] : clientAddr;
    const s = s4 ? s4[1] : serverAddr;
    candidates.push(['/proc/net/tcp', procEntry(c, clientPort), procEntry(s, serverPort)]);
    candidates.push(['/proc/net/tcp6', procEntry('::ffff:' + c, clientPort), procEntry('::ffff:' + s, serverPort)]);
  } else {
    candidates.push(['/proc/net/tcp6', procEntry(clientAddr, clientPort), procEntry(serverAddr, serverPort)]);
  }
  return candidates;
}

// The uid column of the line local -> remote in a table's text, or null.
function uidIn(text, local, remote) {
  const at = text.indexOf(` ${local} ${remote} `);
  if (at < 0) return null;
  const lineEnd = text.indexOf('\n', at);
  const fields = text.slice(at, lineEnd < 0 ? undefined : lineEnd).trim().split(/\s+/);
  const uid = Number(fields[6]); // local rem st tx:rx tr:when retrnsmt uid ...
  return fields[6] !== undefined && Number.isInteger(uid) ? uid : null;
}

// The kernel generates /proc/net/tcp about a page per read() and the table grows with every socket (TIME_WAIT ones
// too), so one read can take milliseconds on a busy host. Lookups are batched: every connection whose first request
// arrives in the same turn of the event loop is answered from one read of each table.
const peerWaiters = [];
let peerScheduled = false;

function readTable(file) {
  try { return fs.readFileSync(file, 'latin1'); } catch (e) { return ''; }
}

function peerRound() {
  peerScheduled = false;
  const batch = peerWaiters.splice(0);
  const cache = {};
  for (const [candidates, cb] of batch) {
    let uid = null;
    for (const [file, local, remote] of candidates) {
      if (cache[file] === undefined) cache[file] = readTable(file);
      uid = uidIn(cache[file], local, remote);
      if (uid !== null) break;
    }
    cb(uid);
  }
}

// Calls cb with the uid owning the client's end of socket (an accepted connection), or null.
function peerUidOf(socket, cb) {
  if (!socket.remoteAddress || !socket.localAddress) { cb(null); return; }
  peerWaiters.push([peerCandidates(socket.remoteAddress, socket.remotePort, socket.localAddress, socket.localPort),
    cb]);
  if (!peerScheduled) {
    peerScheduled = true;
    setImmediate(peerRound);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Serving

function log(obj) {
  process.stdout.write(JSON.stringify(Object.assign({ ts: new Date().toISOString() }, obj)) + '\n');
}

function brokerError(message) {
  return JSON.stringify({ error: { message: `qwen key broker: ${message}`, type: 'broker_error' } });
}

// Path checks before any matching: refuse what a normaliser would rewrite.
function badPath(p) {
  if (/[\x00-\x1f\x7f\\]/.test(p)) return 'control character or backslash in the path';
  if (/%(2f|5c|2e)/i.test(p)) return 'encoded "/", "\\" or "." in the path';
  const segments = p.split('/').slice(1);
  for (const s of segments) {
    if (s === '') return 'empty segment in the path';
    if (s === '.' || s === '..') return 'dot segment in the path';
  }
  return null;
}

function tokenOf(req, query) {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = auth.match(/^\s*Bearer\s+(\S+)\s*$/i);
    if (m) return m[1];
  }
  for (const h of ['x-api-key', 'x-goog-api-key']) {
    const v = req.headers[h];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name === 'key' && eq >= 0) {
      try { return decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' ')); } catch (e) { return null; }
    }
  }
  return null;
}

function stripKeyParam(query) {
  const kept = query.split('&').filter((part) => {
    if (part === '') return false;
    const eq = part.indexOf('=');
    return (eq < 0 ? part : part.slice(0, eq)) !== 'key';
  });
  return kept.length ? '?' + kept.join('&') : '';
}

class Broker {
  constructor(configFile, cfg) {
    this.configFile = configFile;
    this.cfg = cfg;
    this.active = 0;
    this.perUid = new Map();
    this.stopping = false;
    this.server = http.createServer({ noDelay: true, connectionsCheckingInterval: 500 },
      (req, res) => this.handle(req, res));
    this.applyServerLimits();
    this.server.on('connection', (socket) => socket.setNoDelay(true));
  }

  applyServerLimits() {
    this.server.requestTimeout = 0;
    this.server.headersTimeout = this.cfg.limits.headers_timeout_ms;
    this.server.keepAliveTimeout = 30000;
    this.server.timeout = 0;
  }

  reload() {
    let cfg;
    try {
      cfg = loadConfig(this.configFile);
    } catch (e) {
      log({ event: 'reload', ok: false, error: e instanceof ConfigError ? e.message : 'cannot load the config',
        routes: this.cfg.routes.size });
      return;
    }
    this.cfg = cfg;
    this.applyServerLimits();
    log({ event: 'reload', ok: true, routes: cfg.routes.size });
  }

  shutdown() {
    if (this.stopping) return;
    this.stopping = true;
    log({ event: 'stop', active: this.active });
    this.server.close();
    if (typeof this.server.closeIdleConnections === 'function') this.server.closeIdleConnections();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    const check = () => {
      if (this.active === 0 || Date.now() >= deadline) process.exit(0);
      setTimeout(check, 100);
    };
    check();
  }

  handle(req, res) {
    const started = process.hrtime.bigint();
    const cfg = this.cfg; // this request's config, whatever a reload does meanwhile
    const entry = { user: null, uid: null, provider: null, endpoint: null, method: req.method, status: null,
      bytes_in: 0, bytes_out: 0 };
    let counted = null;
    res.on('close', () => {
      if (counted !== null) {
        this.active -= 1;
        const n = this.perUid.get(counted) - 1;
        if (n <= 0) this.perUid.delete(counted); else this.perUid.set(counted, n);
      }
      entry.status = res.headersSent ? res.statusCode : entry.status;
      entry.ms = Number(process.hrtime.bigint() - started) / 1e6;
      entry.ms = Math.round(entry.ms * 10) / 10;
      log(entry);
    });
    const refuse = (status, message, reason) => {
      entry.reason = reason || message;
      if (res.headersSent) { res.destroy(); return; }
      const body = brokerError(message);
      const hdrs = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      if (status === 413) hdrs.connection = 'close';
      res.writeHead(status, hdrs);
      res.end(body);
      req.resume();
    };

    const url = req.url || '';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    if (rawPath === '/_broker/health' && req.method === 'GET') {
      entry.endpoint = 'health';
      const body = JSON.stringify({ ok: true, routes: cfg.routes.size });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const token = tokenOf(req, query);
    const route = token ? cfg.routes.get(sha256(token)) : undefined;
    if (!route) return refuse(401, 'missing or unknown broker token', token ? 'unknown token' : 'no token');
    entry.user = route.user;
    entry.provider = route.provider;

    const socket = req.socket;
    const go = () => this.checked(req, res, cfg, route, rawPath, query, entry, refuse, (n) => { counted = n; });
    if (socket.qwbPeerUid === undefined) {
      peerUidOf(socket, (uid) => {
        socket.qwbPeerUid = uid; // cached for the connection's next requests (keep-alive)
        if (!socket.destroyed) go();
      });
      return;
    }
    go();
  }

  // The rest of a request's checks, once the peer's uid is known.
  checked(req, res, cfg, route, rawPath, query, entry, refuse, count) {
    const socket = req.socket;
    entry.uid = socket.qwbPeerUid;
    if (socket.qwbPeerUid === null || socket.qwbPeerUid !== route.uid) {
      return refuse(403, 'token not valid for this account',
        socket.qwbPeerUid === null ? 'peer uid unknown' : 'uid mismatch');
    }
    const slash = rawPath.indexOf('/', 1);
    const first = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
    if (first !== route.provider) return refuse(403, `token not valid for provider "${first}"`, 'provider mismatch');
    const rest = slash < 0 ? '' : rawPath.slice(slash);
    const bad = badPath(rest);
    if (bad) return refuse(400, bad, 'bad path');
    let endpoint = null;
    for (const [method, re, name] of route.allow) {
      const m = method === req.method && rest.match(re);
      if (m) { endpoint = name(m); break; }
    }
    if (endpoint === null) {
      return refuse(403, `${req.method} ${rest || '/'} is not an endpoint allowed by the broker`,
        'endpoint not allowed');
    }
    entry.endpoint = endpoint;

    const limits = cfg.limits;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limits.max_body_bytes) {
      return refuse(413, `request body over ${limits.max_body_bytes} bytes`, 'body too large');
    }
    const mine = this.perUid.get(route.uid) || 0;
    if (this.active >= limits.max_streams) return refuse(429, 'too many concurrent requests', 'max_streams');
    if (mine >= limits.max_streams_per_user) {
      return refuse(429, 'too many concurrent requests for this account', 'max_streams_per_user');
    }
    count(route.uid);
    this.active += 1;
    this.perUid.set(route.uid, mine + 1);
    this.forward(req, res, cfg, route, rest + stripKeyParam(query), entry, refuse);
  }

  forward(req, res, cfg, route, target, entry, refuse) {
    const limits = cfg.limits;
    const headers = {};
    const connectionListed = new Set(String(req.headers.connection || '').toLowerCase().split(',')
      .map((s) => s.trim()));
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || DROPPED_REQUEST_HEADERS.has(lower) || connectionListed.has(lower)) continue;
      if (headers[name] === undefined) headers[name] = req.rawHeaders[i + 1];
      else headers[name] = [].concat(headers[name], req.rawHeaders[i + 1]);
    }
    if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
    const [authName, authValue] = authHeaderFor(route.protocol, route.hostname, route.key);
    headers[authName] = authValue;
    headers.host = route.hostHeader;

    const opts = { method: req.method, headers, host: route.hostname, port: route.port, path: target };
    let transport = http;
    const useProxy = !bypassesProxy(cfg.noProxy, route.hostname);
    let via = '';
    if (route.https) {
      transport = https;
      if (cfg.httpsProxy && useProxy) {
        opts.agent = cfg.agents.httpsProxy;
        via = ` via proxy ${cfg.httpsProxy.host}:${cfg.httpsProxy.port}`;
      } else {
        opts.agent = cfg.agents.https;
      }
      opts.servername = net.isIP(route.hostname) ? undefined : route.hostname;
    } else if (cfg.httpProxy && useProxy) {
      opts.agent = cfg.agents.httpProxy;
      opts.host = cfg.httpProxy.host;
      opts.port = cfg.httpProxy.port;
      opts.path = route.origin + target;
      if (cfg.httpProxy.auth) headers['proxy-authorization'] = cfg.httpProxy.auth;
      via = ` via proxy ${cfg.httpProxy.host}:${cfg.httpProxy.port}`;
    } else {
      opts.agent = cfg.agents.http;
    }
    const where = `${route.hostname}${via}`;

    let phase = 'connect';
    let cause = null;
    let timer = null;
    let last = Date.now();
    const touch = () => { last = Date.now(); };
    const clear = () => { if (timer) clearTimeout(timer); timer = null; };
    const upReq = transport.request(opts);
    const fail = (status, message) => {
      clear();
      entry.error = message;
      if (!res.headersSent) refuse(status, message, 'upstream');
      else res.destroy();
      upReq.destroy();
      req.destroy();
    };
    const arm = (ms, what) => {
      clear();
      timer = setTimeout(() => {
        cause = what;
        fail(504, `upstream ${where}: ${what}`);
      }, ms);
    };
    const idle = () => {
      clear();
      const wait = limits.idle_timeout_ms - (Date.now() - last);
      if (wait > 0) { timer = setTimeout(idle, wait); return; }
      entry.error = 'idle timeout';
      res.destroy();
      upReq.destroy();
    };
    arm(limits.connect_timeout_ms, `no connection within ${limits.connect_timeout_ms} ms`);
    const connected = () => {
      if (phase !== 'connect') return;
      phase = 'headers';
      arm(limits.headers_timeout_ms, `no response headers within ${limits.headers_timeout_ms} ms`);
    };
    upReq.on('socket', (s) => {
      s.setNoDelay(true);
      if (!s.connecting && !s.pending) { connected(); return; }
      s.once(s instanceof tls.TLSSocket && route.https ? 'secureConnect' : 'connect', connected);
    });
    upReq.on('error', (e) => {
      if (cause) return;
      cause = 'error';
      if (res.headersSent) {
        entry.error = `upstream ${where} broke off: ${e.code || 'error'}`;
        res.destroy();
        return;
      }
      const msg = String(e.message).startsWith('proxy ') ? e.message : (e.code || 'error');
      fail(502, `cannot reach upstream ${where}: ${msg}`);
    });
    upReq.on('response', (upRes) => {
      phase = 'streaming';
      touch();
      idle();
      const out = [];
      const listed = new Set(String(upRes.headers.connection || '').toLowerCase().split(',').map((s) => s.trim()));
      for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
        const lower = upRes.rawHeaders[i].toLowerCase();
        if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
        out.push(upRes.rawHeaders[i], upRes.rawHeaders[i + 1]);
      }
      res.writeHead(upRes.statusCode, upRes.statusMessage, out);
      if (typeof res.flushHeaders === 'function') res.flushHeaders();
      upRes.on('data', (chunk) => {
        touch();
        entry.bytes_out += chunk.length;
        if (!res.write(chunk)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => {
        clear();
        if (!upRes.complete) {
          entry.error = `upstream ${where} closed mid-stream`;
          res.destroy();
          return;
        }
        res.end();
      });
      upRes.on('aborted', () => {
        clear();
        entry.error = `upstream ${where} closed mid-stream`;
        res.destroy();
      });
      upRes.on('error', () => {
        clear();
        entry.error = `upstream ${where} closed mid-stream`;
        res.destroy();
      });
    });
    res.on('close', () => {
      clear();
      if (!res.writableFinished) upReq.destroy();
    });

    req.on('data', (chunk) => {
      touch();
      entry.bytes_in += chunk.length;
      if (entry.bytes_in > limits.max_body_bytes) {
        cause = 'too large';
        fail(413, `request body over ${limits.max_body_bytes} bytes`);
        return;
      }
      if (!upReq.write(chunk)) {
        req.pause();
        upReq.once('drain', () => req.resume());
      }
    });
    req.on('end', () => upReq.end());
    req.on('aborted', () => upReq.destroy());
  }
}

function listenOnSystemdFd(server) {
  const fds = process.env.LISTEN_FDS;
  const pid = process.env.LISTEN_PID;
  if (fds === undefined || pid === undefined) return false;
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDNAMES;
  if (Number(pid) !== process.pid) return false;
  if (fds !== '1') {
    process.stderr.write(`qwen key broker: LISTEN_FDS=${fds}: expected exactly one socket\n`);
    process.exit(2);
  }
  server.listen({ fd: 3 });
  return true;
}

function serve(args) {
  let cfg;
  try {
    cfg = loadConfig(args.config);
  } catch (e) {
    process.stderr.write(`qwen key broker: bad config: ${e instanceof ConfigError ? e.message : 'cannot load'}\n`);
    process.exit(2);
  }
  const broker = new Broker(args.config, cfg);
  const server = broker.server;
  let how;
  server.on('listening', () => {
    const a = server.address();
    log({ event: 'start', pid: process.pid, listen: a && typeof a === 'object' ? `${a.address}:${a.port}` : how,
      how, routes: cfg.routes.size, node: process.version });
    if (process.send) process.send({ event: 'listening' });
  });
  server.on('error', (e) => {
    process.stderr.write(`qwen key broker: cannot listen: ${e.code || e.message}\n`);
    process.exit(1);
  });
  process.on('SIGHUP', () => broker.reload());
  process.on('SIGTERM', () => broker.shutdown());
  process.on('SIGINT', () => broker.shutdown());
  if (args.inherit) {
    how = 'inherited';
    if (!process.send) {
      process.stderr.write('qwen key broker: --inherit needs an IPC channel (started by supervise)\n');
      process.exit(2);
    }
    process.on('message', (msg, handle) => {
      if (msg === 'listen' && handle && !server.listening) server.listen(handle);
    });
    process.on('disconnect', () => broker.shutdown());
    return;
  }
  if (listenOnSystemdFd(server)) { how = 'systemd'; return; }
  how = 'bind';
  let host = cfg.listen.host;
  let port = cfg.listen.port;
  if (args.listen) {
    const m = args.listen.match(/^\[?([^\]]+?)\]?:(\d+)$/);
    if (!m || net.isIP(m[1]) === 0) {
      process.stderr.write('qwen key broker: --listen must be ADDRESS:PORT\n');
      process.exit(2);
    }
    host = m[1];
    port = Number(m[2]);
  }
  server.listen(port, host);
}

// ---------------------------------------------------------------------------------------------------------------
// Supervising (as root, without systemd)

function accountIds(user) {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch (e) { /* fall through to id(1) */ }
  try {
    const uid = Number(childProcess.execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(childProcess.execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch (e) {
    return null;
  }
}

class RotatingLog {
  constructor(file) {
    this.file = file;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    this.open();
  }

  open() {
    this.fd = fs.openSync(this.file, 'a', 0o640);
    fs.fchmodSync(this.fd, 0o640);
    this.size = fs.fstatSync(this.fd).size;
  }

  write(line) {
    const buf = Buffer.from(line + '\n');
    if (this.size > 0 && this.size + buf.length > LOG_ROTATE_BYTES) this.rotate();
    fs.writeSync(this.fd, buf);
    this.size += buf.length;
  }

  rotate() {
    fs.closeSync(this.fd);
    for (let i = LOG_KEEP - 1; i >= 1; i -= 1) {
      try { fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`); } catch (e) { /* not there yet */ }
    }
    try { fs.renameSync(this.file, `${this.file}.1`); } catch (e) { /* gone */ }
    this.open();
  }
}

function supervise(args) {
  const say = (msg) => process.stderr.write(`qwen key broker supervisor: ${msg}\n`);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) { say('must run as root'); process.exit(2); }
  for (const k of ['config', 'user', 'log', 'pidfile']) {
    if (!args[k]) { say(`--${k} is required`); process.exit(2); }
  }
  const ids = accountIds(args.user);
  if (!ids || !Number.isInteger(ids.uid) || !Number.isInteger(ids.gid)) {
    say(`no account ${args.user}`); process.exit(2);
  }
  if (args.user === 'root' || ids.uid === 0) { say('--user must not be root'); process.exit(2); }
  let cfg;
  try { cfg = loadConfig(args.config); } catch (e) {
    say(`bad config: ${e instanceof ConfigError ? e.message : 'cannot load'}`); process.exit(2);
  }
  const logFile = new RotatingLog(args.log);
  const note = (obj) => logFile.write(JSON.stringify(Object.assign({ ts: new Date().toISOString(),
    source: 'supervisor' }, obj)));

  // The socket is bound here, as root (a port below 1024 no user can take), and handed to each child. The
  // supervisor never accepts on it: with Node's bind-only server handle (what cluster's primary uses) it does not
  // even listen, the child does; without it (an unexpected Node), it listens, sends, and closes its own copy as
  // soon as the child listens, rebinding for the next child.
  const family = net.isIPv6(cfg.listen.host) ? 6 : 4;
  let handle = null;
  if (typeof net._createServerHandle === 'function') {
    const h = net._createServerHandle(cfg.listen.host, cfg.listen.port, family);
    if (typeof h === 'number') {
      say(`cannot bind ${cfg.listen.host}:${cfg.listen.port}: error ${h}`); process.exit(1);
    }
    handle = h;
  }
  note({ event: 'supervisor-start', pid: process.pid, listen: `${cfg.listen.host}:${cfg.listen.port}`,
    user: args.user, routes: cfg.routes.size });

  let child = null;
  let stopping = false;
  // The pidfile says the port is held: it is written once the first child listens, not when the bind succeeds.
  // bind() with SO_REUSEADDR succeeds on a port another socket has bound but not yet listened on, so two
  // supervisors starting at once (containers with --network host) both bind; the second child's listen then fails,
  // and its supervisor exits 1 without a pidfile (the image's entrypoint then tries the next port) instead of
  // sending its clients to the other broker. Later children that fail are restarted.
  let held = false;
  let backoff = 1000;
  let startedAt = 0;
  let restartTimer = null;

  const spawn = (listenHandle) => {
    startedAt = Date.now();
    child = childProcess.fork(__filename, ['serve', '--config', args.config, '--inherit'], {
      uid: ids.uid, gid: ids.gid, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: '/',
      env: { PATH: process.env.PATH || '/usr/bin:/bin', NODE_ENV: 'production' },
    });
    const me = child;
    for (const stream of [me.stdout, me.stderr]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => logFile.write(line));
    }
    me.on('message', (msg) => {
      if (!msg || msg.event !== 'listening') return;
      if (!handle && listenHandle) listenHandle.close();
      if (!held) {
        held = true;
        fs.writeFileSync(args.pidfile, `${process.pid}\n`, { mode: 0o644 });
      }
    });
    me.send('listen', listenHandle);
    note({ event: 'child-start', pid: me.pid });
    me.on('exit', (code, signal) => {
      note({ event: 'child-exit', pid: me.pid, code, signal });
      if (child === me) child = null;
      if (stopping) return finish();
      if (!held) {
        say(`cannot listen on ${cfg.listen.host}:${cfg.listen.port} (taken?), see ${args.log}`);
        note({ event: 'supervisor-stop', error: 'the first child did not listen' });
        process.exit(1);
      }
      const ranFor = Date.now() - startedAt;
      backoff = ranFor < 10000 ? Math.min(backoff * 2, 30000) : 1000;
      const wait = ranFor < 10000 ? backoff / 2 : 1000;
      restartTimer = setTimeout(start, wait);
    });
  };
  const start = () => {
    restartTimer = null;
    if (stopping) return;
    if (handle) { spawn(handle); return; }
    const server = net.createServer({ pauseOnConnect: true });
    server.on('connection', (s) => s.destroy());
    server.once('error', (e) => { note({ event: 'bind-error', error: e.code }); restartTimer = setTimeout(start, 1000); });
    server.listen(cfg.listen.port, cfg.listen.host, () => spawn(server));
  };
  const finish = () => {
    try { fs.unlinkSync(args.pidfile); } catch (e) { /* already gone */ }
    note({ event: 'supervisor-stop' });
    process.exit(0);
  };
  process.on('SIGHUP', () => {
    note({ event: 'sighup' });
    if (child) child.kill('SIGHUP');
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    if (!child) return finish();
    child.kill('SIGTERM');
    setTimeout(() => { if (child) child.kill('SIGKILL'); }, SHUTDOWN_GRACE_MS + 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  start();
}

// ---------------------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { command: argv[0] };
  for (let i = 1; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--inherit') { args.inherit = true; continue; }
    const m = a.match(/^--(config|listen|user|log|pidfile)$/);
    if (!m || i + 1 >= argv.length) {
      process.stderr.write(`qwen key broker: unknown or incomplete option ${a}\n`);
      process.exit(2);
    }
    args[m[1]] = argv[i + 1];
    i += 1;
  }
  return args;
}

// ---------------------------------------------------------------------------------------------------------------
// The container image (image/entrypoint.sh): its one route, written from the entrypoint's own environment, so that
// no shell has to quote a key into JSON; and a wait for the broker's health answer.

// protocol: [key variable, base URL variable, default upstream (the CLI's own default, for the Google protocols)]
const IMAGE_PROTOCOLS = {
  openai: ['OPENAI_API_KEY', 'OPENAI_BASE_URL', ''],
  'openai-responses': ['OPENAI_API_KEY', 'OPENAI_BASE_URL', ''],
  anthropic: ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', ''],
  gemini: ['GEMINI_API_KEY', 'GOOGLE_GEMINI_BASE_URL', 'https://generativelanguage.googleapis.com'],
  'vertex-ai': ['GOOGLE_API_KEY', 'GOOGLE_VERTEX_BASE_URL', 'https://aiplatform.googleapis.com'],
};
const IMAGE_PROVIDER = 'p';
const IMAGE_UID = 1000;

function imageArgs(argv, names) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const m = argv[i].match(/^--([a-z-]+)$/);
    if (!m || !names.includes(m[1]) || i + 1 >= argv.length) return null;
    args[m[1]] = argv[i + 1];
  }
  return args;
}

function imageListen(value) {
  const m = String(value || '').match(/^(127\.0\.0\.1|::1|\[::1\]):(\d+)$/);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

// Reads QWEN_AUTH_TYPE, the protocol's key and base URL variables, QWEN_BROKER_TOKEN (else a random token),
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case); writes the config (mode 0600, replaced atomically) and prints two
// lines: the token, and the base URL the qwen side is given. Never prints the key.
function imageConfig(argv) {
  const say = (msg) => { process.stderr.write(`qwen key broker image-config: ${msg}\n`); process.exit(2); };
  const args = imageArgs(argv, ['out', 'listen', 'ca-file']);
  if (!args || !args.out) say('usage: image-config --out FILE --listen 127.0.0.1:PORT [--ca-file FILE]');
  const listen = imageListen(args.listen);
  if (!listen) say('--listen must be 127.0.0.1:PORT');
  const env = process.env;
  const protocol = env.QWEN_AUTH_TYPE || '';
  if (!Object.prototype.hasOwnProperty.call(IMAGE_PROTOCOLS, protocol)) {
    say(`QWEN_AUTH_TYPE must be one of ${Object.keys(IMAGE_PROTOCOLS).join(', ')}`);
  }
  const [keyVar, baseVar, defaultBase] = IMAGE_PROTOCOLS[protocol];
  const upstream = env[baseVar] || defaultBase;
  if (!upstream) say(`${baseVar} is not set`);
  if (!env[keyVar]) say(`${keyVar} is not set`);
  const token = env.QWEN_BROKER_TOKEN || `qwb-${crypto.randomBytes(24).toString('hex')}`;
  // A proxy given as host:port (as curl accepts it) is an http:// proxy.
  const proxy = (v) => (v && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v) ? `http://${v}` : (v || ''));
  const config = {
    version: 1,
    listen,
    upstream: {
      https_proxy: proxy(env.HTTPS_PROXY || env.https_proxy),
      http_proxy: proxy(env.HTTP_PROXY || env.http_proxy),
      no_proxy: env.NO_PROXY || env.no_proxy || DEFAULT_UPSTREAM.no_proxy,
      ca_file: args['ca-file'] || '',
    },
    routes: [{ token, uid: IMAGE_UID, user: 'qwen', provider: IMAGE_PROVIDER, protocol, upstream, key: env[keyVar] }],
  };
  const text = JSON.stringify(config, null, 1) + '\n';
  try {
    parseConfig(text);
  } catch (e) {
    // the field only (ConfigError messages carry no value); the route's fields come from these variables
    const where = { 'routes[0].token': 'QWEN_BROKER_TOKEN', 'routes[0].key': keyVar, 'routes[0].upstream': baseVar,
      'upstream.https_proxy': 'HTTPS_PROXY', 'upstream.http_proxy': 'HTTP_PROXY' };
    const field = e instanceof ConfigError ? e.message.split(':')[0] : '';
    say(`${where[field] ? `${where[field]}: ` : ''}${e instanceof ConfigError ? e.message : 'invalid'}`);
  }
  const tmp = `${args.out}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    fs.writeSync(fd, text);
    fs.closeSync(fd);
    fs.renameSync(tmp, args.out);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch (e2) { /* not created */ }
    say(`cannot write ${args.out}: ${e.code || 'error'}`);
  }
  const basePath = new URL(upstream).pathname.replace(/\/+$/, '');
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  process.stdout.write(`${token}\nhttp://${host}:${listen.port}/${IMAGE_PROVIDER}${basePath}\n`);
}

// Exits 0 once GET /_broker/health answers {"ok":true,...}, 1 after --timeout-ms (default 10000).
function waitHealthy(argv) {
  const args = imageArgs(argv, ['listen', 'timeout-ms']);
  const listen = args && imageListen(args.listen);
  if (!listen) {
    process.stderr.write('qwen key broker wait: usage: wait --listen 127.0.0.1:PORT [--timeout-ms N]\n');
    process.exit(2);
  }
  const deadline = Date.now() + Number(args['timeout-ms'] || 10000);
  const attempt = () => {
    const retry = () => {
      if (Date.now() >= deadline) process.exit(1);
      setTimeout(attempt, 50);
    };
    const req = http.get({ host: listen.host, port: listen.port, path: '/_broker/health', agent: false,
      timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let ok = false;
        try { ok = res.statusCode === 200 && JSON.parse(body).ok === true; } catch (e) { /* not yet */ }
        if (ok) process.exit(0);
        retry();
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', retry);
  };
  attempt();
}

function main() {
  const command = process.argv[2];
  if (command === 'image-config') { imageConfig(process.argv.slice(3)); return; }
  if (command === 'wait') { waitHealthy(process.argv.slice(3)); return; }
  const args = parseArgs(process.argv.slice(2));
  if (!args.config || (args.command !== 'serve' && args.command !== 'supervise')) {
    process.stderr.write('usage: qwen-key-broker.js serve --config FILE [--listen HOST:PORT | --inherit]\n' +
      '       qwen-key-broker.js supervise --config FILE --user ACCOUNT --log FILE --pidfile FILE\n');
    process.exit(2);
  }
  if (args.command === 'serve') serve(args); else supervise(args);
}

module.exports = { authHeaderFor, allowList, badPath, bypassesProxy, parseConfig, procHex, peerCandidates, uidIn,
  stripKeyParam,
  tokenOf, ConfigError };

if (require.main === module) main();
