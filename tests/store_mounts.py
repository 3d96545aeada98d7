"""Real read-only bind mounts and small tmpfs mounts for the store tests (root with CAP_SYS_ADMIN; else skipped).

Tests run as root here, and root ignores permission bits: a chmod alone proves nothing, so read-only dirs are
read-only bind mounts (EROFS for everyone), and a full disk is a tmpfs of a few hundred KB (real ENOSPC).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    res = subprocess.run(["mount", *args], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"mount not permitted here: {res.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextmanager
def read_only(src: Path, at: Path) -> Iterator[Path]:
    """`src` seen read-only at `at` (a bind mount remounted ro)."""
    at.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(src), str(at))
    try:
        _mount("-o", "remount,ro,bind", str(at))
        probe = at / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            pytest.fail("the bind mount is still writable")
        yield at
    finally:
        _umount(at)


@contextmanager
def small_disk(at: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "600k") mounted at `at`."""
    at.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(at))
    try:
        yield at
    finally:
        _umount(at)


def fill(disk: Path) -> None:
    """Use up every free byte of a mounted disk."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


def files_of(path: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(path.iterdir())}


def grow(disk: Path, size: str) -> None:
    """Give a mounted tmpfs more room (frees a full disk without touching its files)."""
    _mount("-o", f"remount,size={size}", str(disk))
