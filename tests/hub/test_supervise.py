"""The classroom's JupyterHub configuration reaches the grading service's spawner."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

import grader.hub
from grader.hub.settings import SETTINGS_ENV, HubSettings


def test_the_hub_checks_on_its_grading_service_every_5_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the classroom's config (as JupyterHub does) makes the spawner JupyterHub builds
    for a managed service poll every 5 s, not the default 30: a grading service that died is
    started again within seconds."""
    from jupyterhub.services import service

    monkeypatch.setattr(service, "_ServiceSpawner", service._ServiceSpawner)  # restored after
    assert service._ServiceSpawner().poll_interval == 30
    settings = HubSettings(
        course_root=str(tmp_path / "course"),
        course_id="frameworks",
        state=str(tmp_path / "state"),
        exchange=str(tmp_path / "exchange"),
        instructor="teacher",
        students=("ana",),
    )
    monkeypatch.setenv(SETTINGS_ENV, str(settings.write()))
    config_file = Path(grader.hub.__file__).parent / "jupyterhub_config.py"
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    assert config.JupyterHub.services[0]["name"] == "grading"
    assert service._ServiceSpawner().poll_interval == 5
