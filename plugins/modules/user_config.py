#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: user_config
short_description: Configure the qwen CLI for several users at once (~/.qwen, .env and settings.json)
version_added: "0.1.0"
description:
  - For each user in O(inputs.users), makes sure that C(~/.qwen) is a directory of that user with mode C(0700), that
    C(~/.qwen/.env) holds exactly the variables in O(inputs.env) (mode C(0600)), and that C(~/.qwen/settings.json)
    (mode C(0600)) contains the keys in O(inputs.settings), merged into what is there.
  - One call configures every user of a host, so a run with nothing to change costs one round trip.
  - settings.json is merged, never clobbered, and compared by content (see M(qwenops.qwen_code.qwen_settings)).
    Keys the users or the CLI added are kept, and the CLI re-serialising the file is not a change. A file that is
    not valid JSON is saved as C(settings.json.invalid-<timestamp>) and replaced, with a warning.
  - Everything inside a home is done B(as that user), by a child process that drops to the user's uid, gid and
    groups before it touches the home. A link a user plants anywhere in the path (even one swapped in while the
    module runs) gets only that user's own rights, never those of root. Homes on NFS with C(root_squash) work too.
  - Files are written through a temporary file with mode C(0600) that is renamed into place. A symbolic link where
    a file should be is replaced by a file; C(~/.qwen) may be a symbolic link only to a directory the user owns.
    A file of the right content that belongs to someone else (root, after a C(sudo qwen) that kept C(HOME)) is
    replaced by the user's own copy; a C(~/.qwen) that belongs to someone else is refused with the command that
    fixes it (only root could change its owner, and root never acts by path in a home).
  - A user whose home cannot be configured does not stop the others. Every user that can be configured is, then
    the module fails naming the users that could not be, and why (RV(failed_users)).
  - A settings file that is not valid JSON is replaced only after the new file is on disk; its old content is
    kept as C(settings.json.invalid-<timestamp>).
  - In the diff, every value of the .env file and every secret of settings.json are masked. A secret is the value
    of a key such as C(apiKey), C(Authorization), C(X-API-Key), C(token), C(password) or C(cookie), any value of an
    C(env) or C(headers) dict, a key-looking query parameter or the password of a URL, and the value of a key flag
    in a list (C(--api-key=X), C(--token X)); a C($NAME) or C(${NAME}) reference is none, and shows.
  - The settings keys whose type the CLI depends on are written in that type in every file (O(inputs.settings),
    O(inputs.per_user_settings), O(inputs.system_settings), O(inputs.system_defaults)), as
    M(qwenops.qwen_code.qwen_settings) does (C($version) an integer, the switches for folder trust, usage statistics,
    telemetry and self-update booleans), even when the controller's templating made them strings such as C("4") or
    C("False").
author:
  - qwenops contributors (@qwenops)
