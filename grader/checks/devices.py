"""Device checks: is everything where the caller asked it to be?

A test passes a ``device`` into the student's functions and checks where parameters and
results live. Availability logic is checked by *faking* availability, so these checks mean
the same on a laptop and on a GPU server, and a score never depends on the grading machine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any
from unittest import mock

from grader.checks.messages import say
from grader.checks.report import emit, require
from grader.measures import device_type


def grading_device() -> str:
    """The device a test should hand to student code: ``"cuda"`` when torch sees a GPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextmanager
def fake_cuda(available: bool, gpus: int = 1) -> Iterator[None]:
    """Make PyTorch report ``gpus`` CUDA GPUs (or none), whichever way the code asks.

    The fake sits where every question ends up: the C-level device count
    (``torch._C._cuda_getDeviceCount``, which also tells a CPU-only build "compiled with CUDA"),
    with the NVML shortcut and the cached count turned off. So ``torch.cuda.is_available()``,
    ``torch.cuda.device_count()`` and a name imported earlier with
    ``from torch.cuda import is_available`` all see the same answer. Apple's MPS backend is
    reported unavailable as well, so the answer is deterministic. Nothing is ever placed on
    the fake GPU.
    """
    import torch

    count = gpus if available else 0
    cuda = torch.cuda
    asked_before = (cuda.is_available, cuda.device_count)  # the functions as imported earlier
    with ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(torch._C, "_cuda_getDeviceCount", create=True, new=lambda: count)
        )
        for name, value in (
            ("_nvml_based_avail", lambda: False),
            ("_device_count_nvml", lambda: -1),
            ("_device_count_amdsmi", lambda: -1),
            ("_cached_device_count", None),
        ):
            if hasattr(cuda, name):
                patches.enter_context(mock.patch.object(cuda, name, value))
        patches.enter_context(mock.patch.object(cuda, "is_available", lambda: available))
        patches.enter_context(mock.patch.object(cuda, "device_count", lambda: count))
        patches.enter_context(mock.patch.object(torch.backends.mps, "is_available", lambda: False))
        seen = (asked_before[0](), asked_before[1]())
        if seen != (available, count):
            raise RuntimeError(
                f"fake_cuda({available}) could not reach this PyTorch {torch.__version__}: "
                f"is_available() and device_count() still say {seen}"
            )
        yield


@contextmanager
def lightning_as_script() -> Iterator[None]:
    """Build Lightning Trainers as a script would, not as a notebook.

    In a notebook Lightning quietly keeps ``devices="auto"`` to one GPU; in a script it takes
    every GPU. A test that asks for an explicit device count builds the Trainer this way, so
    that a count left to Lightning shows up. Nothing changes when Lightning moved the flag.
    """
    with ExitStack() as patches:
        module = sys.modules.get("lightning.pytorch.trainer.connectors.accelerator_connector")
        if module is not None and hasattr(module, "_IS_INTERACTIVE"):
            patches.enter_context(mock.patch.object(module, "_IS_INTERACTIVE", False))
        yield


@contextmanager
def fake_tf_gpu(available: bool) -> Iterator[None]:
    """Make TensorFlow list one GPU (or none), physical and logical, whatever the machine has.

    Only the listing functions are faked; nothing is ever placed on the fake GPU.
    """
    import tensorflow as tf

    real_physical, real_logical = tf.config.list_physical_devices, tf.config.list_logical_devices
    fake_physical = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    fake_logical = tf.config.LogicalDevice(name="/device:GPU:0", device_type="GPU")

    def lister(real: Any, fake: Any) -> Any:
        def listed(device_type: str | None = None) -> list:
            others = [d for d in real(device_type) if d.device_type != "GPU"]
            wants_gpu = device_type is None or device_type.upper() == "GPU"
            return others + ([fake] if available and wants_gpu else [])

        return listed

    physical, logical = lister(real_physical, fake_physical), lister(real_logical, fake_logical)
    with (
        mock.patch.object(tf.config, "list_physical_devices", physical),
        mock.patch.object(tf.config.experimental, "list_physical_devices", physical),
        mock.patch.object(tf.config, "list_logical_devices", logical),
        mock.patch.object(tf.config.experimental, "list_logical_devices", logical),
    ):
        yield


