"""Opening a run store's SQLite file, and SQLite failures as one clear message.

A run dir's store is `overthink.sqlite` plus, while a process has it open or after a kill, `overthink.sqlite-wal`
(committed samples not yet copied into the main file) and `overthink.sqlite-shm` (an index of the WAL). The WAL is
checkpointed into the main file when a writer closes the store, so a cleanly finished run is the one file; copy all
three files together otherwise, or make one self-contained file with `overthink export RUN --format sqlite`.

Readers (summary, report, export, review pages) never write into a run dir, writable or not: they create no
`-wal` / `-shm`, delete none, write no schema. A store with a live WAL and its index (a run is writing, or was
killed) is read through them with `mode=ro`; one whose WAL is empty or gone is the main file alone, opened
`immutable=1` (a run that starts writing meanwhile is not seen by that read); one whose WAL holds samples but has
no index beside it (a copy of two files, a read-only mount) is read from a private copy of both files. A WAL whose
header fails its checksum is refused as damaged (SQLite would silently ignore every sample in it, and a writer
would then overwrite them), never deleted.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from ..errors import UserError

BUSY_MS = 30000


class StoreError(UserError):
    """A store that cannot be read or written (damaged file, full disk, read-only dir): exit code 2."""


def connect_rw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (not power loss) and keeps commits cheap.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def connect_ro(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """A read-only connection that writes nothing into the run dir; returns (connection, private copy dir to
    delete on close, or None)."""
    uri = f"file:{quote(str(path.resolve()))}"
    wal, shm = _wal(path), _shm(path)
    if wal.is_file() and shm.is_file():  # a writer has it open, or was killed: read through its WAL index
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_MS / 1000, isolation_level=None)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn, None
        except sqlite3.OperationalError as exc:
            if _code(exc) not in ("SQLITE_CANTOPEN", "SQLITE_READONLY") and "unable to open" not in str(exc):
                raise
    if not wal.is_file() or wal.stat().st_size == 0:  # the main file is the whole store
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None), None
    # committed samples sit in a WAL that has no usable index here: read a private copy of both files
    copy_dir = Path(tempfile.mkdtemp(prefix="overthink-ro-"))
    shutil.copy2(path, copy_dir / path.name)
    shutil.copy2(wal, copy_dir / wal.name)
    conn = sqlite3.connect(copy_dir / path.name, isolation_level=None)
    conn.execute("PRAGMA query_only=1")
    return conn, copy_dir


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _shm(path: Path) -> Path:
    return path.with_name(path.name + "-shm")


WAL_MAGIC = (0x377F0682, 0x377F0683)  # the low bit: the checksums' words are big-endian


def wal_header_ok(header: bytes) -> bool:
    """Whether a WAL's 32-byte header is SQLite's: its magic, and the checksum of its first 24 bytes (SQLite's
    walChecksumBytes: two running sums over pairs of 32-bit words, stored big-endian in bytes 24-31)."""
    if len(header) < 32:
        return False
    magic = struct.unpack_from(">I", header)[0]
    if magic not in WAL_MAGIC:
        return False
    words = struct.unpack_from((">" if magic & 1 else "<") + "6I", header)
    s1 = s2 = 0
    for i in range(0, 6, 2):
        s1 = (s1 + words[i] + s2) & 0xFFFFFFFF
        s2 = (s2 + words[i + 1] + s1) & 0xFFFFFFFF
    return (s1, s2) == struct.unpack_from(">2I", header, 24)


def check_wal(path: Path) -> None:
    """Refuse a WAL shorter than its index says (truncated, or copied while a run was writing): SQLite would
    silently drop every sample past the cut. The -shm header (written by SQLite, native byte order) holds the
    number of valid WAL frames in two copies that agree once initialised."""
    wal, shm = _wal(path), _shm(path)
    try:
        if not wal.is_file():
            return
        wal_size = wal.stat().st_size
        with open(wal, "rb") as fh:
            wal_header = fh.read(32)
    except OSError:
        return
    if wal_size > 32 and not wal_header_ok(wal_header):
        raise StoreError(f"{wal}: the WAL is damaged (its header fails SQLite's checksum), so SQLite would ignore "
                         f"the {wal_size // 1024} KB of committed samples in it and the next writer would overwrite "
                         f"them; nothing was read or changed. Restore {path.name} and {wal.name} together from a "
                         f"copy (`sqlite3 {path} .recover` may salvage rows of a copy)")
    try:
        if not shm.is_file():
            return
        with open(shm, "rb") as fh:
            header = fh.read(96)
    except OSError:
        return
    if len(header) < 96 or header[:48] != header[48:96] or header[12] != 1:
        return  # no initialised index: SQLite rebuilds it from the WAL
    order = "<" if sys.byteorder == "little" else ">"
    page_size, max_frame = struct.unpack_from(order + "HI", header, 14)
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512:
        return
    frames = max(0, wal_size - 32) // (page_size + 24)
    if max_frame > frames:
        raise StoreError(f"{wal}: the WAL is truncated: it holds {frames} of the {max_frame} pages its index "
                         f"({shm.name}) lists, so samples committed after the cut are missing (the file was cut "
                         f"or copied while a run was writing). Restore both files from a copy; or, to keep only "
                         f"what is intact, delete {shm} and open the run again")


def checkpoint(conn: sqlite3.Connection, *, truncate: bool = True) -> None:
    """Copy the WAL into the main file; `truncate` also empties it, waiting at most 2 s for readers (a run being
    reviewed). Without it (a reader that happened to open read-write) nothing waits and no writer is blocked."""
    conn.execute("PRAGMA busy_timeout=2000")
    conn.execute(f"PRAGMA wal_checkpoint({'TRUNCATE' if truncate else 'PASSIVE'})").fetchone()


def writable(path: Path) -> bool:
    """Whether this process may write the store (the dir for the -wal/-shm files, and the file itself)."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _no_space(directory: Path) -> bool:
    """SQLite reports a WAL or -shm it could not create or grow on a full disk as an I/O error."""
    try:
        return shutil.disk_usage(directory).free < 64 * 1024
    except OSError:
        return False


