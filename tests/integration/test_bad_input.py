"""Bad input fails before anything changes on the host, with a message naming the variable and the fix,
and the key never shows: not at -vvv, not in --diff, not in any process's command line."""
import json
import re

import pytest

from conftest import CANARY, GOOD_VARS, SETTINGS_WITH_HEADERS
from harness import TEST_IMAGE, Container
from releases import DEFAULT

MISSING = object()
CREDS = {"access_token": "at-" + CANARY, "refresh_token": "rt-" + CANARY, "token_type": "Bearer",
         "expiry_date": 4102444800000, "resource_url": "localhost:18443"}


def provider(**over):
    """A provider entry on the stub (qwen_code_providers or a user's providers)."""
    p = dict(name="p1", auth_type="openai", base_url="http://127.0.0.1:18090/v1", api_key=CANARY,
             models=["qwenops/stub-coder"])
    p.update(over)
    return {k: v for k, v in p.items() if v is not MISSING}


def creds(**over):
    c = dict(CREDS, **over)
    return {k: v for k, v in c.items() if v is not MISSING}


CASES = {
    # name: (overrides, text the failure must contain)
    "unknown_provider": ({"qwen_code_provider": "openrouterr"}, "qwen_code_provider"),
    "custom_without_base_url": ({"qwen_code_base_url": ""}, "qwen_code_base_url is empty"),
    "missing_key": ({"qwen_code_api_key": MISSING}, "qwen_code_api_key"),
    "empty_key": ({"qwen_code_api_key": ""}, "qwen_code_api_key is empty"),
    "key_with_newline": ({"qwen_code_api_key": CANARY + "\n"}, "stray newline"),
    "missing_model": ({"qwen_code_model": MISSING}, "qwen_code_model"),
    "model_with_space": ({"qwen_code_model": "qwen coder"}, "qwen_code_model must be"),
    "user_does_not_exist": ({"qwen_code_users": ["alice", "nosuchuser"]}, "do not exist on"),
    "no_users": ({"qwen_code_users": []}, "qwen_code_users must be a non-empty list"),
    "malformed_url": ({"qwen_code_base_url": "htps:/api.example.com v1"}, "is not a valid http(s) URL"),
    "url_with_credentials": ({"qwen_code_base_url": "https://user:pw@api.example.com/v1"},
                             "is not a valid http(s) URL"),
    "plain_http_remote": ({"qwen_code_base_url": "http://api.example.com/v1"}, "plain http to a non-loopback"),
    "unknown_release": ({"qwen_code_version": "0.8.2"}, "is not a release this collection knows"),
    # a known series, but not a release whose tarball the collection knows: trusting the registry is opt-in
    "release_not_in_the_table": ({"qwen_code_version": "0.24.3"}, "qwen_code_allow_unpinned_tree: true"),
    "bad_node_method": ({"qwen_code_node_method": "nvm"}, "qwen_code_node_method"),
    "distro_node_too_old": ({"qwen_code_node_method": "distro"}, "ships Node 18"),
    "system_node_missing": ({"qwen_code_node_method": "system"}, "no usable node found"),
    "ca_bundle_missing": ({"qwen_code_ca_bundle": "/nonexistent/ca.pem"}, "is not a file on the controller"),
    "ca_bundle_not_pem": ({"qwen_code_ca_bundle": "/etc/hostname"}, "holds no PEM certificate"),
    "bad_proxy": ({"qwen_code_https_proxy": "proxy.example.com:3128"}, "qwen_code_https_proxy"),
    "bad_auth_type": ({"qwen_code_auth_type": "oauth"}, "qwen_code_auth_type"),
    "bad_verify_policy": ({"qwen_code_verify": "sometimes"}, "qwen_code_verify"),
    "artifact_cache_is_a_file": ({"qwen_code_artifact_cache": "/etc/hostname"}, "must be an absolute path of a"),
    "qwen_oauth_refused_by_release": ({"qwen_code_auth_type": "qwen-oauth"}, "refuses it"),
    "creds_missing_field": ({"qwen_code_oauth_creds": creds(refresh_token=MISSING)}, "refresh_token is missing"),
    "creds_wrong_type": ({"qwen_code_oauth_creds": creds(expiry_date="2100-01-01")}, "expiry_date must be a number"),
    "creds_seconds_not_ms": ({"qwen_code_oauth_creds": creds(expiry_date=4102444800)}, "looks like seconds"),
    "creds_file_not_json": ({"qwen_code_oauth_creds_file": "/etc/hostname"}, "not valid JSON"),
    "creds_for_unknown_user": ({"qwen_code_oauth_creds": {"carol": CREDS}}, "not in qwen_code_users"),
    "creds_shared_by_two_users": ({"qwen_code_users": ["alice", "bob"], "qwen_code_oauth_creds": CREDS},
                                  "The same qwen refresh token would go to"),
    # A vault block scalar adds a trailing newline, which a $-anchored regex let through.
    "base_url_trailing_newline": ({"qwen_code_base_url": "http://127.0.0.1:18090/v1\n"},
                                  "qwen_code_base_url 'http://127.0.0.1:18090/v1"),
    "proxy_trailing_newline": ({"qwen_code_https_proxy": "http://127.0.0.1:3128\n"},
                               "qwen_code_https_proxy 'http://127.0.0.1:3128"),
    "proxy_with_a_path": ({"qwen_code_http_proxy": "http://127.0.0.1:3128/proxy"}, "qwen_code_http_proxy"),
    "no_proxy_with_a_quote": ({"qwen_code_no_proxy": "localhost,'.corp.example'"}, "qwen_code_no_proxy"),
    "loopback_lookalike": ({"qwen_code_base_url": "http://127.attacker.example/v1"}, "plain http to a non-loopback"),
    "install_root_injects_a_command": ({"qwen_code_install_root": "/opt/qwen-code\ntouch /tmp/pwned"},
                                       "qwen_code_install_root"),
    "install_root_relative": ({"qwen_code_install_root": "opt/qwen-code"}, "qwen_code_install_root"),
    "launcher_path_with_a_command": ({"qwen_code_launcher_path": "/usr/local/bin/qwen$(id)"},
                                     "qwen_code_launcher_path"),
    "registry_with_a_password": ({"qwen_code_npm_registry": "https://u:pw@registry.npmjs.org"},
                                 "qwen_code_npm_auth_token"),
    "token_with_a_newline": ({"qwen_code_npm_auth_token": "npm_token\n"}, "qwen_code_npm_auth_token"),
    "trusted_folder_relative": ({"qwen_code_trusted_folders": ["src/project"]}, "qwen_code_trusted_folders"),
    "user_without_a_home": ({"qwen_code_users": ["alice", "nohome"]}, "without a home directory"),
    # Several providers, a key per user.
    "unknown_auth_type_of_a_provider": ({"qwen_code_providers": [provider(auth_type="bedrock")]},
                                        "qwen_code_providers"),
    "provider_without_a_key": ({"qwen_code_users": [{"name": "alice", "providers": [provider(api_key=MISSING)]}]},
                               "qwen_code_users[alice].providers[p1].api_key is empty"),
    "two_providers_one_name": ({"qwen_code_providers": [provider(), provider(models=["other"])]},
                               "qwen_code_providers has two providers named p1"),
    "anthropic_base_url_with_v1": ({"qwen_code_providers": [provider(auth_type="anthropic",
                                                                     base_url="http://127.0.0.1:18090/v1")]},
                                   "ends in /v1"),
    "empty_model_list": ({"qwen_code_users": [{"name": "alice", "providers": [provider(models=[])]}]},
                         "qwen_code_users[alice].providers[p1].models must be a non-empty list"),
    "protocol_the_release_lacks": ({"qwen_code_version": "0.23.4", "qwen_code_auth_type": "openai-responses"},
                                   "is not supported by qwen 0.23.4"),
    "user_key_with_a_newline": ({"qwen_code_users": [{"name": "alice", "api_key": CANARY + "\n"}]},
                                "qwen_code_users[alice].api_key contains whitespace"),
    # Policy and life cycle: nothing secret in the system files, nothing removable that is not the role's.
    "managed_settings_with_a_secret": ({"qwen_code_managed_settings": {
        "mcpServers": {"tickets": {"httpUrl": "https://mcp.example/mcp", "headers": {"Authorization": CANARY}}}}},
        "qwen_code_managed_settings holds a literal value where a secret may be, at MCP server tickets: "
        "headers.Authorization"),
    "mcp_server_with_a_token": ({"qwen_code_mcp_servers": {"t": {"command": "t", "env": {"T_TOKEN": CANARY}}}},
                                "qwen_code_mcp_servers holds a literal value where a secret may be, at MCP server t: "
                                "env.T_TOKEN"),
    "mcp_server_with_a_key_header_and_url": ({"qwen_code_mcp_servers": {"t": {
        "httpUrl": "https://mcp.example/mcp?api_key=" + CANARY, "headers": {"X-API-Key": CANARY}}}},
        "at MCP server t: headers.X-API-Key, httpUrl (query parameter api_key)"),
    "default_settings_set_the_version": ({"qwen_code_default_settings": {"$version": 9}}, "may not set $version"),
    "install_root_is_a_system_directory": ({"qwen_code_install_root": "/usr/local"},
                                           "is a directory of the filesystem hierarchy"),
    "user_both_present_and_absent": ({"qwen_code_users_absent": ["alice"]},
                                     "qwen_code_users_absent and qwen_code_users both name alice"),
    "keep_no_release": ({"qwen_code_keep_releases": 0}, "qwen_code_keep_releases must be at least 1"),
    "unknown_sandbox": ({"qwen_code_sandbox": "firejail"}, "qwen_code_sandbox must be"),
    "unknown_approval_mode": ({"qwen_code_approval_mode": "always"}, "qwen_code_approval_mode"),
    "approval_auto_before_0_21": ({"qwen_code_version": "0.15.10", "qwen_code_approval_mode": "auto"},
                                  "qwen_code_approval_mode auto needs qwen 0.21"),
    "managed_model_the_release_ignores": ({"qwen_code_version": "0.12.0",
                                           "qwen_code_managed_settings": {"model": {"name": "qwenops/other"}}},
                                          "which qwen 0.12.0 ignores"),
}


