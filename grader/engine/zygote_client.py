"""Stand-in for a kernel process: asks the zygote for a sandboxed kernel and lives as long as it.

``python -I zygote_client.py SOCKET SETTINGS -- KERNEL ARGV...`` is what the kernel manager starts
when kernels come from a zygote (:mod:`grader.engine.zygote`). It sends the path of the
sandbox's settings, the kernel's argument list and its own environment, with its standard input,
output and error, over the zygote's Unix socket; then it relays SIGINT, SIGTERM and SIGHUP to
the kernel (an interrupt from the kernel manager reaches the kernel) and exits with the kernel's
exit status. Killing it kills the kernel: its connection is the kernel's lifeline.

Standard library only (``-I``): nothing of the course or the environment changes what it does.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import signal
import socket
import sys


def main() -> int:
    """Entry point: ``zygote_client.py SOCKET SETTINGS -- ARGV...``."""
    args = sys.argv[1:]
    if len(args) < 4 or args[2] != "--":
        print("usage: zygote_client.py SOCKET SETTINGS -- ARGV...", file=sys.stderr)
        return 2
    path, settings, argv = args[0], args[1], args[3:]
    env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError as error:
        print(f"sandbox zygote unreachable at {path}: {error}", file=sys.stderr)
        return 127
    request = json.dumps({"settings": settings, "argv": argv, "env": env}).encode() + b"\n"
    fds = array.array("i", [0, 1, 2])
    connection.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])

    def relay(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):  # the kernel is gone already; its status follows
            connection.sendall(f"{signum}\n".encode())

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, relay)
    answer = b""
    while not answer.endswith(b"\n"):
        try:
            chunk = connection.recv(64)
        except InterruptedError:
            continue
        if not chunk:
            return 1  # the zygote went away without a status
        answer += chunk
    return int(answer.strip() or 1)


if __name__ == "__main__":
    sys.exit(main())
