"""The classroom's Unix accounts: an instructor and one account per student.

Each single-user server runs as its own Unix user, so nbgrader's exchange permissions separate
the students. Accounts are created when missing (``useradd``, a home folder, no other group)
and given a password only when asked (``--demo``); an existing account keeps its password.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

#: What a classroom account's name may be (a portable Unix user name, also nbgrader's id).
NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")


class AccountError(RuntimeError):
    """An account that cannot be created or used."""


def check_name(name: str) -> str:
    """``name`` when it is a valid account name; :class:`AccountError` otherwise."""
    if not NAME.match(name):
        raise AccountError(
            f"{name!r} cannot be a Unix account: use lowercase letters, digits, '_' or '-', "
            "starting with a letter, at most 31 characters"
        )
    return name


def exists(name: str) -> bool:
    """Whether the Unix account ``name`` exists."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def ensure_accounts(names: Iterable[str]) -> list[str]:
    """Create the accounts that are missing (home folder, login shell); returns those created."""
    created = []
    for name in names:
        check_name(name)
        if exists(name):
            continue
        done = subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/bash", name],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode != 0:
            raise AccountError(f"useradd {name} failed: {done.stderr.strip()}")
        created.append(name)
    return created


def set_passwords(names: Iterable[str]) -> dict[str, str]:
    """Give each account a new random password (``chpasswd``); returns them, to print once."""
    passwords = {check_name(name): secrets.token_urlsafe(9) for name in names}
    if not passwords:
        return {}
    lines = "".join(f"{name}:{password}\n" for name, password in passwords.items())
    done = subprocess.run(["chpasswd"], input=lines, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AccountError(f"chpasswd failed: {done.stderr.strip()}")
    return passwords


def home_of(name: str) -> Path:
    """The account's home folder."""
    return Path(pwd.getpwnam(name).pw_dir)


def give_to(owner: str, paths: Iterable[Path], within: Path | None = None) -> None:
    """Make ``owner`` own each path and everything under it, and the folders between it and
    ``within`` (what the grading service, as root, wrote into the instructor's course folder
    stays the instructor's)."""
    entry = pwd.getpwnam(owner)
    for path in paths:
        if not path.exists():
            continue
        above = [p for p in path.parents if within is not None and within in p.parents]
        for item in [*above, path, *(path.rglob("*") if path.is_dir() else [])]:
            try:
                os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
            except FileNotFoundError:  # removed meanwhile (a staging folder)
                continue


def unreachable_for_others(paths: Mapping[str, Path]) -> list[str]:
    """The folders on the way to each path that other users cannot pass (no ``o+x``): a
    student's server could not start the environment's programs or import this package."""
    blocked: list[str] = []
    for what, path in paths.items():
        for folder in [*reversed(path.resolve().parents)]:
            if not folder.stat().st_mode & 0o001:
                blocked.append(f"{folder} (on the way to {what})")
                break
    return blocked
