"""Run an ASGI app with uvicorn in a background thread on a free loopback port.

Used by the end-to-end tests and the load benchmark, which need a real server, not an
in-process client. The context manager waits until the server accepts connections and stops it
on exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.support.net import free_port


@contextmanager
def running(
    app: Any,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout_s: float = 20.0,
    **uvicorn_options: Any,
) -> Iterator[str]:
    """Serve ``app`` in a thread; yield its base URL; shut it down at exit."""
    port = port or free_port(host)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
