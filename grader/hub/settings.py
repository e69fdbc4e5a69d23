"""One classroom's settings: what ``grader hub`` decided, read by the hub's configuration file
(``jupyterhub_config.py``, run inside JupyterHub) and by the grading service (its own process).

Written once as JSON into the hub's state folder; both readers refuse a malformed file with the
field named, so that a hub never starts half configured.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

#: Environment variable naming the settings file for the hub's config and the service.
SETTINGS_ENV = "GRADER_HUB_SETTINGS"


class SettingsError(ValueError):
    """A settings file that cannot be used, with the field named."""


@dataclass(frozen=True)
class HubSettings:
    """Where the classroom's parts live and who may log in."""

    course_root: str  # the instructor's course folder (nbgrader's CourseDirectory.root)
    course_id: str
    state: str  # the hub's database, cookie secret, logs, the service's ledger
    exchange: str  # nbgrader's exchange root, shared by everyone
    instructor: str
    students: tuple[str, ...]
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    venv_bin: str = ""  # the environment whose jupyterhub-singleuser the servers run
    proxy: str = ""  # configurable-http-proxy
    extra_config: str = ""  # a JupyterHub config file loaded last (another authenticator, ...)
    dask_scheduler: str = ""  # grade on this Dask cluster (tcp://host:8786); "": a local one
    grading_workers: int = 0  # the local cluster's workers (each with a zygote); 0: one per core

    @property
    def path(self) -> Path:
        """Where this file is written."""
        return Path(self.state) / "settings.json"

    @property
    def ledger(self) -> Path:
        """The grading service's ledger (in a folder only root may enter)."""
        return Path(self.state) / "service" / "ledger.sqlite"

    @property
    def service_log(self) -> Path:
        """The grading service's log (beside its ledger)."""
        return Path(self.state) / "service" / "grading.log"

    def user_config(self, role: str) -> Path:
        """The Jupyter config folder of an instructor's or a student's server."""
        return Path(self.state) / "jupyter" / role

    def write(self) -> Path:
        """Write the settings as JSON (readable by everyone: they hold no secret)."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n", encoding="utf-8")
        path.chmod(0o644)
        return path


def read_settings(path: Path) -> HubSettings:
    """The settings in ``path``; :class:`SettingsError` naming the bad field otherwise."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read the classroom settings {path}: {error}") from error
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a JSON object")
    values = {}
    for field in dataclasses.fields(HubSettings):
        if field.name not in raw:
            if field.default is dataclasses.MISSING:
                raise SettingsError(f"{path}: missing field {field.name!r}")
            continue
        value = raw[field.name]
        expected = {"int": int, "str": str}.get(str(field.type))
        if field.name == "students":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(f"{path}: field 'students' must be a list of names")
            value = tuple(value)
        elif expected and not isinstance(value, expected):
            raise SettingsError(f"{path}: field {field.name!r} must be {field.type}")
        values[field.name] = value
    return HubSettings(**values)