def case_vars(overrides):
    variables = dict(GOOD_VARS)
    for key, value in overrides.items():
        if value is MISSING:
            variables.pop(key)
        else:
            variables[key] = value
    return variables


def test_good_run_keeps_the_key_out_of_output_diffs_and_ps(installed_host):
    run = installed_host.first_run
    assert "changed=" in run.output and "failed=0" in run.output
    assert "--- before" in run.output, "the run was expected to show diffs"
    assert CANARY not in run.output
    assert run.ps_samples, "no process samples taken"
    assert not [s for s in run.ps_samples if CANARY in s]
    # The headers of qwen_code_settings reached the users' files. The canary is the .env's key too, which Ansible
    # hides wherever it shows: that the module masked the headers itself shows in the whole values masked, scheme
    # word included (a header secret that is no .env value would show otherwise).
    written = json.loads(installed_host.sh("cat /home/alice/.qwen/settings.json").stdout)
    same = written.get("qwenopsCanary") == SETTINGS_WITH_HEADERS["qwenopsCanary"]  # a boolean: never print the canary
    assert same, "qwen_code_settings was not written to alice's settings.json"
    assert '"Authorization": "********"' in run.output and '"X-API-Key": "********"' in run.output
    assert '"Authorization": "Bearer ********"' not in run.output


