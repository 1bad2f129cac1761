"""A proxy password stays out of sight: a fresh host installs Node, npm and qwen through an authenticating proxy
(tests/tools/counting_proxy.py on the host's loopback, which refuses a CONNECT without the credentials), and the
canary password shows in no process's command line (sampled on the controller and the host during the run) and
nowhere in the -vvv --diff output."""
import json
import os

from conftest import CANARY, GOOD_VARS
from harness import TEST_IMAGE, TOOLS, Container
from releases import DEFAULT

PASSWORD = "pw-%s-proxy" % CANARY  # the canary grep of every log covers it too
PORT = 18128


def proxy_stats(host):
    return json.loads(host.sh("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                              "'http://127.0.0.1:%d/stats').read().decode())\"" % PORT).stdout)


def test_proxy_password_never_shows(runner):
    host = Container(TEST_IMAGE, "proxy")
    try:
        host.sh("useradd -m -s /bin/bash alice")
        host.copy_in(os.path.join(TOOLS, "counting_proxy.py"), "/usr/local/bin/")
        host.write_secret("/root/proxy-auth", "qwenops:" + PASSWORD)
        host.sh("setsid nohup python3 /usr/local/bin/counting_proxy.py --port %d --auth-file /root/proxy-auth "
                ">/var/log/proxy.log 2>&1 </dev/null &" % PORT)
        host.sh("for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d))' "
                "2>/dev/null && exit 0; sleep 0.2; done; exit 1" % PORT)
        proxy = "http://qwenops:%s@127.0.0.1:%d" % (PASSWORD, PORT)
        variables = dict(GOOD_VARS, qwen_code_https_proxy=proxy, qwen_code_http_proxy=proxy,
                         qwen_code_no_proxy="127.0.0.1,localhost")
        run = runner.play(host, variables, "proxy-password", extra_args=["--diff"], sample_ps=True)
        assert run.returncode == 0, run.output[-3000:]
        stats = proxy_stats(host)
        # Everything came through the proxy, with the credentials.
        assert stats["hosts"]["registry.npmjs.org"]["down"] > 50 * 1024 * 1024, stats
        assert stats["unauthorized"] == 0, stats
        assert PASSWORD not in run.output
        assert run.ps_samples and not [s for s in run.ps_samples if PASSWORD in s]
        assert host.sh("runuser -l alice -c 'qwen --version'").stdout.strip() == DEFAULT
        # No npm configuration with the password is left behind.
        leftovers = host.sh("grep -rl -- '%s' /opt /etc /root /tmp 2>/dev/null || true" % PASSWORD).stdout.split()
        assert leftovers == ["/root/proxy-auth"], leftovers
    finally:
        host.remove()
