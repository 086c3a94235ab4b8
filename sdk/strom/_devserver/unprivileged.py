"""Running a server as an unprivileged system user when the supervisor runs as root."""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import shutil
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from strom._devserver.errors import UserSetupError

log = logging.getLogger("strom.devserver")

ES_USER = "strom-es"


def ensure_user(name: str) -> pwd.struct_passwd:
    """Returns the system user `name`, creating it (no home, no login shell) if missing.

    Raises:
        UserSetupError: `useradd` is missing or failed.
    """
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    argv = [
        useradd,
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        name,
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UserSetupError(
            f"Elasticsearch refuses to run as root and the user {name!r} does not exist; "
            f"creating it failed ({exc}). Create it yourself (`useradd --system {name}`) "
            "or run strom as a normal user."
        ) from exc
    try:
        return pwd.getpwnam(name)  # a concurrent creator may have won: then useradd failed
    except KeyError:
        raise UserSetupError(
            f"Elasticsearch refuses to run as root and creating the user {name!r} failed "
            f"(`{shlex.join(argv)}` exited with {done.returncode}: {done.stderr.strip()}). "
            f"Create it yourself (`useradd --system {name}`) or run strom as a normal user."
        ) from None


def _grant_traversal(path: Path, user: pwd.struct_passwd) -> None:
    # Debian makes /root 0700; the user needs search (x) permission on every ancestor.
    for parent in reversed(path.parents):
        st = parent.stat()
        if st.st_uid == user.pw_uid or st.st_mode & stat.S_IXOTH:
            continue
        if st.st_gid == user.pw_gid and st.st_mode & stat.S_IXGRP:
            continue
        parent.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
        log.warning(
            "Gave others search permission (o+x, not read) on %s so that the user %s can reach %s",
            parent,
            user.pw_name,
            path,
        )


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.lchown(root, user.pw_uid, user.pw_gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if st.st_uid != user.pw_uid or st.st_gid != user.pw_gid:
                os.lchown(path, user.pw_uid, user.pw_gid)


def prepare_for_user(name: str, owned: Sequence[Path]) -> pwd.struct_passwd:
    """Creates the user if needed, gives it `owned` (recursively) and a path to reach them.

    Raises:
        UserSetupError: The user could not be created.
    """
    user = ensure_user(name)
    for path in owned:
        path.mkdir(parents=True, exist_ok=True)
        _grant_traversal(path, user)
        _chown_tree(path, user)
    return user


def as_user_argv(name: str, argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """Returns a command that runs `argv` as user `name` with exactly `env`.

    `setpriv` (util-linux) exec()s the command itself, so the pid the supervisor holds is
    the server's and everything stays in one process group. Without it, `su -c` is used;
    it starts the command in a new session, which `ManagedProcess.stop` also handles.
    """
    user = pwd.getpwnam(name)
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        return [
            setpriv,
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--init-groups",
            "--",
            *argv,
        ]
    assignments = " ".join(shlex.quote(f"{key}={value}") for key, value in env.items())
    return ["su", name, "-s", "/bin/bash", "-c", f"exec env {assignments} {shlex.join(argv)}"]
