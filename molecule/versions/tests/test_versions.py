"""Each release answers, with the settings schema it expects (so it never rewrites settings.json)."""
import json

from molecule_verify import as_user
from releases import DEFAULT


def test_release_answers_with_its_own_settings_schema(host):
    variables = host.ansible.get_variables()
    expected = variables.get("qwen_code_version") or DEFAULT
    assert host.check_output(as_user("alice", "qwen --version")).strip() == expected
    settings = json.loads(host.file("/home/alice/.qwen/settings.json").content_string)
    assert settings["$version"] == variables["qwen_test_settings_version"]
    # The system file too, or the CLI (run as root) would migrate and rewrite it.
    system = json.loads(host.file("/etc/qwen-code/settings.json").content_string)
    assert system["$version"] == variables["qwen_test_settings_version"]
    answer = host.run(as_user("alice", "cd /srv && echo test | qwen -p summarize"))
    assert answer.rc == 0, answer.stderr
    assert "QWENOPS-STUB-ANSWER" in answer.stdout


def test_self_update_is_off_in_the_key_this_release_reads(host):
    # 0.7 reads general.disableAutoUpdate; later releases general.enableAutoUpdate (docs/RELEASES.md).
    version = host.check_output(as_user("alice", "qwen --version")).strip()
    system = json.loads(host.file("/etc/qwen-code/settings.json").content_string)
    expected = {"disableAutoUpdate": True} if version.startswith("0.7.") else {"enableAutoUpdate": False}
    assert system["general"] == expected
