"""The sandbox's one description (``SandboxSettings``) and its one way in (``launcher.enter``).

The settings go to the launcher and the zygote as JSON: they must come back unchanged, and
anything malformed must be refused with a message naming the field. Both kernel paths, cold
(the launcher) and forked (the zygote), must give the kernel the same sandbox: read from
``/proc/self/status`` and ``getrlimit`` inside a real sandboxed kernel on each, and the same
settings for the libraries' numbers as every kernel of the course (the zygote imports the
libraries with them).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from grader.engine.kernel import Timeouts, execute_notebook
from grader.engine.launcher import (
    Exposed,
    Hidden,
    ResourceLimits,
    SandboxSettings,
    SettingsError,
)
from grader.engine.sandbox import Sandbox, SandboxPolicy, interpreter_paths, probe
from grader.engine.warm import zygote, zygote_environment
from grader.kernel_environment import KERNEL_ENVIRONMENT

pytestmark = pytest.mark.xdist_group("engine-sandbox")

FULL = SandboxSettings(
    workdir="/tmp/work",
    mount=True,
    init=True,
    stage="/var/lib/grader/stage",
    work_size="512m",
    hide=(Hidden("/root"), Hidden("/tmp", mode="1777", size="256m")),
    expose=(Exposed("/opt/venv"), Exposed("/run/k", readonly=False)),
    mask=("/opt/venv/lib/sklearn/datasets/data",),
    uid=994,
    gid=993,
    drop_caps=True,
    limits=ResourceLimits(address_space=6 * 2**30, processes=1024, core_size=0),
)


def test_settings_round_trip_through_json() -> None:
    text = FULL.to_json()
    assert SandboxSettings.from_json(text) == FULL
    assert json.loads(text)["limits"]["address_space"] == 6 * 2**30
    bare = SandboxSettings(workdir="/w")
    assert SandboxSettings.from_json(bare.to_json()) == bare


def test_the_engines_own_settings_round_trip(tmp_path: Path) -> None:
    policy = SandboxPolicy(hidden=(str(tmp_path),))
    sandbox = Sandbox(policy, probe(policy))
    settings = sandbox.settings(tmp_path, tmp_path / "stage", "/tmp/work", 5000, 5000)
    assert SandboxSettings.from_json(settings.to_json()) == settings
    assert Hidden(str(tmp_path)) in settings.hide
    assert settings.limits.processes == policy.limits.processes


def _with(**changes: object) -> str:
    data = json.loads(FULL.to_json())
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "settings: expected an object, got list"),
        (_with(setpriv="/usr/bin/setpriv"), "unknown field(s) setpriv"),
        (json.dumps({"mount": True}), "workdir: missing"),
        (_with(uid="994"), 'uid: expected int, got "994"'),
        (_with(uid=True), "uid: expected int, got true"),
        (_with(drop_caps=1), "drop_caps: expected bool, got 1"),
        (_with(workdir="tmp/work"), "workdir: must be an absolute path"),
        (_with(gid=None), "uid and gid: give both or neither"),
        (_with(uid=0, gid=0), "uid: the sandbox user must not be root"),
        (_with(limits={"cpu_seconds": -1}), "limits.cpu_seconds: must be 0 or more"),
        (_with(limits={"cpu": 10}), "limits: unknown field(s) cpu"),
        (_with(work_size="lots"), "work_size: must be a size such as 512m"),
        (_with(hide=[{"path": "/tmp", "mode": "rwx"}]), "hide[0].mode: must be octal"),
        (_with(hide=["/tmp"]), "hide[0]: expected an object, got str"),
        (_with(expose={"path": "/x"}), "expose: expected a list, got dict"),
        (_with(mount=False), "init: a PID 1 needs its namespaces"),
    ],
)
def test_malformed_settings_are_refused_with_the_field_named(text: str, message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        SandboxSettings.from_json(text)
    assert message in str(refused.value)


def test_the_launcher_refuses_bad_settings_before_running_anything(tmp_path: Path) -> None:
    import subprocess
    import sys

    from grader.engine.sandbox import LAUNCHER

    bad = tmp_path / "sandbox.json"
    bad.write_text(_with(uid="x"), encoding="utf-8")
    marker = tmp_path / "ran"
    done = subprocess.run(
        [sys.executable, "-I", str(LAUNCHER), str(bad), "--", "/usr/bin/touch", str(marker)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "uid: expected int" in done.stderr
    assert not marker.exists()


#: Read inside the kernel: what its sandbox left it.
SHOW = """import os, resource
status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines())
for key in ('Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb',
            'NoNewPrivs'):
    print(key, status[key].split())
for name in ('AS', 'NPROC', 'FSIZE', 'CPU', 'NOFILE', 'CORE'):
    print(name, resource.getrlimit(getattr(resource, 'RLIMIT_' + name)))
