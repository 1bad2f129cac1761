// `docker run IMAGE check [--chat] [--json]`: asks the configured provider from inside the container, with the same
// reasons and messages as the collection's provider_check (plugins/module_utils/_provider_check.py: MESSAGES is
// exported into the image at build time; the logic below ports provider_check's steps and helpers one by one,
// including Python's urlsplit, repr, str.split and difflib.get_close_matches). tests/unit/test_check_parity.py runs both against
// one table of stub providers. Prints one line; exit 0 when the provider answers and offers the model.
//
// The protocol (auth type) is QWEN_AUTH_TYPE, or else the one the qwen CLI infers from the first key variable set
// (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY); key, base URL and model come from that auth
// type's variables (AUTH_ENV below, as AUTH_TYPES in plugins/module_utils/_auth_types.py).
//
// The key never reaches the output: whatever the provider sends is masked right after it is read (and again after
// JSON decoding), before anything is cut to a snippet; the final line is masked once more.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";

const messagesPath = process.env.QWEN_CHECK_MESSAGES || "/etc/qwen-code/check-messages.json";
let MESSAGES;
try {
  MESSAGES = JSON.parse(readFileSync(messagesPath, "utf8"));
} catch (err) {
  console.error(`check: cannot read the messages ${messagesPath}: ${err.message}`);
  process.exit(2);
}
const args = process.argv.slice(2);
const probe = args.includes("--chat") ? "chat" : "models";
const asJson = args.includes("--json");
const timeoutS = Number(process.env.QWEN_CHECK_TIMEOUT) > 0 ? Number(process.env.QWEN_CHECK_TIMEOUT) : 10;

// --- Python's text semantics ---------------------------------------------------------------------------------

// The characters of Python's str.isspace(), which str.split() and str.strip() cut on.
const PY_WS = "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_WS_ONE = new RegExp(`^${PY_WS}$`);
const PY_WS_ANY = new RegExp(PY_WS);
const PY_WS_RUN = new RegExp(`${PY_WS}+`);
const PY_WS_ENDS = new RegExp(`^${PY_WS}+|${PY_WS}+$`, "g");
const pyStrip = (text) => text.replace(PY_WS_ENDS, "");
const pySplitJoin = (text) => text.split(PY_WS_RUN).filter(Boolean).join(" "); // " ".join(text.split())
const codePoints = (text) => Array.from(text); // Python indexes and counts code points, not UTF-16 units
const hex = (n, width) => n.toString(16).padStart(width, "0");

