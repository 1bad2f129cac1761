// `docker run IMAGE check [--chat]`: asks the configured provider from inside the container, with the same
// reasons and messages as the collection's provider_check module (exported into the image at build time from
// plugins/module_utils/qwen_code.py). Prints one line; exit 0 when the provider answers and offers the model.
import { readFileSync } from "node:fs";

const MESSAGES = JSON.parse(readFileSync("/etc/qwen-code/check-messages.json", "utf8"));
const probe = process.argv.includes("--chat") ? "chat" : "models";
const timeoutS = Number(process.env.QWEN_CHECK_TIMEOUT || 10);
const key = process.env.OPENAI_API_KEY || "";
const model = process.env.OPENAI_MODEL || "";
const baseUrl = process.env.OPENAI_BASE_URL || "";

function format(reason, fields) {
  return MESSAGES[reason].replace(/\{(\w+)(!r)?\}/g, (_, name, repr) => {
    const value = fields[name] ?? "";
    return repr ? `'${value}'` : String(value);
  });
}

function finish(reason, fields, extra = {}) {
  const line = format(reason, fields);
  const result = { reason, msg: line, ...extra };
  if (process.argv.includes("--json")) console.log(JSON.stringify(result));
  else console.log(`${reason === "ok" ? "ok" : "FAILED"}: ${line} (reason: ${reason})`);
  process.exit(reason === "ok" ? 0 : 1);
}

function redact(url) {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "<invalid URL>";
  }
}

let parsed;
try {
  parsed = new URL(baseUrl);
  if (!["http:", "https:"].includes(parsed.protocol) || !parsed.hostname || parsed.username || parsed.password) {
    throw new Error("invalid");
  }
} catch {
  finish("invalid_url", { base_url: redact(baseUrl) });
}
const fields = {
  base_url: redact(baseUrl),
  host: parsed.hostname,
  port: parsed.port || (parsed.protocol === "https:" ? 443 : 80),
  timeout: timeoutS,
  model,
};
const root = baseUrl.replace(/\/+$/, "");

function classify(err) {
  const cause = err.cause || err;
  const code = cause.code || cause.name || "";
  const detail = cause.message || String(cause);
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return ["tls", detail];
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return ["dns", detail];
  if (code === "ECONNREFUSED") return ["connection_refused", detail];
  if (/TIMEOUT|ETIMEDOUT|AbortError|TimeoutError/.test(code)) return ["timeout", detail];
  return ["connection_refused", detail];
}

function errorDetail(text) {
  try {
    const err = JSON.parse(text).error;
    if (err && typeof err === "object") return err.message || err.code || "";
    if (err) return String(err);
  } catch {}
  return text.slice(0, 80);
}

function mentionsModel(text) {
  try {
    const err = JSON.stringify(JSON.parse(text).error || {}).toLowerCase();
    return err.includes("model_not_found") || (err.includes("model") && err.includes("not") && err.includes("exist"));
  } catch {
    return false;
  }
}

async function call(method, path, payload) {
  const url = root + path;
  fields.url = redact(url);
  const start = Date.now();
  try {
    const resp = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${key}`, Accept: "application/json",
                 ...(payload ? { "Content-Type": "application/json" } : {}) },
      body: payload ? JSON.stringify(payload) : undefined,
      signal: AbortSignal.timeout(timeoutS * 1000),
    });
    const text = await resp.text();
    return { status: resp.status, text, latency_ms: Date.now() - start };
  } catch (err) {
    const [reason, detail] = classify(err);
    finish(reason, { ...fields, detail }, { latency_ms: Date.now() - start });
  }
}

function failForStatus(r) {
  const detail = errorDetail(r.text);
  const reason = r.status === 401 || r.status === 403 ? "unauthorized"
    : r.status === 404 ? "not_found"
    : r.status === 429 ? "rate_limited"
    : r.status >= 500 ? "server_error" : "http_error";
  finish(reason, { ...fields, status: r.status, detail }, { status: r.status, latency_ms: r.latency_ms });
}

const listing = await call("GET", "/models");
if (listing.status !== 200) failForStatus(listing);
let models;
try {
  models = JSON.parse(listing.text).data.filter((m) => m && m.id).map((m) => m.id);
} catch {
  finish("bad_response", { ...fields, detail: listing.text.slice(0, 80) }, { status: 200 });
}
// Similar names, as provider_check finds them: substrings, then names at a small edit distance.
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
if (model && !models.includes(model)) {
  const wanted = model.toLowerCase();
  const tail = wanted.split("/").pop();
  const similar = models.filter((m) => {
    const name = m.toLowerCase();
    return name.includes(tail) || wanted.includes(name) ||
      distance(wanted, name) <= Math.max(2, Math.floor(Math.max(wanted.length, name.length) / 4));
  }).slice(0, 5);
  const suggestion = similar.length ? `: close matches: ${similar.join(", ")}`
    : ` (it lists ${models.length} models, none similar)`;
  finish("model_not_found", { ...fields, suggestion }, { models_count: models.length, model_found: false });
}
let last = listing;
if (probe === "chat") {
  last = await call("POST", "/chat/completions",
                    { model, max_tokens: 1, messages: [{ role: "user", content: "ping" }] });
  if (last.status === 404 && mentionsModel(last.text)) {
    finish("model_not_found", { ...fields, suggestion: " (the chat call says so)" }, { model_found: false });
  }
  if (last.status !== 200) failForStatus(last);
}
const note = (model ? `, offers ${model}` : "") + (probe === "chat" ? " and completes a chat" : "");
finish("ok", { ...fields, latency_ms: last.latency_ms, model_note: note },
       { status: last.status, latency_ms: last.latency_ms, models_count: models.length, model_found: !!model });