def test_no_digest_of_a_key_shows_in_the_output(runner, installed_host):
    """The manifest's digests (of the inputs, of each .env) cover keys, unsalted: in a log, they would let a reader
    confirm a guessed key. A first run and a re-run, both at -vvv --diff, show none of them."""
    manifest = installed_host.sh("cat /var/lib/qwen-code/manifest.json").stdout
    digests = set(re.findall(r"sha256:[0-9a-f]{64}", manifest))
    assert json.loads(manifest)["inputs_digest"] in digests and len(digests) >= 3, digests
    rerun = runner.play(installed_host, installed_host.good_vars, "good-rerun-digests", extra_args=["--diff"])
    assert rerun.returncode == 0, rerun.output[-3000:]
    for output in (installed_host.first_run.output, rerun.output):
        assert not [d for d in digests if d in output or d.split(":")[1] in output]


def failure_of(output, alias):
    """What the run printed about one inventory alias's failure (`fatal: [alias]: FAILED! => {...}`, or a loop's
    `failed: [alias] (item=...) => {...}` for each failed item), or None."""
    start = r"^(?:fatal: \[{0}\]: FAILED!|failed: \[{0}\] \(item=[^\n]*?\))".format(re.escape(alias))
    found = re.findall(start + r" => .*?^\}$", output, re.M | re.S)
    return "\n".join(found) if found else None


