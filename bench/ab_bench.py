"""Before/after benchmark: this checkout's role against a baseline checkout's (another commit), side by side in one
run, each against the same-run baselines of fleet_bench.py (the by-hand floor, an empty play).

    git worktree add --detach /tmp/perf-base <baseline commit>
    . tests/tools/env.sh && python3 bench/ab_bench.py --base /tmp/perf-base [--hosts 1,8,16,32] [--repeat 3]

1. Fresh converge of one host: baseline role, this role and the floor (`npm i -g` on a host that already has Node
   and npm), on three new hosts per round, in an order that rotates each round; medians of --repeat. The first
   round of this role runs with profile_tasks (the profile in the report).
2. Re-runs at each fleet size of --hosts: one host is installed by this role and committed as an image; N hosts
   started from it; then baseline re-run, this role's re-run and the empty play (gather_facts + ping), rotating,
   --repeat times each; medians; every re-run must report changed=0 and fetch 0 bytes.

Results: bench/results/ab.json and bench/results/ab.md.
"""
import argparse
import datetime
import os
import platform
import sys
import uuid

from fleet_bench import NODE, NPM, QWEN, Bench, median, save, sh, slowest
from harness import REPO, Container, docker, ensure_test_image


def collections_root(checkout, tag):
    """An ANSIBLE_COLLECTIONS_PATH whose qwenops.qwen_code is the given checkout."""
    root = os.path.join("/tmp", "qwen-ab-collections-%s" % tag)
    os.makedirs(os.path.join(root, "ansible_collections", "qwenops"), exist_ok=True)
    link = os.path.join(root, "ansible_collections", "qwenops", "qwen_code")
    if os.path.islink(link):
        os.unlink(link)
    os.symlink(os.path.abspath(checkout), link)
    return root


def main():
    parser = argparse.ArgumentParser(description="Before/after benchmark of qwenops.qwen_code (see the docstring).")
    parser.add_argument("--base", required=True, help="checkout of the baseline commit")
    parser.add_argument("--hosts", default="1,8,16,32", help="fleet sizes for the re-runs (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each measurement")
    parser.add_argument("--skip-fresh", action="store_true", help="re-runs only")
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    args = parser.parse_args()
    ensure_test_image("bookworm")
    sides = {"base": {"ANSIBLE_COLLECTIONS_PATH": collections_root(args.base, "base")},
             "new": {"ANSIBLE_COLLECTIONS_PATH": collections_root(REPO, "new")}}
    bench = Bench(args)
    base_commit = sh("git", "-C", args.base, "rev-parse", "--short", "HEAD").stdout.strip()
    new_commit = sh("git", "-C", REPO, "rev-parse", "--short", "HEAD").stdout.strip()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "ansible": sh("ansible", "--version").stdout.splitlines()[0]},
               "versions": {"qwen": QWEN, "node": NODE, "npm": NPM}, "command": " ".join(sys.argv),
               "base": base_commit, "new": new_commit, "fresh": {"base": [], "new": [], "floor": []},
               "reruns": [], "profile": None}
    image = "qwen-perf-ab-installed:%s" % uuid.uuid4().hex[:8]
    try:
        if not args.skip_fresh:
            tarballs = bench.fetch_tarballs()
            order = ["base", "new", "floor"]
            for i in range(args.repeat):
                for side in order[i % 3:] + order[:i % 3]:
                    [host] = bench.start(1, "fresh-%s" % side)
                    if side == "floor":
                        bench.floor_prepare(host, tarballs)
                        seconds, fetched = bench.floor(host)
                    else:
                        profile = side == "new" and results["profile"] is None
                        seconds, fetched, out = bench.play([host], env=sides[side], profile=profile)
                        if profile:
                            results["profile"] = slowest(out, count=12)
                    results["fresh"][side].append({"seconds": seconds, "bytes": fetched})
                    bench.remove([host])
                    print("fresh %s: %.1f s, %.1f MB" % (side, seconds, fetched / 1e6), flush=True)
        # Re-runs: hosts cloned from one installed by this role.
        sizes = [int(x) for x in args.hosts.split(",") if x]
        if sizes:
            [seed] = bench.start(1, "seed")
            bench.play([seed], env=sides["new"])
            docker("commit", seed.name, image)
            bench.remove([seed])
        for n in sizes:
            hosts = []
            for i in range(n):
                host = Container(image, "ab%d-%d" % (n, i), "--network", "host", prefix="qwen-perf")
                bench.containers.append(host)
                hosts.append(host)
            row = {"hosts": n, "base": [], "new": [], "empty": [], "bytes": []}
            order = ["base", "new", "empty"]
            for i in range(args.repeat):
                for side in order[i % 3:] + order[:i % 3]:
                    if side == "empty":
                        seconds = bench.empty(hosts)[0]
                    else:
                        seconds, fetched, out = bench.play(hosts, env=sides[side])
                        recap = out.split("PLAY RECAP")[-1]
                        assert "changed=0" in recap and "changed=1" not in recap, out[-3000:]
                        row["bytes"].append(fetched)
                    row[side].append(seconds)
            results["reruns"].append(row)
            print("%d hosts: re-run base %.2f s, new %.2f s, empty %.2f s" % (
                n, median(row["base"]), median(row["new"]), median(row["empty"])), flush=True)
            bench.remove(hosts)
    finally:
        bench.cleanup()
        docker("rmi", "-f", image, check=False)
    save(args.out, "ab", results, markdown(results))


def markdown(r):
    lines = ["%s; %d CPUs; %s; qwen %s, Node %s, npm %s; before = %s, after = %s." % (
        r["date"], r["machine"]["cpus"], r["machine"]["ansible"], r["versions"]["qwen"], r["versions"]["node"],
        r["versions"]["npm"], r["base"], r["new"]), ""]
    fresh = r["fresh"]
    if fresh["floor"]:
        floor = median([x["seconds"] for x in fresh["floor"]])
        lines += ["### Fresh converge of one host vs the floor (medians of %d, rotating order)" % len(fresh["floor"]),
                  "", "| | wall time | fetched | **/ floor** |", "| --- | --- | --- | --- |"]
        for side, label in (("base", "before (%s)" % r["base"]), ("new", "after (%s)" % r["new"]),
                            ("floor", "floor: `npm i -g`, Node already there")):
            s = median([x["seconds"] for x in fresh[side]])
            b = median([x["bytes"] for x in fresh[side]])
            lines.append("| %s | %.1f s | %.1f MB | **%.2f** |" % (label, s, b / 1e6, s / floor))
        lines.append("")
    if r["reruns"]:
        lines += ["### Re-run vs an empty play (gather_facts + ping), medians of %d, rotating order" % len(
            r["reruns"][0]["new"]), "",
            "| hosts | before | after | empty play | **before / empty** | **after / empty** | registry bytes |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in r["reruns"]:
            b, n, e = median(row["base"]), median(row["new"]), median(row["empty"])
            lines.append("| %d | %.2f s | %.2f s | %.2f s | **%.2f** | **%.2f** | %d |" % (
                row["hosts"], b, n, e, b / e, n / e, sum(row["bytes"])))
        lines.append("")
    if r["profile"]:
        lines += ["### Fresh converge after the change: slowest tasks (profile_tasks)", ""]
        lines += ["- %s: %.2f s" % (t, s) for t, s in r["profile"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