def _code(exc: BaseException) -> str:
    return getattr(exc, "sqlite_errorname", "") or ""


def store_error(exc: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """One message for a SQLite failure: which file, what happened, what to do."""
    code, text = _code(exc), str(exc)
    run_dir = path.parent
    if code.startswith("SQLITE_FULL") or "disk is full" in text or (
            code.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and _no_space(run_dir)):
        return StoreError(f"{path}: the disk is full ({doing} failed; that was not stored, everything before it "
                          f"is kept). Free some space, then continue with `overthink resume {run_dir}`")
    if code.startswith("SQLITE_NOTADB") or "not a database" in text:
        return StoreError(f"{path}: not a SQLite database ({doing}: {text}); the file is damaged or is not an "
                          f"overthink run store. Restore it from a copy (a run's store is {path.name} together "
                          f"with {path.name}-wal)")
    if code.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return StoreError(f"{path}: the store is damaged ({doing}: {text}); it may have been truncated or copied "
                          f"without its {path.name}-wal. Restore it from a copy; `sqlite3 {path} .recover` may "
                          f"salvage the rows that are intact")
    if code.startswith("SQLITE_READONLY") or "readonly" in text:
        return StoreError(f"{path}: cannot write ({doing}): the run dir or the store is read-only. Reading "
                          f"(summary, report, export, review) works; to write, copy the run dir somewhere writable")
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM")) or "unable to open" in text:
        return StoreError(f"{path}: cannot open the store ({doing}: {text}); check that the file and its "
                          f"directory exist and may be read")
    if code.startswith("SQLITE_IOERR") or "disk I/O" in text:
        return StoreError(f"{path}: the disk failed while {doing} ({text}); nothing of this step was stored. "
                          f"Check the disk (space, mount), then continue with `overthink resume {run_dir}`")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return StoreError(f"{path}: the store stayed locked by another process for {BUSY_MS // 1000}s while "
                          f"{doing}; try again when it is done")
    return StoreError(f"{path}: {doing} failed ({code or type(exc).__name__}: {text})")
