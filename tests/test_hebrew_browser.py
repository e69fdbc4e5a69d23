"""A Hebrew release notebook in a real JupyterLab, seen in Debian's Chromium (Playwright, no
browser download): the markdown renders right to left, code stays left to right, a cell runs."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.browser import chromium, needs_chromium
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "release" / "overfitting-he" / "Overfitting.ipynb"
SCREENSHOT = ROOT / "autograded" / "hebrew-notebook-browser.png"
START_TIMEOUT_S = 90

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a free loopback port, serving a folder with the Hebrew notebook;
    yields the notebook's URL. The server and its kernels are stopped afterwards."""
    home = tmp_path_factory.mktemp("jupyterlab")
    work = home / "work"
    work.mkdir()
    shutil.copyfile(NOTEBOOK, work / NOTEBOOK.name)
    news = (
        home
        / "settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get notified about news?" toast
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.news_url=",
    ]
    if os.geteuid() == 0:  # CI containers run as root; JupyterLab refuses that unless told
        command.append("--allow-root")
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert server.poll() is None, (home / "server.log").read_text()
            try:
                if httpx.get(f"{base}/api/status?token={token}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not start"
            time.sleep(0.5)
        yield f"{base}/lab/tree/{NOTEBOOK.name}?token={token}"
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and everything it started (its kernels are in its process group)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        server.wait()  # it had already exited
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_hebrew_notebook_renders_right_to_left_and_runs(jupyterlab: str) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="he-IL")
        page.goto(jupyterlab)
        rtl = page.locator('.jp-RenderedMarkdown div[dir="rtl"][lang="he"]').first
        rtl.wait_for(timeout=60_000)
        assert page.evaluate("e => getComputedStyle(e).direction", rtl.element_handle()) == ("rtl")
        heading = rtl.locator("h1")
        assert "Overfitting" in heading.inner_text()
        assert any("\u0590" <= c <= "\u05ff" for c in rtl.inner_text())
        # the markdown inside the wrapper is rendered: a list, bold text
        assert rtl.locator("ol li").count() == 5 and rtl.locator("strong").count() >= 1
        # a code block stays left to right
        code = page.locator(".jp-CodeCell .cm-content").first
        assert page.evaluate("e => getComputedStyle(e).direction", code.element_handle()) == ("ltr")
        # run the first code cell (imports; sets the checks' language): it gets a count
        cell = page.locator(".jp-CodeCell").first
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".jp-InputPrompt")
        page.wait_for_function(
            "e => /\\[1\\]/.test(e.textContent)", arg=prompt.element_handle(), timeout=300_000
        )
        assert cell.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
