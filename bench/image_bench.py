"""Image size and `--version` cold start: the collection's image against a naive one, built in the same run.

    . tests/tools/env.sh && python3 bench/image_bench.py [--runs 15]

Both images are built from the same base (debian:trixie-slim, built locally when no registry answers) and the
same qwen release; the naive one is `npm i -g` on a stock Node 22 (bench/Dockerfile.naive). Cold start is the
wall time of `docker run --rm IMAGE --version`, ours and naive alternating, so machine noise hits both alike.
Results are printed as a Markdown table (also written to bench/results/image.md).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from harness import REPO, ensure_base_image, image_context
from releases import DEFAULT


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def build(tag, ctx, dockerfile):
    start = time.time()
    sh("docker", "build", "--no-cache", "--build-arg", "QWEN_CODE_VERSION=" + DEFAULT, "-t", tag, "-f",
       os.path.join(ctx, dockerfile), ctx)
    return time.time() - start


def cold_start(tag):
    start = time.perf_counter()
    out = sh("docker", "run", "--rm", tag, "--version")
    return time.perf_counter() - start, out.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    ensure_base_image("trixie", "debian:trixie-slim")
    ctx = image_context(tempfile.mkdtemp(prefix="qwen-bench-ctx-"))
    try:
        builds = {"ours": build("qwen-bench:ours", ctx, "Dockerfile"),
                  "naive": build("qwen-bench:naive", ctx, "bench/Dockerfile.naive")}
    finally:
        shutil.rmtree(ctx)
    sizes = {k: int(sh("docker", "image", "inspect", "--format", "{{.Size}}", "qwen-bench:" + k)) for k in builds}
    times = {k: [] for k in builds}
    versions = {}
    for _k in builds:  # warm the page cache once per image, not counted
        cold_start("qwen-bench:" + _k)
    for _run in range(args.runs):
        for k in builds:
            elapsed, versions[k] = cold_start("qwen-bench:" + k)
            times[k].append(elapsed)
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        "| image | qwen --version | size | `--version` wall time (median of %d) | build time |" % args.runs,
        "| --- | --- | --- | --- | --- |",
    ]
    for k in builds:
        lines.append("| %s | %s | %.0f MB | %.2f s | %.0f s |" % (k, versions[k], sizes[k] / 1e6, med[k], builds[k]))
    lines.append("| **ratio ours/naive** | | **%.2f** | **%.2f** | %.2f |" % (
        sizes["ours"] / sizes["naive"], med["ours"] / med["naive"], builds["ours"] / builds["naive"]))
    table = "\n".join(lines)
    print(table)
    os.makedirs(os.path.join(REPO, "bench", "results"), exist_ok=True)
    with open(os.path.join(REPO, "bench", "results", "image.md"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