print('cwd', os.getcwd(), 'pid-1', open('/proc/1/cmdline').read().split(chr(0))[:3])
print('hidden', sorted(os.listdir('/root')), sorted(os.listdir('/home')))
print('settings', {name: os.environ.get(name) for name in NAMES})
""".replace("NAMES", repr(sorted(KERNEL_ENVIRONMENT)))

#: What the kernel must print for the course's settings (grader.kernel_environment).
SETTINGS = str(dict(sorted(KERNEL_ENVIRONMENT.items())))
#: A grader's machine that says otherwise: oneDNN's kernels, another Keras backend.
ELSEWHERE = {"TF_ENABLE_ONEDNN_OPTS": "1", "KERAS_BACKEND": "jax"}


def test_the_zygote_imports_the_libraries_with_the_course_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TensorFlow decides on oneDNN when it is imported, in the zygote for forked kernels: the
    zygote's environment carries the course's settings whatever the grader's says."""
    for name, value in ELSEWHERE.items():
        monkeypatch.setenv(name, value)
    env = zygote_environment({})
    assert {name: env[name] for name in KERNEL_ENVIRONMENT} == KERNEL_ENVIRONMENT


def _kernel_view(sandbox: Sandbox, socket: str | None) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SHOW)])
    with sandbox.run({}, zygote=socket) as prepared:
        run = execute_notebook(nb, prepared, Timeouts(cell=120), interpreter_paths())
    cell = run.cells[0]
    assert cell.status == "ok", (cell.message, cell.outputs)
    return "".join(o.get("text", "") for o in cell.outputs).splitlines()


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"), reason="the sandbox user needs root"
)
def test_cold_and_forked_kernels_enter_the_same_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ELSEWHERE.items():  # the grader's own environment must not reach them
        monkeypatch.setenv(name, value)
    policy = SandboxPolicy()
    capabilities = probe(policy)
    capabilities.require()
    sandbox = Sandbox(policy, capabilities)
    cold = _kernel_view(sandbox, None)
    with zygote(()) as ready:
        socket = ready()
        assert socket is not None, "the zygote did not start"
        forked = _kernel_view(sandbox, socket)
    seen = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in cold}
    uid = seen["Uid"].strip("[]").replace("'", "").split(", ")
    assert len(set(uid)) == 1 and uid[0] != "0"  # real, effective, saved, fs: the sandbox user
    assert seen["Groups"] == "[]"
    for capabilities_set in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert seen[capabilities_set] == "['0000000000000000']", capabilities_set
    assert seen["NoNewPrivs"] == "['1']"
    limits = policy.limits
    assert seen["AS"] == str((limits.memory_bytes, limits.memory_bytes))
    assert seen["NPROC"] == str((limits.processes, limits.processes))
    assert seen["FSIZE"] == str((limits.file_bytes, limits.file_bytes))
    assert seen["CPU"] == str((limits.cpu_seconds, limits.cpu_seconds))
    assert seen["NOFILE"] == str((limits.open_files, limits.open_files))
    assert seen["CORE"] == "(0, 0)"
    assert seen["hidden"].endswith(" []")  # /home is empty; /root holds only the interpreter
    assert seen["cwd"].startswith("/tmp/work pid-1 ")
    assert seen["settings"] == SETTINGS

    # The slot user may differ between the two runs; everything else must not.
    def same(lines: list[str]) -> list[str]:
        return [line for line in lines if not line.startswith(("Uid", "Gid", "cwd"))]

    assert same(forked) == same(cold)
    forked_uid = next(line for line in forked if line.startswith("Uid"))
    assert "'0'" not in forked_uid


def test_a_kernel_that_dies_before_answering_is_told_with_its_last_words() -> None:
    """A kernel whose process ends before it answers leaves every cell not run, and the
    notebook's note says so with the last line the process wrote (nothing hangs until the start
    budget runs out)."""
    sandbox = Sandbox(SandboxPolicy(enabled=False), probe(SandboxPolicy(enabled=False)))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('first')")])
    with sandbox.run({}) as prepared:
        dying = dataclasses.replace(
            prepared, prefix=[sys.executable, "-c", "import sys; sys.exit('no kernel here')"]
        )
        run = execute_notebook(nb, dying, Timeouts(cell=60), interpreter_paths())
    assert run.cells[0].status == "not_run"
    assert run.kernel_problem == (
        "the kernel could not start: it ended before answering (no kernel here)"
    )
    with sandbox.run({}) as prepared:
        dying = dataclasses.replace(prepared, prefix=dying.prefix)
        run = execute_notebook(nb, dying, Timeouts(cell=60), interpreter_paths(), language="he")
    assert run.kernel_problem == (
        "\u2067לא ניתן היה להפעיל את הקרנל: \u2067הוא הסתיים לפני שענה\u2069 "
        "(\u2068no kernel here\u2069)\u2069"
    )
