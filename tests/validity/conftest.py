"""Parametrize the validity suite by the notebook each test module names."""

from __future__ import annotations

import pytest

from tests.validity.suite import alternatives_of, mutants_of


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    notebook = getattr(metafunc.module, "NOTEBOOK", None)
    if notebook is None:
        return
    if "notebook" in metafunc.fixturenames:
        metafunc.parametrize("notebook", [notebook], scope="module")
    if "mutant" in metafunc.fixturenames:
        mutants = mutants_of(notebook)
        metafunc.parametrize("mutant", mutants, ids=[m.student for m in mutants])
    if "alternatives" in metafunc.fixturenames:
        sets = alternatives_of(notebook)
        metafunc.parametrize("alternatives", sets, ids=[s.student for s in sets])
