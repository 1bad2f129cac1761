"""Stand-in for the get-pip bootstrap script that ansible-test downloads from ansible's CI host.

ansible-test runs it inside each fresh sanity-test virtualenv with pip-install arguments. Where that host is
unreachable (air-gapped CI), this does the same job from what Python itself ships: pip from `ensurepip`, which
then installs the exact pip version and packages ansible-test asked for from the configured package index.
"""
import ensurepip
import os
import subprocess
import sys

# get-pip's own options (it would otherwise also install setuptools and wheel) are not pip options.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the real install must see the machine's pip
# configuration (its index, proxy and CA settings), so it runs with the environment from before.
env = dict(os.environ)
ensurepip.bootstrap(upgrade=False, default_pip=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