class BadRuns:
    """Every case of CASES against the installed host, several cases to a run: each case is an inventory alias of
    the same container with the case's variables as host variables (the same values a run of its own gets as extra
    variables). A case counts as refused by such a run when the run failed and that alias's failure shows the
    expected text. The preflight stops every host once one fails it (any_errors_fatal), so the cases refused by a
    later task (the credentials' checks) get a run of their own aliases next; what is still not refused after a
    round that refused nothing gets a run of its own, exactly as before. A run that changed the host (snapshot
    before and after) refuses none of its cases: each gets a run of its own, which says which one did it. After
    each run, qwen must still answer as alice (asked once a run).
    The 60 cases: 4 runs (53, 1, 1 and 4 cases) and one of its own instead of 60 runs. On a loaded machine (20 s a
    run) they took 377 s, the installed host's setup included, against about 1200 s for 60 runs."""

    def __init__(self, runner, host):
        self.runner, self.host, self.results = runner, host, {}
        pending, batch = sorted(CASES), 0
        while len(pending) > 1:
            batch += 1
            refused = self._batch(pending, "bad-cases-%d" % batch)
            if not refused:
                break
            pending = [name for name in pending if name not in refused]

    def _batch(self, names, log_name):
        before = self.host.snapshot()
        targets = []
        for name in names:
            target = type("Alias", (), {})()
            target.name = "bad-" + name
            target.host_vars = dict(case_vars(CASES[name][0]), ansible_host=self.host.name)
            targets.append(target)
        # No extra variables: they would win over each alias's own.
        run = self.runner.play(targets, {}, log_name, extra_args=["--forks", "8"])
        if run.returncode == 0 or self.host.snapshot() != before:
            return set()
        refused, answer = set(), self.answer()
        for name in names:
            failure = failure_of(run.output, "bad-" + name)
            if failure is not None and CASES[name][1] in failure:
                self.results[name] = (run.returncode, failure, run.output, True, answer)
                refused.add(name)
        return refused

    def answer(self):
        """What `qwen --version` says as alice: the previous working install still answers after a refused run."""
        return self.host.sh("runuser -l alice -c 'qwen --version'", check=False).stdout.strip()

    def result(self, name):
        """Of the run that refused the case: its returncode, what it printed about this case (the alias's failure,
        or the whole output of a run of its own), its whole output, whether the host was left as it was, and what
        `qwen --version` answered after it."""
        if name not in self.results:
            before = self.host.snapshot()
            run = self.runner.play(self.host, case_vars(CASES[name][0]), "bad-" + name)
            unchanged = self.host.snapshot() == before
            self.results[name] = (run.returncode, run.output, run.output, unchanged, self.answer())
        return self.results[name]


@pytest.fixture(scope="module")
def bad_runs(runner, installed_host):
    return BadRuns(runner, installed_host)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_fails_before_any_change(bad_runs, name):
    expected = CASES[name][1]
    returncode, failure, output, unchanged, answer = bad_runs.result(name)
    assert returncode != 0, output[-2000:]
    assert expected in failure, failure[-3000:]
    assert CANARY not in output
    assert unchanged, "a failed run changed the host"
    # The previous working install still answers.
    assert answer == DEFAULT


def test_one_bad_host_stops_every_host_before_any_change(runner, installed_host, other_os_host):
    """any_errors_fatal on the preflight: a host that fails it stops the play for all hosts, so the good host (which
    this run would change: another model) is left as it was."""
    before = installed_host.snapshot()
    run = runner.play([installed_host, other_os_host], dict(GOOD_VARS, qwen_code_model="another-model"),
                      "bad-one_bad_host_of_two")
    assert run.returncode != 0
    assert "installs the nodejs package with apt, which this host (Rocky 9.4" in run.output, run.output[-3000:]
    assert installed_host.snapshot() == before, "the good host changed although another host failed the preflight"


def test_a_platform_the_node_method_cannot_serve_fails_before_any_change(runner, other_os_host):
    before = other_os_host.snapshot()
    run = runner.play(other_os_host, GOOD_VARS, "bad-unsupported_platform")
    assert run.returncode != 0
    assert "installs the nodejs package with apt, which this host (Rocky 9.4, package manager: none)" in run.output, \
        run.output[-3000:]
    assert other_os_host.snapshot() == before


def test_an_install_root_on_a_way_others_can_write_to_is_refused(runner, installed_host):
    installed_host.sh("mkdir -p -m 0777 /srv/shared")
    before = installed_host.snapshot()
    try:
        run = runner.play(installed_host, dict(GOOD_VARS, qwen_code_install_root="/srv/shared/qwen"),
                          "bad-install_root_under_a_shared_directory")
        assert run.returncode != 0
        assert "/srv/shared, on its way, is writable by its group and others (mode 0777)" in run.output, \
            run.output[-3000:]
        assert installed_host.snapshot() == before
        assert installed_host.sh("ls -A /srv/shared").stdout == ""
    finally:
        installed_host.sh("rm -rf /srv/shared")


def test_uninstall_pointed_at_a_directory_of_data_removes_none_of_it(runner):
    """The review's slip: -e qwen_code_state=absent -e qwen_code_install_root=/srv/data removed /srv/data and the
    files under it, though it never held qwen."""
    host = Container(TEST_IMAGE, "uninstall-data")
    try:
        host.sh("useradd -m alice && mkdir -p /srv/data/db /srv/data/cli && echo rows > /srv/data/db/table "
                "&& echo mine > /srv/data/cli/notes && echo keep > /srv/data/README")
        before = host.sh("find /srv/data -printf '%p %s\\n' | sort").stdout
        run = runner.play(host, dict(GOOD_VARS, qwen_code_state="absent", qwen_code_install_root="/srv/data"),
                          "uninstall-data-directory")
        assert run.returncode == 0, run.output[-3000:]
        assert host.sh("find /srv/data -printf '%p %s\\n' | sort").stdout == before
    finally:
        host.remove()