function pyCompare(a, b) { // Python's str ordering: by code point
  const x = codePoints(a);
  const y = codePoints(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u; // not str.isprintable() (but " " is)

function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + hex(cp, 2);
    else if (cp < 0x7f || !NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += "\\x" + hex(cp, 2);
    else if (cp <= 0xffff) out += "\\u" + hex(cp, 4);
    else out += "\\U" + hex(cp, 8);
  }
  return out + quote;
}

function format(name, fields) { // str.format for {field}, {field!r}, {{ and }}
  return MESSAGES[name].replace(/\{\{|\}\}|\{(\w+)(?:!([rs]))?\}/g, (whole, field, conversion) => {
    if (!field) return whole[0];
    const value = fields[field];
    if (conversion === "r" && typeof value === "string") return pyRepr(value);
    return value === null || value === undefined ? "None" : String(value);
  });
}

const isDict = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const own = (obj, name) => (Object.hasOwn(obj, name) ? obj[name] : undefined); // dict.get()

function pyTruthy(v) {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

// --- masking, snippets, the provider's words (_mask, _snippet, _error_detail, detail_mentions_model) ------------

const MASK = "********";

function mask(text) {
  if (typeof text !== "string" || !text || !pyStrip(key)) return text;
  return text.split(key).join(MASK);
}

function scrub(value) {
  if (typeof value === "string") return mask(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  return value;
}

function jsonOrNone(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function snippet(text, size = 80) { // masked, on one line, then cut: mask first, then truncate
  const cut = codePoints(pySplitJoin(mask(String(text ?? "").replace(/\p{Cs}/gu, "\ufffd"))));
  return cut.length > size ? cut.slice(0, size).join("") + "..." : cut.join("");
}

function errorDetail(text) {
  const data = jsonOrNone(text);
  if (isDict(data)) {
    const err = own(data, "error");
    const candidates = isDict(err) ? [own(err, "message"), own(err, "code")] : [err];
    for (const candidate of [...candidates, own(data, "message")]) {
      const shown = typeof candidate === "string" ? snippet(candidate, 160) : "";
      if (shown) return shown;
    }
  }
  return snippet(text);
}

function detailMentionsModel(text) {
  const data = jsonOrNone(text);
  if (!isDict(data)) return false;
  const err = own(data, "error");
  const message = own(data, "message");
  // json.dumps(...).lower(): json.dumps escapes every non-ASCII character, so only ASCII letters are lowered.
  const said = JSON.stringify(pyTruthy(err) ? err : pyTruthy(message) ? message : {})
    .replace(/[\u007f-\uffff]/g, (c) => "\\u" + hex(c.charCodeAt(0), 4))
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
  return said.includes("model_not_found") || (said.includes("model") && (said.includes("not") || said.includes("invalid"))
    && ["exist", "found", "support", "valid"].some((word) => said.includes(word)));
}

// --- URLs: Python's urlsplit, hostname, port and urlunsplit; redact_url; _not_found_hint -----------------------

const USES_NETLOC = new Set(["", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https",
  "shttp", "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh",
  "ws", "wss"]);

function urlsplit(input) {
  let url = input.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  let netloc = "";
  let query = "";
  let fragment = "";
  const colon = url.indexOf(":");
  if (colon > 0 && /^[A-Za-z]/.test(url) && /^[A-Za-z0-9+\-.]*$/.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    url = url.slice(colon + 1);
  }
  if (url.startsWith("//")) {
    let delim = url.length;
    for (const c of "/?#") {
      const at = url.indexOf(c, 2);
      if (at >= 0) delim = Math.min(delim, at);
    }
    netloc = url.slice(2, delim);
    url = url.slice(delim);
    if (netloc.includes("[") !== netloc.includes("]")) throw new Error("Invalid IPv6 URL");
    if (netloc.includes("[")) {
      const after = netloc.slice(netloc.indexOf("[") + 1);
      const bracketed = after.includes("]") ? after.slice(0, after.indexOf("]")) : after;
      if (bracketed.startsWith("v") ? !/^v[a-fA-F0-9]+\.[^\n]+$/.test(bracketed) : isIP(bracketed) !== 6) {
        throw new Error("invalid bracketed host");
      }
    }
  }
  if (url.includes("#")) [url, fragment] = [url.slice(0, url.indexOf("#")), url.slice(url.indexOf("#") + 1)];
  if (url.includes("?")) [url, query] = [url.slice(0, url.indexOf("?")), url.slice(url.indexOf("?") + 1)];
  if (netloc && !/^[\x00-\x7f]*$/.test(netloc)) { // characters such as U+2100 that NFKC expands to a/c
    const bare = netloc.replace(/[@:#?]/g, "");
    const normal = bare.normalize("NFKC");
    if (bare !== normal && /[/?#@:]/.test(normal)) throw new Error("invalid characters under NFKC normalization");
  }
  return { scheme, netloc, path: url, query, fragment };
}

function hostinfo(netloc) {
  const info = netloc.slice(netloc.lastIndexOf("@") + 1);
  let hostname;
  let port;
  if (info.includes("[")) {
    const bracketed = info.slice(info.indexOf("[") + 1);
    const close = bracketed.indexOf("]");
    hostname = close >= 0 ? bracketed.slice(0, close) : bracketed;
    const rest = close >= 0 ? bracketed.slice(close + 1) : "";
    port = rest.includes(":") ? rest.slice(rest.indexOf(":") + 1) : "";
  } else {
    hostname = info.includes(":") ? info.slice(0, info.indexOf(":")) : info;
    port = info.includes(":") ? info.slice(info.indexOf(":") + 1) : "";
  }
  return [hostname, port || null];
}

function urlHostname(netloc) {
  const hostname = hostinfo(netloc)[0];
  if (!hostname) return null;
  const zone = hostname.indexOf("%"); // a scoped IPv6 address's zone keeps its case
  return zone < 0 ? hostname.toLowerCase() : hostname.slice(0, zone).toLowerCase() + hostname.slice(zone);
}

function urlPort(netloc) {
  const port = hostinfo(netloc)[1];
  if (port === null) return null;
  if (!/^[0-9]+$/.test(port)) throw new Error("port is not a number");
  const number = Number(port);
  if (number > 65535) throw new Error("port out of range");
  return number;
}

function urlunsplit({ scheme, netloc, path, query, fragment }) {
  let url = path;
  if (netloc || (scheme && USES_NETLOC.has(scheme) && !url.startsWith("//"))) {
    if (url && !url.startsWith("/")) url = "/" + url;
    url = "//" + netloc + url;
  }
  if (scheme) url = scheme + ":" + url;
  if (query) url += "?" + query;
  if (fragment) url += "#" + fragment;
  return url;
}

function redactUrl(url) { // the URL without any user:password@ part
  let parts;
  try {
    parts = urlsplit(url);
  } catch {
    return "<invalid URL>";
  }
  if (!parts.netloc.includes("@")) return url;
  return urlunsplit({ ...parts, netloc: parts.netloc.slice(parts.netloc.lastIndexOf("@") + 1) });
}

const stripSlashes = (text) => text.replace(/\/+$/, "");

function notFoundHint(base) {
  const path = stripSlashes(urlsplit(base).path);
  for (const endpoint of spec.endpoints) {
    if (path.endsWith(endpoint)) {
      return ` The base URL must stop before ${endpoint}: try ${stripSlashes(base).slice(0, -endpoint.length)}.`;
    }
  }
  return spec.adds === null && !/^v[0-9]/.test(path.slice(path.lastIndexOf("/") + 1)) ? ` Try ${stripSlashes(base)}/v1.` : "";
}

// --- close matches: close_matches() with a port of difflib.get_close_matches (SequenceMatcher.ratio) -----------

function matchedChars(a, b, b2j) { // sum of the sizes of SequenceMatcher(None, a, b).get_matching_blocks()
  let total = 0;
  const queue = [[0, a.length, 0, b.length]];
  while (queue.length) {
    const [alo, ahi, blo, bhi] = queue.pop();
    let [besti, bestj, bestsize] = [alo, blo, 0];
    let j2len = new Map();
    for (let i = alo; i < ahi; i++) { // find_longest_match
      const next = new Map();
      for (const j of b2j.get(a[i]) || []) {
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) || 0) + 1;
        next.set(j, k);
        if (k > bestsize) [besti, bestj, bestsize] = [i - k + 1, j - k + 1, k];
      }
      j2len = next;
    }
    while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) [besti, bestj, bestsize] = [besti - 1, bestj - 1, bestsize + 1];
    while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) bestsize++;
    if (bestsize) {
      total += bestsize;
      if (alo < besti && blo < bestj) queue.push([alo, besti, blo, bestj]);
      if (besti + bestsize < ahi && bestj + bestsize < bhi) queue.push([besti + bestsize, ahi, bestj + bestsize, bhi]);
    }
  }
  return total;
}

function getCloseMatches(word, possibilities, n = 3, cutoff = 0.6) {
  const b = codePoints(word);
  const b2j = new Map();
  b.forEach((elt, i) => (b2j.has(elt) ? b2j.get(elt).push(i) : b2j.set(elt, [i])));
  if (b.length >= 200) { // autojunk: popular elements are not matched on
    const ntest = Math.floor(b.length / 100) + 1;
    for (const [elt, indices] of [...b2j]) if (indices.length > ntest) b2j.delete(elt);
  }
  const scored = [];
  for (const x of possibilities) {
    const a = codePoints(x);
    const length = a.length + b.length;
    const ratio = length ? (2.0 * matchedChars(a, b, b2j)) / length : 1.0;
    if (ratio >= cutoff) scored.push([ratio, x]);
  }
  scored.sort((p, q) => q[0] - p[0] || pyCompare(q[1], p[1])); // heapq.nlargest on (ratio, x)
  return scored.slice(0, n).map(([, x]) => x);
}

function closeMatches(wanted, available, limit = 5) {
  const lowered = wanted.toLowerCase();
  const tail = lowered.split("/").pop().split(":")[0];
  const found = available.filter((m) => m.toLowerCase().includes(lowered) || lowered.includes(m.toLowerCase()));
  const extend = (items) => {
    const before = new Set(found);
    found.push(...items.filter((m) => !before.has(m)));
  };
  extend(getCloseMatches(wanted, available, limit, 0.6));
  extend(available.filter((m) => tail && m.toLowerCase().includes(tail)));
  const loweredIds = new Map(available.map((m) => [m.toLowerCase(), m]));
  extend(getCloseMatches(lowered, [...loweredIds.keys()], limit, 0.6).map((m) => loweredIds.get(m)));
  return found.slice(0, limit);
}

// --- the protocols: _PROTOCOLS, _urls, _auth_headers, _chat_payload; the environment ------------------------------

const OPENAI = {
  listing: "data", id: "id", prefix: "", answer: "choices", adds: null,
  endpoints: ["/chat/completions", "/completions", "/models", "/responses"],
  example: "https://openrouter.ai/api/v1", expected: "an OpenAI-compatible JSON answer",
  url_rule: "OpenAI-compatible URLs usually end in the API version, such as /v1 or /compatible-mode/v1",
};
const PROTOCOLS = {
  openai: OPENAI,
  "openai-responses": {
    ...OPENAI, answer: "output", example: "https://api.openai.com/v1", expected: "an OpenAI Responses JSON answer",
    url_rule: "Responses API URLs end in /v1 (the CLI asks .../v1/responses), and not every provider offers that API",
  },
  anthropic: {
    listing: "data", id: "id", prefix: "", answer: "content", adds: "v1",
    endpoints: ["/v1/messages", "/v1/models", "/messages", "/models"],
    example: "https://api.anthropic.com", expected: "an Anthropic Messages JSON answer",
    url_rule: "Anthropic URLs stop before /v1, such as https://api.anthropic.com or https://openrouter.ai/api "
      + "(the CLI appends /v1/messages)",
  },
  gemini: {
    listing: "models", id: "name", prefix: "models/", answer: "candidates", adds: "v1beta",
    endpoints: ["/v1beta/models", "/models", "/v1"],
    example: "https://generativelanguage.googleapis.com", expected: "a Gemini JSON answer",
    url_rule: "Gemini URLs are the host alone, such as https://generativelanguage.googleapis.com (the CLI "
      + "appends /v1beta/models/...)",
  },
  "vertex-ai": {
    listing: null, id: null, prefix: "", answer: "candidates", adds: "v1beta1",
    endpoints: ["/v1beta1/publishers/google/models", "/publishers/google/models", "/v1beta", "/v1"],
    example: "https://aiplatform.googleapis.com", expected: "a Vertex AI JSON answer",
    url_rule: "Vertex AI URLs (express mode, with an API key) are the host alone, such as "
      + "https://aiplatform.googleapis.com (the CLI appends /v1beta1/publishers/google/models/...)",
  },
};

// Each auth type's variables (AUTH_TYPES' key_env, base_env, model_env), and the CLI's default base URLs.
const AUTH_ENV = {
  openai: { key: "OPENAI_API_KEY", base: "OPENAI_BASE_URL", model: "OPENAI_MODEL" },
  "openai-responses": { key: "OPENAI_API_KEY", base: "OPENAI_BASE_URL", model: "OPENAI_MODEL" },
  anthropic: { key: "ANTHROPIC_API_KEY", base: "ANTHROPIC_BASE_URL", model: "ANTHROPIC_MODEL" },
  gemini: { key: "GEMINI_API_KEY", base: "GOOGLE_GEMINI_BASE_URL", model: "GEMINI_MODEL",
            fallback: "https://generativelanguage.googleapis.com" },
  "vertex-ai": { key: "GOOGLE_API_KEY", base: "GOOGLE_VERTEX_BASE_URL", model: "GOOGLE_MODEL",
                 fallback: "https://aiplatform.googleapis.com" },
};
const INFERRED = ["openai", "anthropic", "gemini", "vertex-ai"]; // the CLI's order; openai-responses never is
const authType = process.env.QWEN_AUTH_TYPE || INFERRED.find((type) => process.env[AUTH_ENV[type].key]) || "openai";
const spec = own(PROTOCOLS, authType);
const names = own(AUTH_ENV, authType) || {};
const keyName = names.key ?? null;
const key = (names.key && process.env[names.key]) || "";
const model = (names.model && process.env[names.model]) || "";
const baseUrl = (names.base && process.env[names.base]) || names.fallback || "";
const PROMPT = "Reply with one word.";
const contents = () => [{ role: "user", parts: [{ text: PROMPT }] }]; // _contents()

// Python's urllib.parse.quote(text, safe=""): encodeURIComponent also leaves !'()* alone.
const quote = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + hex(c.charCodeAt(0), 2).toUpperCase());

function urls(base) { // _urls(): [model list or null, countTokens or null, chat probe]
  const root = stripSlashes(base);
  const name = quote(model);
  if (authType === "openai") return [`${root}/models`, null, `${root}/chat/completions`];
  if (authType === "openai-responses") {
    return [`${root}/models`, null, `${root.endsWith("/v1") ? root.slice(0, -3) : root}/v1/responses`];
  }
  if (authType === "anthropic") return [`${root}/v1/models?limit=1000`, null, `${root}/v1/messages`];
  if (authType === "gemini") return [`${root}/v1beta/models?pageSize=1000`, null, `${root}/v1beta/models/${name}:generateContent`];
  const modelUrl = `${root}/v1beta1/publishers/google/models/${name}`;
  return [null, `${modelUrl}:countTokens`, `${modelUrl}:generateContent`];
}

function authHeaders(hostname) { // _auth_headers()
  if (authType === "gemini" || authType === "vertex-ai") return { "x-goog-api-key": key };
  if (authType === "anthropic") {
    const host = (hostname || "").toLowerCase().replace(/\.+$/, ""); // _auth_types.anthropic_native()
    const native = host === "anthropic.com" || host.endsWith(".anthropic.com");
    return { ...(native ? { "x-api-key": key } : { Authorization: `Bearer ${key}` }), "anthropic-version": "2023-06-01" };
  }
  return { Authorization: `Bearer ${key}` };
}

function chatPayload() { // _chat_payload()
  if (authType === "gemini" || authType === "vertex-ai") return { contents: contents(), generationConfig: { maxOutputTokens: 1 } };
  if (authType === "openai-responses") return { model, input: PROMPT, max_output_tokens: 16, stream: false };
  if (authType === "anthropic") return { model, max_tokens: 1, messages: [{ role: "user", content: PROMPT }] };
  return { model, max_tokens: 1, stream: false, messages: [{ role: "user", content: PROMPT }] };
}

// --- the check ---------------------------------------------------------------------------------------------------

function finish(reason, message, fields, extra = {}, hint = "") {
  const result = scrub({ reason, msg: format(message, fields) + hint, ...extra });
  if (asJson) console.log(JSON.stringify(result));
  else console.log(`${reason === "ok" ? "ok" : "FAILED"}: ${result.msg} (reason: ${reason})`);
  process.exit(reason === "ok" ? 0 : 1);
}

function keyProblem(value) { // key_problem(): why the key cannot be sent in a header; never quotes it
  if (!value || !pyStrip(value)) return "is empty";
  const chars = codePoints(value);
  for (const [index, ch] of chars.entries()) {
    const cp = ch.codePointAt(0);
    if (PY_WS_ONE.test(ch) || cp < 0x20 || cp === 0x7f) {
      return `contains whitespace or a control character at position ${index + 1} of ${chars.length} (a copy-paste accident?)`;
    }
    if (cp > 0x7e) return `contains a non-ASCII character at position ${index + 1} of ${chars.length} (a copy-paste accident?)`;
  }
  return null;
}

if (!spec) {
  finish("invalid_input", "unknown_auth_type", { auth_type: authType, detail: Object.keys(PROTOCOLS).join(", ") });
}
const shown = redactUrl(mask(baseUrl));
let parts;
let port;
let valid;
try {
  parts = urlsplit(baseUrl);
  port = urlPort(parts.netloc);
  valid = ["http", "https"].includes(parts.scheme) && !!urlHostname(parts.netloc) && !PY_WS_ANY.test(baseUrl)
    && !parts.netloc.includes("@") && !parts.query && !parts.fragment;
} catch {
  valid = false;
}
if (!valid) finish("invalid_url", "invalid_url", { base_url: shown, example: spec.example });
if (spec.adds && stripSlashes(parts.path).split("/").pop() === spec.adds) {
  const root = stripSlashes(shown);
  finish("invalid_url", "version_in_url", { base_url: shown, detail: spec.adds, auth_type: authType,
                                             url: `${root}/${spec.adds}`, suggestion: root.slice(0, -(spec.adds.length + 1)) });
}
const problem = keyProblem(key);
if (problem) finish("invalid_key", "invalid_key", { detail: problem, key_name: keyName });
if (spec.listing === null && !model) finish("invalid_input", "model_required", { auth_type: authType });
const fields = {
  base_url: shown,
  host: urlHostname(parts.netloc),
  port: port || (parts.scheme === "https" ? 443 : 80),
  timeout: timeoutS,
  model,
  url: shown,
  key_name: keyName,
  auth_type: authType,
  example: spec.example,
  expected: spec.expected,
  url_rule: spec.url_rule,
};
const [modelsUrl, countUrl, chatUrl] = urls(baseUrl);
const headers = authHeaders(urlHostname(parts.netloc));

const TLS_UNTRUSTED = /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|INVALID_CA|PATH_LENGTH_EXCEEDED)/;

function classify(err) { // _classify_connection_error(): [reason, message, detail]
  const cause = err.cause || err;
  const code = String(cause.code || "");
  const name = cause.name || err.name || "Error";
  const detail = pySplitJoin(String(cause.message || cause));
  if (name === "TimeoutError" || name === "AbortError" || /TIMEOUT|^ETIMEDOUT$/.test(code)) return ["timeout", "timeout", detail];
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return ["tls", "tls_hostname", detail.replace(/\.$/, "")];
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return ["tls", "tls", `${detail}; or this host's clock is wrong`];
  if (TLS_UNTRUSTED.test(code)) return ["tls", "tls", detail];
  if (/^ERR_SSL_|^ERR_TLS_|^EPROTO$/.test(code)) return ["tls", "tls_handshake", detail];
  if (["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "EAI_NODATA"].includes(code)) return ["dns", "dns", detail];
  if (code === "ECONNREFUSED") return ["connection_refused", "connection_refused", detail];
  if (["ENETUNREACH", "EHOSTUNREACH", "EADDRNOTAVAIL"].includes(code)) return ["unreachable", "unreachable", detail];
  if (["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_CLOSED"].includes(code)) {
    return ["connection_reset", "connection_reset", detail];
  }
  if (code.startsWith("HPE_")) return ["bad_response", "bad_response", `not an HTTP answer: ${name} ${detail}`];
  if (code === "ERR_INVALID_URL") return ["invalid_url", "invalid_url", detail]; // valid for Python, not for fetch
  return ["connection_reset", "connection_reset", `${name}: ${detail}`];
}

async function call(method, url, payload) {
  fields.url = redactUrl(mask(url));
  const start = Date.now();
  let resp;
  let text;
  try {
    resp = await fetch(url, {
      method,
      redirect: "manual", // like provider_check: a redirect is reported, never followed (it may carry the key away)
      headers: { ...headers, Accept: "application/json", ...(payload ? { "Content-Type": "application/json" } : {}) },
      body: payload ? JSON.stringify(payload) : undefined,
      signal: AbortSignal.timeout(Math.round(timeoutS * 1000)),
    });
    // Bytes as Python reads them: UTF-8 with bad bytes replaced, a byte order mark kept.
    text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await resp.arrayBuffer());
  } catch (err) {
    const [reason, message, detail] = classify(err);
    finish(reason, message, { ...fields, detail: mask(detail) }, { latency_ms: Date.now() - start });
  }
  // Mask first: nothing the provider sent is cut or shown before the key is out of it.
  return { status: resp.status, text: mask(text), headers: resp.headers, latency_ms: Date.now() - start };
}

function keyRejected(status, text) { // _key_rejected(): 401, 403, or Google's 400 with reason API_KEY_INVALID
  if (status === 401 || status === 403) return true;
  const data = status === 400 ? jsonOrNone(text) : undefined;
  const error = isDict(data) ? own(data, "error") : undefined;
  const details = isDict(error) ? own(error, "details") : undefined;
  return Array.isArray(details) && details.some((d) => isDict(d) && own(d, "reason") === "API_KEY_INVALID");
}

function failForStatus(r) {
  const detail = errorDetail(r.text);
  const values = { ...fields, status: r.status, detail };
  const extra = { status: r.status, latency_ms: r.latency_ms };
  if (r.status >= 300 && r.status < 400) {
    const location = mask(r.headers.get("location")) || "an unknown place";
    finish("redirect", "redirect", { ...values, detail: redactUrl(location) }, extra);
  }
  let reason = "http_error";
  let hint = "";
  if (keyRejected(r.status, r.text)) {
    reason = "unauthorized";
  } else if (r.status === 404) {
    reason = "not_found";
    hint = notFoundHint(mask(baseUrl));
  } else if (r.status === 429) {
    reason = "rate_limited";
    const retry = mask(r.headers.get("retry-after"));
    hint = (retry ? ` The provider asks to retry after ${retry} s.` : "") + (detail ? ` It says: ${detail}` : "");
  } else if (r.status >= 500) {
    reason = "server_error";
    hint = detail ? ` It says: ${detail}` : "";
  }
  finish(reason, reason, values, extra, hint);
}

async function askModel(url, payload, callName, answer) { // _ask_model()
  const r = await call("POST", url, payload);
  if (r.status !== 200) {
    if ((r.status === 400 || r.status === 404) && !keyRejected(r.status, r.text) && detailMentionsModel(r.text)) {
      finish("model_not_found", "model_not_found",
             { ...fields, suggestion: ` (the ${callName} call says: ${errorDetail(r.text)})` },
             { status: r.status, model_found: false, close_matches: [] });
    }
    failForStatus(r);
  }
  const found = jsonOrNone(r.text);
  const value = isDict(found) ? own(found, answer) : undefined;
  if (!(answer === "totalTokens" ? typeof value === "number" : Array.isArray(value))) {
    finish("bad_response", "bad_response", { ...fields, detail: snippet(r.text) || "empty" }, { status: 200 });
  }
  return r;
}

let models = null;
let last;
if (modelsUrl) {
  last = await call("GET", modelsUrl);
  if (last.status !== 200) failForStatus(last);
  const answer = jsonOrNone(last.text);
  if (!isDict(answer) || !Array.isArray(own(answer, spec.listing))) {
    let detail = snippet(last.text) || "an empty answer";
    if (isDict(answer) || Array.isArray(answer)) detail = `JSON without a "${spec.listing}" list of models: ${detail}`;
    finish("bad_response", "bad_response", { ...fields, detail }, { status: 200, latency_ms: last.latency_ms });
  }
  models = own(answer, spec.listing).filter((m) => isDict(m) && typeof own(m, spec.id) === "string")
    .map((m) => own(m, spec.id)).map((id) => (id.startsWith(spec.prefix) ? id.slice(spec.prefix.length) : id));
  if (model && !models.includes(model)) {
    const similar = closeMatches(model, models);
    const suggestion = similar.length ? `: close matches: ${similar.join(", ")}`
      : ` (it lists ${models.length} models, none similar)`;
    finish("model_not_found", "model_not_found", { ...fields, suggestion },
           { status: 200, models_count: models.length, model_found: false, close_matches: similar });
  }
} else {
  last = await askModel(countUrl, { contents: contents() }, "countTokens", "totalTokens"); // _count_tokens()
}
if (probe === "chat") last = await askModel(chatUrl, chatPayload(), "chat", spec.answer);
const note = (model ? `, offers ${model}` : "") + (probe === "chat" ? " and completes a chat" : "");
finish("ok", "ok", { ...fields, latency_ms: last.latency_ms, model_note: note },
       { status: last.status, latency_ms: last.latency_ms, models_count: models ? models.length : null,
         model_found: model ? true : null });