options:
  inputs:
    description:
      - Everything the call configures, in one structure (the role passes exactly these keys). Its digest (over the
        inputs with their types, the keys included) is recorded in the manifest as C(inputs_digest); the role's
        next run skips this module when O(qwenops.qwen_code.install_info#module:inputs_digest) finds the same digest
        there and O(qwenops.qwen_code.install_info#module:drift) finds every file as recorded, with the modes this
        module sets. Recording a new digest alone does not count as a change. The digest is never returned.
      - Holds keys, so it is never logged; in the results, only the values of the C(.env) files and the secrets of
        the settings are hidden.
    type: dict
    default: {}
    version_added: "0.1.0"
    suboptions:
      users:
        description: Existing accounts to configure (with O(state=present)).
        type: list
        elements: str
        default: []
      env:
        description:
          - Variables written to each user's C(~/.qwen/.env) as C(NAME='value') lines, in this order. The CLI reads
            this file from any working directory. Values may not contain a single quote or a line break.
          - Holds the provider's API key, so it is never logged.
        type: dict
        default: {}
      settings:
        description:
          - Settings merged recursively into each user's C(~/.qwen/settings.json).
          - May hold secrets (the file is the user's, mode C(0600)). They are masked wherever they would show, and the
            option is never logged.
        type: dict
        default: {}
      per_user_env:
        description:
          - User name to the variables of that user's C(.env), replacing O(inputs.env) for that user (each user's own
            keys).
          - Holds keys, so it is never logged.
        type: dict
        default: {}
      per_user_settings:
        description:
          - User name to settings merged over O(inputs.settings) for that user (each user's auth type, model and
            modelProviders, and qwen_code_settings). Secrets are masked wherever they would show, and the option is
            never logged.
        type: dict
        default: {}
      trusted_folders:
        description:
          - Folder trust rules merged into each user's C(~/.qwen/trustedFolders.json), as path to level
            (C(TRUST_FOLDER), C(TRUST_PARENT) or C(DO_NOT_TRUST)); rules already there, such as the user's own, are
            kept.
          - With folder trust on (see O(inputs.system_settings)), qwen ignores the C(.env) and C(.qwen/settings.json) of
            every folder that is not trusted, and forces the approval mode C(default) there. From qwen 0.21 on, the
            deepest matching rule wins, so a C(DO_NOT_TRUST) rule for C(/) plus C(TRUST_FOLDER) rules trusts exactly
            those folders.
          - A trusted folder's files can change where the key goes and start programs that see it. Trust only folders
            whose content the users control.
        type: dict
        default: {}
      system_settings:
        description:
          - Settings merged into the system settings file O(inputs.system_settings_path) (root-owned, mode C(0644), in a
            root-owned directory that is created when missing). qwen reads it for every user and it outranks the
            user's and every workspace's settings, so what it holds is enforced.
          - Never put a secret here, since every user can read the file.
        type: dict
        default: {}
      system_settings_path:
        description: The system settings file.
        type: path
        default: /etc/qwen-code/settings.json
      system_defaults:
        description:
          - Settings merged into the system defaults file O(inputs.system_defaults_path) (root-owned, mode C(0644)).
            qwen reads it for every user below the user's own settings, so users may override what it holds.
          - Never put a secret here, since every user can read the file.
        type: dict
        default: {}
      system_defaults_path:
        description: The system defaults file.
        type: path
        default: /etc/qwen-code/system-defaults.json
      absent_users:
        description:
          - Users to offboard. As each user, removes C(~/.qwen/.env) (the key), C(oauth_creds.json) and its lock,
            settings files saved aside as invalid, and the keys the role wrote into C(settings.json) and
            C(trustedFolders.json) (those the manifest records; without a record, the keys that point the CLI at a
            provider). A file left empty is removed. The user's own keys and files stay unless O(inputs.purge=true).
          - An account that no longer exists is still offboarded when the manifest records its uid and home.
        type: list
        elements: str
        default: []
      purge:
        description: With O(inputs.absent_users) (or O(state=absent)), remove each such user's whole C(~/.qwen) instead.
        type: bool
        default: false
      oauth_users:
        description: Users whose C(oauth_creds.json) the role deploys (recorded in the manifest, not written here).
        type: list
        elements: str
        default: []
      manifest_path:
        description:
          - The record of what the role wrote on this host (root's, mode C(0600), in a C(0700) directory). With it, keys
            the role wrote before and manages no more are removed from each file, and the record is updated - for each
            user the digest of C(.env) and the key paths and digest of the managed values of C(settings.json) and
            C(trustedFolders.json); the same for the system files. It never holds a secret.
          - Without it, nothing is recorded and nothing stale is removed.
        type: path
  state:
    description:
      - C(present) configures O(inputs.users) and offboards O(inputs.absent_users).
      - C(absent) undoes everything the manifest records (and what O(inputs.system_settings) and
        O(inputs.system_defaults) name). Every recorded user and every user of O(inputs.users) or O(inputs.absent_users)
        is offboarded, the role's keys leave the system files (a file left empty is removed, and its directory when
        empty), and the manifest is removed.
    type: str
    choices: [present, absent]
    default: present
  manifest_facts:
    description:
      - What the role installed, recorded as is in the manifest (C(install_root), C(launcher), C(ca_bundle),
        C(active)); a new C(active) release is appended to the manifest's C(history).
    type: dict
    default: {}
  header:
    description: Comment lines written at the top of each C(.env).
    type: str
    default: "Managed by Ansible (qwenops.qwen_code): local edits are overwritten.\nRead by the qwen CLI from any working directory."
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.diff
notes:
  - Runs as root (or as the only user in O(inputs.users)). Each user's part runs with that user's identity.
seealso:
  - module: qwenops.qwen_code.qwen_settings
"""

EXAMPLES = r"""
- name: Point alice and bob at OpenRouter
  qwenops.qwen_code.user_config:
    inputs:
      users: [alice, bob]
      env:
        OPENAI_API_KEY: "{{ vault_openrouter_key }}"
        OPENAI_BASE_URL: https://openrouter.ai/api/v1
        OPENAI_MODEL: qwen/qwen3-coder
      settings:
        $version: 4
        security:
          auth:
            selectedType: openai
        privacy:
          usageStatisticsEnabled: false
  no_log: true
"""

RETURN = r"""
users:
  description:
    - For each configured user, what changed (C(directory), C(env), C(settings), C(trusted_folders)); an empty list
      when nothing did.
  returned: always
  type: dict
  sample: {"alice": ["env"], "bob": []}
backup_files:
  description: Invalid settings files saved aside, by user.
  returned: when a settings.json was not valid JSON
  type: dict
system:
  description: By system file, what changed in it (C(directory), C(settings)).
  returned: when O(inputs.system_settings) or O(inputs.system_defaults) is given, or the manifest records a system file
  type: dict
absent_users:
  description: For each offboarded user, what was removed (file names, C(settings), C(trusted_folders), C(purged)).
  returned: always
  type: dict
  sample: {"carol": [".env", "oauth_creds.json", "settings"]}
manifest:
  description: The record written to O(inputs.manifest_path) (key paths, releases), without its digests (they stay on
    the host).
  returned: when O(inputs.manifest_path) is given and O(state=present)
  type: dict
manifest_changed:
  description: Whether the manifest was (or would be) written or removed.
  returned: when it was
  type: bool
failed_users:
  description: Users that could not be configured (the message says why).
  returned: when the module fails for some users
  type: list
  elements: str
"""

import collections
import os
import pwd
import shutil
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import (
    FILE_MODE, SYSTEM_FILE_MODE, HomeFailure, env_diff, file_state, fix_file, merge, merge_json_file,
    normalise_managed, private_dir, read_settings, render_env, render_settings)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._secrets import (
    HIDDEN_MIN_LENGTH, _leaves, mask, secret_values)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._config_inputs import SPEC
from ansible_collections.qwenops.qwen_code.plugins.module_utils import _config_inputs
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import (
    ROOT_ONLY_DIR, atomic_write, root_only_dir, temporaries)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import UserHomeError, as_user
from ansible_collections.qwenops.qwen_code.plugins.module_utils import _manifest

# What an offboarding removes from a settings.json the manifest has no record of (a host configured before the
# manifest existed): the keys that point the CLI at a provider and a key.
UNRECORDED_USER_KEYS = [["security", "auth", "selectedType"], ["security", "auth", "apiKey"],
                        ["security", "auth", "baseUrl"], ["model", "name"], ["modelProviders"]]
# Files of ~/.qwen an offboarding removes whole: the key, the credentials, and settings saved aside as invalid (they
# may hold a key).
OFFBOARD_FILES = (".env", "oauth_creds.json", "oauth_creds.lock")
# The files of ~/.qwen the collection writes through temporary files (atomic_write): a run killed between the two
# leaves one behind, which may hold a key. Configuring removes those older than STALE_TEMPORARY seconds (a younger
# one may be another run's, still writing); offboarding removes them all.
WRITTEN_FILES = (".env", "settings.json", "trustedFolders.json", "oauth_creds.json")
STALE_TEMPORARY = 60
Passwd = collections.namedtuple("Passwd", "pw_name pw_uid pw_gid pw_dir")


class Plan(object):
    """What configuring one user changed (or would change), collected inside the process acting as that user."""

    def __init__(self, check_mode, want_diff):
        self.check_mode, self.want_diff = check_mode, want_diff
        self.changes, self.diffs, self.warnings, self.backups = [], [], [], []


def configure_env(plan, pw, directory, text):
    path = os.path.join(directory, ".env")
    current, st = file_state(path)
    if current != text:
        plan.changes.append("env")
        if plan.want_diff:
            plan.diffs.append(env_diff(path, current, text))
        if not plan.check_mode:
            atomic_write(path, text, uid=pw.pw_uid, gid=pw.pw_gid, mode=FILE_MODE)
        return
    fix_file(path, text, st, pw.pw_uid, pw.pw_gid, plan.check_mode, plan.changes, "env")


def merge_json(plan, uid, gid, path, managed, what, remove=(), mode=FILE_MODE):
    """Merge managed into the JSON file at path (after removing the key paths in remove). Returns what it holds."""
    done = merge_json_file(path, managed, uid, gid, mode, plan.check_mode, plan.want_diff, remove)
    plan.warnings.extend(done["warnings"])
    if "diff" in done:
        plan.diffs.append(done["diff"])
    if "backup_file" in done:
        plan.backups.append(done["backup_file"])
    if done["changed"]:
        plan.changes.append(what)
    return done["desired"]


def merge_managed(plan, uid, gid, path, managed, recorded, what, mode=FILE_MODE):
    """Merge managed into the JSON file at path, first removing the keys the manifest recorded (recorded: that
    file's record) that the role manages no more. Returns the file's new record: key paths and managed digest."""
    keys = _manifest.leaf_paths(normalise_managed(managed))
    remove = _manifest.stale_paths((recorded or {}).get("keys") or [], keys)
    desired = merge_json(plan, uid, gid, path, managed, what, remove, mode)
    return dict(keys=keys, digest=_manifest.managed_digest(desired, keys))


def unmanage_json(plan, uid, gid, path, keys, what, mode=FILE_MODE):
    """Remove the key paths in keys from the JSON file at path; a file left empty is removed."""
    current, raw, invalid = read_settings(path) if os.path.isfile(path) and not os.path.islink(path) else ({}, None, None)
    if raw is None:
        return
    if invalid:
        plan.warnings.append("%s is not valid JSON (%s): left as it is" % (path, invalid))
        return
    left = _manifest.remove_paths(current, keys)
    if left == current:
        return
    plan.changes.append(what)
    if plan.want_diff:
        plan.diffs.append(dict(before_header=path, after_header=path, before=render_settings(mask(current)),
                               after=render_settings(mask(left)) if left else ""))
    if plan.check_mode:
        return
    if left:
        atomic_write(path, render_settings(left), uid=uid, gid=gid, mode=mode)
    else:
        os.unlink(path)


def system_file(module, path, managed, recorded):
    """Merge managed into a system settings file (root's, in a root-owned directory, mode 0644), first removing what
    the role wrote there before and manages no more. Returns (plan, record)."""
    plan = Plan(module.check_mode, module._diff)
    directory = os.path.dirname(path)
    st = os.lstat(directory) if os.path.lexists(directory) else None
    if st is None and not managed:
        return plan, None
    if st is None:
        plan.changes.append("directory")
        if not module.check_mode:
            os.makedirs(directory, 0o755)
            os.chmod(directory, 0o755)
    elif not root_only_dir(st):
        raise HomeFailure(ROOT_ONLY_DIR % directory)
    if not managed:
        unmanage_json(plan, 0, 0, path, (recorded or {}).get("keys") or [], "settings", SYSTEM_FILE_MODE)
        return plan, None
    if st is None and module.check_mode:
        return plan, None
    return plan, merge_managed(plan, 0, 0, path, managed, recorded, "settings", SYSTEM_FILE_MODE)


def configure_user(pw, env_text, settings, trusted_folders, recorded, check_mode, want_diff):
    """Everything for one user, run with that user's identity (see _user_home). Returns a JSON-able dict."""
    plan = Plan(check_mode, want_diff)
    if not os.path.isdir(pw.pw_dir):
        raise HomeFailure("the home directory %s does not exist (or is not reachable as this user)" % pw.pw_dir)
    directory = private_dir(os.path.join(pw.pw_dir, ".qwen"), pw.pw_uid, pw.pw_gid, check_mode, plan.changes)
    # In check mode a missing ~/.qwen stays missing: its files then read as absent.
    inside = directory or os.path.join(pw.pw_dir, ".qwen")
    configure_env(plan, pw, inside, env_text)
    files = {".env": dict(digest=_manifest.file_digest(env_text))}
    for name, managed in (("settings.json", settings), ("trustedFolders.json", trusted_folders)):
        path = os.path.join(inside, name)
        what = "settings" if name == "settings.json" else "trusted_folders"
        if managed:
            files[name] = merge_managed(plan, pw.pw_uid, pw.pw_gid, path, managed, recorded.get(name), what)
        elif (recorded.get(name) or {}).get("keys"):
            unmanage_json(plan, pw.pw_uid, pw.pw_gid, path, recorded[name]["keys"], what)
    remove_temporaries(plan, inside, STALE_TEMPORARY)
    return dict(changes=plan.changes, diffs=plan.diffs, warnings=plan.warnings, backups=plan.backups, files=files)


def remove_temporaries(plan, directory, older_than):
    """Removes what killed runs left of the files the collection writes (see WRITTEN_FILES)."""
    for path in temporaries(directory, WRITTEN_FILES, older_than):
        plan.changes.append("leftover %s" % os.path.basename(path))
        if not plan.check_mode:
            os.unlink(path)


def offboard_user(home, uid, gid, recorded, purge, check_mode, want_diff):
    """Remove what the role gave one user (run with that user's identity): the key (.env), the credentials, the
    role's keys in settings.json and trustedFolders.json, settings saved aside as invalid; with purge the whole
    ~/.qwen. Returns a JSON-able dict."""
    plan = Plan(check_mode, want_diff)
    qwen_dir = os.path.join(home, ".qwen")
    if not os.path.lexists(qwen_dir):
        return dict(changes=[], diffs=[], warnings=[])
    if os.path.islink(qwen_dir):
        real = os.path.realpath(qwen_dir)
        st = os.lstat(real) if os.path.lexists(real) else None
        if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
            raise HomeFailure("%s is a symbolic link to %s, which is not a directory of this user: refusing to "
                              "follow it" % (qwen_dir, real))
    else:
        real = qwen_dir
        if not os.path.isdir(real):
            raise HomeFailure("%s is not a directory" % qwen_dir)
    if purge:
        plan.changes.append("purged")
        if not check_mode:
            shutil.rmtree(real)
            if real != qwen_dir:
                os.unlink(qwen_dir)
        return dict(changes=plan.changes, diffs=plan.diffs, warnings=plan.warnings)
    remove_temporaries(plan, real, 0)
    names = list(OFFBOARD_FILES) + sorted(n for n in os.listdir(real) if n.startswith("settings.json.invalid-"))
    for name in names:
        path = os.path.join(real, name)
        if os.path.lexists(path):
            plan.changes.append(name)
            if not check_mode:
                os.unlink(path)
    keys = (recorded.get("settings.json") or {}).get("keys") or UNRECORDED_USER_KEYS
    unmanage_json(plan, uid, gid, os.path.join(real, "settings.json"), keys, "settings")
    trust = (recorded.get("trustedFolders.json") or {}).get("keys") or []
    if trust:
        unmanage_json(plan, uid, gid, os.path.join(real, "trustedFolders.json"), trust, "trusted_folders")
    return dict(changes=plan.changes, diffs=plan.diffs, warnings=plan.warnings)


def account(name, record):
    """The pwd entry of name, or one built from the manifest's record of an account that is gone (its files are
    still its uid's), or None."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if record and isinstance(record.get("uid"), int) and record.get("home"):
        return Passwd(name, record["uid"], record.get("gid", record["uid"]), record["home"])
    return None


def write_manifest(module, path, manifest, previous_text):
    """Write the manifest (root's, 0600, in a 0700 directory of root). Returns whether it changed."""
    text = _manifest.render(manifest)
    if text == previous_text:
        return False
    if module.check_mode:
        return True
    directory = os.path.dirname(path)
    if not os.path.lexists(directory):
        os.makedirs(directory, 0o700)
        os.chmod(directory, 0o700)
    st = os.lstat(directory)
    if not root_only_dir(st):
        module.fail_json(msg=ROOT_ONLY_DIR % directory)
    atomic_write(path, text, uid=0, gid=0, mode=0o600)
    return True


def read_manifest(module, path):
    if not path:
        return {}, None
    try:
        manifest = _manifest.load(path)
    except (ValueError, IOError, OSError) as e:
        module.fail_json(msg="the manifest %s cannot be used: %s (move it away to start a new record)"
                         % (path, to_native(e)))
    return manifest, (_manifest.render(manifest) if manifest else None)


def visible_inputs(module):
    """The inputs option is no_log (so that AnsibleModule never logs it, in the host's journal either), and
    AnsibleModule hides every value of a no_log option wherever it shows, which would turn every user name, "4" or
    path in the output into ********. Only the .env's values and the settings' secrets stay hidden; the invocation
    echoes the settings masked. Returns the inputs to work with."""
    inputs = module.params["inputs"]
    kept = _leaves([inputs.get("env"), inputs.get("per_user_env")])
    module.no_log_values.difference_update(_leaves(inputs) - kept)
    shown = dict(inputs)
    for name in ("settings", "per_user_settings"):
        # A secret shorter than this is masked in the diff, the results and the invocation all the same; hidden
        # everywhere, a "1" of an env dict would garble every number of the output.
        module.no_log_values.update(v for v in secret_values(inputs.get(name)) if len(v) >= HIDDEN_MIN_LENGTH)
        shown[name] = mask(inputs.get(name))
    module.params["inputs"] = shown
    return inputs


def validate(module):
    """The inputs normalised (_config_inputs.normalise: SPEC's types, the settings' typed keys, trust rules) and
    each .env's text (None: the shared env), checked before any file changes. Fails the module on a problem."""
    try:
        p = _config_inputs.normalise(visible_inputs(module))
    except ValueError as e:
        module.fail_json(msg=to_native(e))
    texts = {}
    for name in [None] + sorted(p["per_user_env"]):
        try:
            texts[name] = render_env(p["env"] if name is None else p["per_user_env"][name], module.params["header"])
        except ValueError as e:
            module.fail_json(msg="env%s: %s" % ("" if name is None else " of %s" % name, to_native(e)))
    both = _config_inputs.configured_and_absent(p["users"], p["absent_users"])
    if both and module.params["state"] == "present":
        module.fail_json(msg="users and absent_users both name %s" % ", ".join(both))
    return p, texts


class Run(object):
    """What the call did so far: the module's result, the diffs, the settings saved aside, the users that failed."""

    def __init__(self, module, present):
        self.module, self.present = module, present
        self.result = dict(changed=False, users={})
        self.diffs, self.backups, self.failed = [], {}, []

    def done(self, key, name, done):
        """Records what one user's (or one system file's) process did."""
        for warning in done["warnings"]:
            self.module.warn(warning)
        self.diffs.extend(done["diffs"])
        self.result.setdefault(key, {})[name] = done["changes"]
        self.result["changed"] = self.result["changed"] or bool(done["changes"])


def configure_system_files(run, p, recorded_system):
    """The system settings and defaults files (with state=absent, the role's keys leave them, and their directory
    goes when left empty). Returns their new records and the key paths the system settings file manages."""
    module, records, system_keys = run.module, {}, []
    for path, managed in ((p["system_settings_path"], p["system_settings"]),
                          (p["system_defaults_path"], p["system_defaults"])):
        record = recorded_system.get(path)
        if not managed and not record and run.present:
            continue
        try:
            plan, new_record = system_file(module, path, managed if run.present else {}, record)
        except (HomeFailure, IOError, OSError) as e:
            module.fail_json(msg="%s: %s" % (path, to_native(e)), **run.result)
        if new_record:
            records[path] = new_record
            if path == p["system_settings_path"]:
                system_keys = [k for k in new_record["keys"] if k != ["$version"]]
        run.done("system", path, dict(changes=plan.changes, diffs=plan.diffs, warnings=[]))
    if not run.present:
        directory = os.path.dirname(p["system_settings_path"])
        if os.path.isdir(directory) and not os.path.islink(directory) and not os.listdir(directory):
            run.result["changed"] = True
            if not module.check_mode:
                os.rmdir(directory)
    return records, system_keys


def configure_users(run, p, texts, recorded_users, system_keys):
    """Each user of p["users"], as that user (with state=present). Returns their new records."""
    module, records, shadowed = run.module, {}, set()
    for name in (p["users"] if run.present else []):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            run.failed.append("%s (the user %s does not exist on this host)" % (name, name))
            continue
        try:
            # A new process per user, with that user's identity: nothing a user planted in a home can redirect it.
            settings = merge(p["settings"], p["per_user_settings"].get(name) or {})
            recorded = (recorded_users.get(name) or {}).get("files") or {}
            done = as_user(pw, configure_user, pw, texts.get(name, texts[None]), settings, p["trusted_folders"],
                           recorded, module.check_mode, module._diff)
        except (UserHomeError, HomeFailure) as e:
            run.failed.append("%s (%s)" % (name, to_native(e)))
            continue
        if done["backups"]:
            run.backups[name] = done["backups"][0]
        run.done("users", name, done)
        files = done["files"]
        if name in p["oauth_users"]:
            files["oauth_creds.json"] = dict(deployed=True)
        records[name] = dict(uid=pw.pw_uid, gid=pw.pw_gid, home=pw.pw_dir, files=files)
        for key in (files.get("settings.json") or {}).get("keys") or []:
            for managed_key in system_keys:
                if key[:len(managed_key)] == managed_key or managed_key[:len(key)] == key:
                    shadowed.add(".".join(managed_key))
    for key in sorted(shadowed):
        module.warn("the managed setting %s (qwen_code_managed_settings, in %s) outranks what the role writes into "
                    "each user's settings.json under that key" % (key, p["system_settings_path"]))
    return records


def offboard_users(run, p, recorded_users, records):
    """The users of p["absent_users"] (with state=absent, everyone recorded or named), as each user. A user that
    could not be offboarded keeps its record (in records). Returns the names offboarded."""
    module = run.module
    everyone = set(recorded_users) | set(p["users"]) | set(p["absent_users"])
    absent = list(p["absent_users"]) if run.present else sorted(everyone)
    run.result["absent_users"] = {}
    for name in absent:
        record = recorded_users.get(name) or {}
        pw = account(name, record)
        if pw is None:
            continue  # no account and no record: nothing of the role's can be there
        try:
            done = as_user(pw, offboard_user, pw.pw_dir, pw.pw_uid, pw.pw_gid, record.get("files") or {},
                           p["purge"], module.check_mode, module._diff)
        except (UserHomeError, HomeFailure) as e:
            run.failed.append("%s (%s)" % (name, to_native(e)))
            records[name] = record
            continue
        run.done("absent_users", name, done)
    return absent


def new_manifest(previous, facts, records, system_records, absent, digest):
    """The manifest after this call: what it recorded of users not offboarded now, this call's records, the facts
    of the host (a new active release joins the history) and the inputs' digest."""
    users = dict((n, r) for n, r in (previous.get("users") or {}).items() if n not in absent)
    users.update(records)
    manifest = dict((k, v) for k, v in previous.items() if k not in ("users", "system", "format"))
    manifest.update(facts)
    if facts.get("active"):
        manifest["history"] = _manifest.with_history(previous.get("history"), facts["active"])
    manifest.update(users=users, system=system_records, inputs_digest=digest)
    return manifest


def record_manifest(run, path, previous, previous_text, manifest):
    """Writes the manifest; a new inputs digest alone is bookkeeping, not a change of the host."""
    if write_manifest(run.module, path, manifest, previous_text):
        run.result["manifest_changed"] = True
        before = dict(manifest, inputs_digest=previous.get("inputs_digest"))
        if previous.get("inputs_digest") is None:
            before.pop("inputs_digest")
        run.result["changed"] = run.result["changed"] or _manifest.render(before) != previous_text
    run.result["manifest"] = _manifest.redacted(manifest)


def remove_manifest(run, path):
    """state=absent: the manifest goes, and its directory when left empty."""
    run.result["changed"] = run.result["manifest_changed"] = True
    if not run.module.check_mode:
        os.unlink(path)
        directory = os.path.dirname(path)
        if not os.listdir(directory):
            os.rmdir(directory)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            inputs=dict(type="dict", default={}, no_log=True, options=SPEC, apply_defaults=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            manifest_facts=dict(type="dict", default={}),
            header=dict(type="str", default="Managed by Ansible (qwenops.qwen_code): local edits are overwritten.\n"
                                            "Read by the qwen CLI from any working directory."),
        ),
        supports_check_mode=True,
    )
    p, texts = validate(module)
    run = Run(module, module.params["state"] == "present")
    previous, previous_text = read_manifest(module, p["manifest_path"])
    recorded_users = previous.get("users") or {}
    system_records, system_keys = configure_system_files(run, p, previous.get("system") or {})
    records = configure_users(run, p, texts, recorded_users, system_keys)
    absent = offboard_users(run, p, recorded_users, records)
    if p["manifest_path"] and run.present:
        manifest = new_manifest(previous, module.params["manifest_facts"], records, system_records, absent,
                                _config_inputs.digest(p))
        record_manifest(run, p["manifest_path"], previous, previous_text, manifest)
    elif p["manifest_path"] and previous_text is not None and not run.failed:
        remove_manifest(run, p["manifest_path"])
    result = run.result
    if run.backups:
        result["backup_files"] = run.backups
    if module._diff and run.diffs:
        result["diff"] = run.diffs
    if run.failed:
        result["failed_users"] = [f.split(" ", 1)[0] for f in run.failed]
        module.fail_json(msg="could not configure %d of %d users (the others are configured): %s"
                         % (len(run.failed), len(p["users"]) + len(absent), "; ".join(run.failed)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
