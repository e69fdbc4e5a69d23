"""Kernel zygote: a process that imported the heavy libraries once and forks sandboxed kernels.

Importing PyTorch, TensorFlow, Keras and Lightning costs several seconds of CPU in every fresh
kernel, more than many notebooks spend on their exercises. A zygote imports them once (before
it has seen any submission) and, for each kernel, forks a child that enters the sandbox through
the same function as a cold kernel (:func:`launcher.enter`, from the same
:class:`launcher.SandboxSettings`): new mount, network, IPC and PID namespaces, the hidden and
exposed folders, a fresh working folder, resource limits, the sandbox user without capabilities
and with ``no_new_privs``; then the child becomes an IPython kernel. Nothing of the
zygote but the libraries' code reaches the kernel: it never holds course data, it runs no student
code, and it drops the project's own modules before the kernel starts, so that the kernel imports
the run's copy of ``grader`` as a fresh one would.

Run as ``python zygote.py SOCKET MODULE...`` (this file's folder comes first on ``sys.path``, so
``launcher`` is the standard-library launcher next to it). It prints ``ready`` and serves
requests on the Unix socket ``SOCKET`` (in a root-only folder): each connection carries one
request, a JSON line ``{"settings": PATH, "argv": [...], "env": {...}}`` with the client's
standard input, output and error passed as file descriptors, and is the kernel's lifeline:

- zygote -fork-> *C* (unshares the namespaces, relays signals from the client, reports the exit
  status, and kills the namespace when the client goes away) -fork-> *G*, PID 1 of the new PID
  namespace (``launcher.enter``: mounts, then reaps; when the kernel ends it kills everything
  left, as for a cold kernel) -fork-> *K*, the kernel (limits, user, no capabilities,
  ``no_new_privs``, then ``ipykernel``).

Every process of the chain dies with its parent (``PR_SET_PDEATHSIG``), and C ends the namespace
when the client's connection closes, so a killed grader or worker leaves nothing behind.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import sys

import launcher  # type: ignore[import-not-found]  # the launcher beside this file

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    """One request line and the file descriptors sent with it."""
    fds = array.array("i")
    data = b""
    while not data.endswith(b"\n"):
        chunk, ancillary, _flags, _address = connection.recvmsg(
            65536, socket.CMSG_SPACE(3 * fds.itemsize)
        )
        if not chunk:
            raise ConnectionError("client closed the connection before its request")
        data += chunk
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % fds.itemsize
                fds.frombytes(payload[:usable])
    return json.loads(data), list(fds)


def _become_kernel(argv: list[str], env: dict[str, str]) -> None:
    """In K, once :func:`launcher.enter` has dropped its privileges: the environment and import
    state of a fresh interpreter, then ``ipykernel``."""
    os.environ.clear()
    os.environ.update(env)
    for name in [m for m in sys.modules if m in ("launcher", "grader") or m.startswith("grader.")]:
        del sys.modules[name]
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [*extra, *(p for p in sys.path if p and p != here)]
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    sys.stdout.flush()
    sys.stderr.flush()
    module = argv.index("-m") if "-m" in argv else -1
    args = argv[module + 2 :] if module >= 0 else argv[1:]
    sys.argv = ["ipykernel_launcher", *args]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=args)


def _namespace_init(
    settings: launcher.SandboxSettings, argv: list[str], env: dict[str, str], alive: int
) -> int:
    """In G (PID 1 of the new PID namespace): :func:`launcher.enter`, which mounts, forks the
    kernel K with its privileges dropped, and reaps.

    ``alive`` is the read end of a pipe whose write end only C holds: inside the namespace
    ``getppid()`` is 0 whether or not C lives, so the pipe tells whether C died before G's
    parent-death signal was armed."""
    launcher.die_with_parent()
    if select.select([alive], [], [], 0)[0]:  # end of file: C is gone already
        os._exit(128 + int(signal.SIGKILL))
    os.close(alive)
    # The client's signals arrive at G (relayed by C): all three go on to the kernel.
    return int(
        launcher.enter(
            settings,
            lambda: _become_kernel(argv, env),
            forwarded=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
        )
    )


def _serve_one(connection: socket.socket) -> None:
    """In C: unshare, start G, relay the client's signals, report G's exit status."""
    request, fds = _receive(connection)
    for target, fd in zip((0, 1, 2), fds, strict=False):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    settings = launcher.SandboxSettings.load(request["settings"])
    argv, env = request["argv"], request["env"]
    os.setsid()
    flags = 0
    for _option, flag in launcher.NAMESPACES.values():
        flags |= flag
    _check(libc.unshare(flags), "unshare")
    alive, held = os.pipe()
    init = os.fork()
    if init == 0:
        try:
            connection.close()  # the lifeline stays with C, out of the kernel's reach
            os.close(held)
            os._exit(_namespace_init(settings, argv, env, alive))
        except BaseException as error:
            print(f"sandbox zygote: {error}", file=sys.stderr)
            os._exit(127)

    os.close(alive)  # C keeps ``held`` open until it ends
    # No threads here: after unshare(CLONE_NEWPID) this process cannot start one. One loop
    # waits for the client's words (signals to relay; its end) and for G's end (a pidfd).
    watched = os.pidfd_open(init)
    buffer = b""
    while True:
        ready, _, _ = select.select([connection.fileno(), watched], [], [])
        if watched in ready:
            break
        try:
            chunk = connection.recv(64)
        except OSError:
            chunk = b""
        if not chunk:  # the client is gone: so is the kernel
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(init, int(line))
    while True:
        try:
            _done, wait_status = os.waitpid(init, 0)
            break
        except InterruptedError:
            continue
    with contextlib.suppress(OSError):
        connection.sendall(f"{launcher.exit_status(wait_status)}\n".encode())


def serve(path: str, modules: list[str]) -> None:
    """Import ``modules``, say ``ready``, then fork one sandboxed kernel per connection."""
    launcher.die_with_parent()
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            print(f"zygote: {name} not preloaded ({error})", file=sys.stderr)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(64)
        print("ready", flush=True)
        while True:
            connection, _ = server.accept()
            child = os.fork()
            if child == 0:
                try:
                    server.close()
                    launcher.die_with_parent()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    _serve_one(connection)
                except BaseException as error:
                    print(f"zygote: {error}", file=sys.stderr)
                    os._exit(1)
                os._exit(0)
            connection.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
