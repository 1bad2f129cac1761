# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`docker run IMAGE check [--chat] [--json]`: the collection's provider check (provider_check() in
plugins/module_utils/_provider_check.py, the code the provider_check module runs), asked from inside the container
with the run's environment. Prints one line, `ok: <message> (reason: ok)` or `FAILED: <message> (reason: <reason>)`
(with --json, the result as one JSON object); exits 0 when the provider answers and offers the model, else 1.

The protocol (auth type) is QWEN_AUTH_TYPE, or else the one the qwen CLI infers from the first key variable set
(OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY); key, base URL and model come from that auth
type's variables (AUTH_TYPES in _auth_types.py), the base URL defaulting to the CLI's own for gemini and vertex-ai.
QWEN_CHECK_TIMEOUT is the timeout in seconds (10). NODE_EXTRA_CA_CERTS, the extra CA bundle qwen trusts, is trusted
in addition to the roots qwen's Node trusts (the entrypoint points SSL_CERT_FILE at those); HTTPS_PROXY and NO_PROXY
apply as they do to qwen.

image/build_check.py bundles this file as the __main__ of /opt/qwen-code/image/check.pyz, with the modules it
imports and nothing else of the collection; the entrypoint runs it with `python3 -I -S`.
"""

import json
import math
import os
import sys

from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import preset_url
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import _mask, provider_check

# The CLI's order of inference from the key variables; openai-responses is never inferred.
INFERRED = ("openai", "anthropic", "gemini", "vertex-ai")
# The base URL the CLI uses when the protocol's base variable is unset: the vendor's own endpoint (a preset).
CLI_DEFAULT_BASE = {"gemini": preset_url("gemini", "gemini"), "vertex-ai": preset_url("vertex", "vertex-ai")}
DEFAULT_TIMEOUT = 10


def _timeout(value):
    """QWEN_CHECK_TIMEOUT as a positive, finite number of seconds (an integral one shown without .0), else 10."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT
    if not (math.isfinite(seconds) and seconds > 0):
        return DEFAULT_TIMEOUT
    return int(seconds) if seconds.is_integer() else seconds


def check(argv, environ):
    """(exit code, the line to print) for `check` with the arguments argv in the environment environ."""
    auth_type = environ.get("QWEN_AUTH_TYPE") or next(
        (name for name in INFERRED if environ.get(AUTH_TYPES[name]["key_env"])), "openai")
    names = AUTH_TYPES.get(auth_type, {})
    key = environ.get(names.get("key_env", ""), "") if names else ""
    result = provider_check(
        environ.get(names.get("base_env", ""), "") or CLI_DEFAULT_BASE.get(auth_type) or "", key,
        model=environ.get(names.get("model_env", ""), "") if names else "",
        probe="chat" if "--chat" in argv else "models", timeout=_timeout(environ.get("QWEN_CHECK_TIMEOUT")),
        ca_path=environ.get("NODE_EXTRA_CA_CERTS") or None, auth_type=auth_type)
    if "--json" in argv:
        line = json.dumps(dict(result), sort_keys=True)
    else:
        line = "%s: %s (reason: %s)" % ("ok" if result["reason"] == "ok" else "FAILED", result["msg"], result["reason"])
    return (0 if result["reason"] == "ok" else 1), _mask(line, key)  # masked once more, whatever the result holds


def main():
    code, line = check(sys.argv[1:], os.environ)
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
