"""One writer per run dir: `run` and `resume` hold `overthink.lock` (an exclusive `flock`) while they write.

The kernel drops a `flock` when its process dies (kill -9 included), so a lock left by a dead process is stale by
construction and the next writer simply takes it; the pid, host and start time written into the file only name
the holder in the refusal. Readers (`summary`, `report`, `export`, `review`) never take the lock: SQLite's WAL
lets them read while the writer commits.

Where there is no `flock` (Windows, or a network / FUSE file system that refuses it with ENOLCK or EOPNOTSUPP)
the pid file alone decides: a live holder on this host refuses, a dead one is taken over. This is kept rather than
the `filelock` package (which also locks with flock and drops to a marker file without it) because the refusal
names the holder and a reader asks "is a writer there?" without taking the lock (`holder`); docs/api.md.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import UserError

LOCK_NAME = "overthink.lock"
# A reader's probe (`holder`: summary, overthink.load) holds a shared flock for an instant; a writer starting in that
# instant retries for this long instead of being refused by a reader.
PROBE_WAIT_S = 0.5

try:
    import fcntl
except ImportError:  # Windows: no flock; the pid file alone then names the holder (a dead one is taken over)
    fcntl = None  # type: ignore[assignment]


class RunDirLocked(UserError):
    """Another live process writes this run dir."""


class RunLock:
    """The run dir's writer lock; `acquire` refuses with RunDirLocked while another process holds it."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None
        self.took_over: dict[str, Any] | None = None  # the dead holder a stale lock was taken from

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if self._fd is not None:
            return self
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise lock_error(exc, self.run_dir, "opening its lock file") from None
        try:
            taken = _flock(fd, fcntl.LOCK_EX if fcntl is not None else 0)
            deadline = time.monotonic() + PROBE_WAIT_S
            while taken is False and not _read(fd) and time.monotonic() < deadline:  # nobody named: a probe
                time.sleep(0.01)
                taken = _flock(fd, fcntl.LOCK_EX)
            if taken is False:
                raise RunDirLocked(_refusal(self.run_dir, _read(fd)))
            if taken is None:  # no flock here: the pid file decides
                holder = _read(fd)
                if holder and _alive(holder):
                    raise RunDirLocked(_refusal(self.run_dir, holder))
            previous = _read(fd)
            if previous and previous.get("pid") != os.getpid():
                self.took_over = previous  # its process is gone: the kernel released its flock
            info = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": time.time()}
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, json.dumps(info).encode())
            except OSError as exc:
                raise lock_error(exc, self.run_dir, "writing its lock file") from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock. The file stays, emptied (unlinking it would race a writer that has just opened it)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # an empty file: released cleanly (a holder named in it died holding it)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            pass  # closing drops the flock anyway; the pid left in the file only names a holder that is gone
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_error(exc: OSError, run_dir: Path, doing: str) -> UserError:
    """One line for a run dir that cannot take the writer's lock: what is wrong with it, and what to do."""
    code = exc.errno
    where = f"{run_dir}: cannot write the run dir ({doing}: {exc.strerror or exc})"
    if code == errno.ENOSPC:
        return UserError(f"{run_dir}: the disk is full ({doing} failed; nothing was sent or stored). Free some "
                         f"space, then continue with `overthink resume {run_dir}`")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return UserError(f"{where}: it is read-only for this user. run and resume write samples there; copy the "
                         f"run dir somewhere writable (summary, report, export and review read it as it is)")
    if code == errno.EISDIR:
        return UserError(f"{run_dir / LOCK_NAME} is a directory, not the run's lock file; remove it (no overthink "
                         f"process makes one) and try again")
    if code in (errno.EEXIST, errno.ENOTDIR) or (run_dir.exists() and not run_dir.is_dir()):
        return UserError(f"--run-dir {run_dir} is not a directory (it names a file or a device); give a directory")
    if code == errno.ENOENT:
        return UserError(f"--run-dir {run_dir} cannot be made here ({exc.strerror}: {exc.filename}); give a "
                         f"directory in a writable place")
    return UserError(where)


def holder(run_dir: str | Path) -> dict[str, Any] | None:
    """The live process writing `run_dir` ({pid, host, started_at}), or None (readers use it to say so)."""
    path = Path(run_dir) / LOCK_NAME
    if not path.exists():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        info = _read(fd)
        # a shared lock is refused only while a writer holds the exclusive one
        free = _flock(fd, fcntl.LOCK_SH if fcntl is not None else 0)
        if free is None:
            return info if info and _alive(info) else None
        if not free:
            return info or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def describe(info: dict[str, Any]) -> str:
    when = info.get("started_at")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when)) if isinstance(when, (int, float)) else "?"
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, started {stamp}"


def _flock(fd: int, mode: int) -> bool | None:
    """Try `mode` (LOCK_EX / LOCK_SH) without waiting: True taken, False held by another process, None when this
    platform or file system has no flock (the caller falls back to the pid file)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return None
        return False  # EWOULDBLOCK, or anything unexpected: refuse rather than risk a second writer
    return True


def _read(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(info: dict[str, Any]) -> bool:
    if info.get("host") != socket.gethostname():
        return True  # cannot tell for another host: assume alive
    try:
        os.kill(int(info.get("pid", 0)), 0)
    except (OSError, ValueError, OverflowError):
        return False
    return True


def _refusal(run_dir: Path, info: dict[str, Any]) -> str:
    pid = info.get("pid", "PID")
    return (f"{run_dir} is being written by another overthink process ({describe(info)}); a run dir has one "
            f"writer. Wait for it to finish (`overthink summary {run_dir}` reads it meanwhile), or take over: stop "
            f"it (`kill {pid}` stores its in-flight requests first), then `overthink resume {run_dir}`")
