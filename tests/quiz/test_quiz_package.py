"""A non-editable install carries what the quiz server needs at run time: the schema, the
migrations, the templates and the static files, found through the package, not the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from tests.support import ROOT
from tests.support.quiz import BANK_DIR

NEEDED = [
    "grader/quiz/quiz.schema.json",
    "grader/quiz/migrations/env.py",
    "grader/quiz/migrations/versions/0001_attempts.py",
    "grader/quiz/migrations/versions/0002_request_key.py",
    "grader/quiz/templates/login.html",
    "grader/quiz/static/quiz.js",
]

CHECK = """
import sys
from pathlib import Path
import grader
assert Path(grader.__file__).is_relative_to(Path(sys.argv[1])), grader.__file__
from fastapi.testclient import TestClient
from grader.quiz.app import create_app
from grader.quiz.bank import load_bank, load_schema
from grader.quiz.config import Settings
from grader.quiz.store import Store
assert load_schema()["$id"].endswith("quiz.schema.json")
bank = load_bank(Path(sys.argv[2]))
settings = Settings(b"0123456789abcdef0123", "sqlite:///installed.db", "instructor-0123")
with Store.open(settings.db_url) as store, TestClient(create_app(settings, bank, store)) as c:
    assert 'id="login-form"' in c.get("/instructor").text
    assert c.get("/static/quiz.js").status_code == 200
print("installed copy works")
"""


def test_a_built_wheel_serves_quizzes_without_the_checkout(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*build, "-w", str(tmp_path / "dist"), str(source)], check=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in NEEDED if n not in names] == []
    assert "grader/quiz/serving.py" not in names  # test helpers stay out of the package
    site = tmp_path / "site"
    install = [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True)
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(site), str(BANK_DIR)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "installed copy works" in run.stdout