def _device_type(device: Any) -> str:
    """``cpu``, ``cuda``, ``meta``...: PyTorch's names; TensorFlow's GPU is CUDA."""
    return device_type(str(device))


def devices_of(*objects: Any) -> list[str]:
    """Device types of every tensor, parameter and buffer found in ``objects`` (recursively)."""
    torch = sys.modules.get("torch")
    found: list[str] = []

    def visit(obj: Any) -> None:
        if torch is not None and isinstance(obj, torch.nn.Module):
            for tensor in [*obj.parameters(), *obj.buffers()]:
                found.append(tensor.device.type)
        elif torch is not None and isinstance(obj, torch.Tensor):
            found.append(obj.device.type)
        elif isinstance(obj, Mapping):
            for item in obj.values():
                visit(item)
        elif isinstance(obj, list | tuple):
            for item in obj:
                visit(item)
        elif hasattr(obj, "device") and hasattr(obj, "dtype"):  # a TensorFlow tensor
            found.append(_device_type(obj.device))

    for obj in objects:
        visit(obj)
    return found


def check_on_device(check: str, device: Any, *objects: Any) -> None:
    """Check that every tensor and parameter in ``objects`` lives on ``device``."""
    wanted = _device_type(device)
    seen = devices_of(*objects)
    emit(check, "device", {"devices": seen})
    require(bool(seen), say("no-tensors", check=check))
    strays = sorted(set(seen) - {wanted})
    require(
        not strays,
        say("wrong-device", check=check, wanted=wanted, strays=", ".join(map(repr, strays))),
    )


def check_pick_device(
    check: str,
    pick_device: Callable[[], Any],
    fake: Callable[[bool], AbstractContextManager[None]] = fake_cuda,
) -> None:
    """Check that ``pick_device()`` chooses a GPU exactly when one is available.

    Availability is faked with ``fake`` (:func:`fake_cuda` for PyTorch, :func:`fake_tf_gpu`
    for TensorFlow, whose ``"/GPU:0"`` counts as CUDA).
    """
    with fake(True):
        when_available = str(pick_device())
    with fake(False):
        when_unavailable = str(pick_device())
    # the device names as returned: the engine reads their types itself
    emit(check, "pick", {"when_available": when_available, "when_unavailable": when_unavailable})
    require(
        _device_type(when_available) == "cuda",
        say("pick-cuda", check=check, picked=_device_type(when_available)),
    )
    require(
        _device_type(when_unavailable) == "cpu",
        say("pick-cpu", check=check, picked=_device_type(when_unavailable)),
    )


def check_follows_device(check: str, run_on: Callable[[str], Any]) -> None:
    """Check that ``run_on(device)`` puts everything it returns on the device it was given.

    It runs on PyTorch's ``meta`` device (shapes without data): a device no code would choose
    by itself, so a hard-coded ``"cpu"`` or ``"cuda"`` shows up on any machine.
    """
    try:
        produced = run_on("meta")
    except (RuntimeError, NotImplementedError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        # the error as raised: the engine names it in its own verdict
        emit(
            check, "device", {"devices": ["error"], "error": first_line}, expect={"device": "meta"}
        )
        raise AssertionError(say("unknown-device-failed", check=check, error=first_line)) from None
    seen = devices_of(produced)
    emit(check, "device", {"devices": seen}, expect={"device": "meta"})
    require(bool(seen), say("nothing-to-check", check=check))
    strays = sorted(set(seen) - {"meta"})
    require(
        not strays,
        say("device-hard-coded", check=check, strays=", ".join(map(repr, strays))),
    )
