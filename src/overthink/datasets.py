"""Public datasets: the registry (data/datasets.yaml), fetching with verification, local copies, cache lookup.

Nothing ships inside the package. `fetch` downloads each file from its pinned upstream commit into a `.part` file
(resuming with an HTTP Range request when the server supports it, restarting otherwise), verifies it, and only
then renames it into place, so a partial or corrupt file is never used. `fetch(..., source=PATH)` takes a local
file or folder instead (offline use) and verifies it the same way (a user-supplied dataset, which has no pinned
checksum, is checked line by line against the prize schema by tasks/files.py). A SOURCE.json next to the data
records where it came from and under which licence.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from . import paths
from .errors import DataError
from .yaml_text import parse_yaml

Progress = Callable[[str, int, int | None], None]
"""progress(file name, bytes done, bytes total or None)."""

CHUNK = 1 << 16


@dataclass(frozen=True)
class DataFile:
    path: str  # path inside the upstream repository
    sha256: str | None = None
    git_blob: str | None = None  # full id or a hex prefix
    size: int | None = None
    rows: int | None = None  # JSONL records

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    upstream: str
    licence: str
    licence_url: str = ""
    attribution: str = ""
    repo: str | None = None
    commit: str | None = None
    files: tuple[DataFile, ...] = ()
    user_supplied: bool = False
    how_to_get: str = ""
    task: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@cache
def _registry_doc() -> dict[str, Any]:
    text = resources.files("overthink").joinpath("data/datasets.yaml").read_text(encoding="utf-8")
    return parse_yaml(text)


@cache
def registry() -> dict[str, Dataset]:
    """All known datasets by name, from the packaged datasets.yaml."""
    out: dict[str, Dataset] = {}
    for name, spec in _registry_doc()["datasets"].items():
        spec = dict(spec)
        files = tuple(DataFile(path=f["path"], sha256=f.get("sha256"),
                               git_blob=str(f["git_blob"]) if f.get("git_blob") is not None else None,
                               size=f.get("size"), rows=f.get("rows")) for f in spec.pop("files", []))
        for f in files:  # a registry entry without any checksum would let anything through
            if not (f.sha256 or f.git_blob):
                raise RuntimeError(f"datasets.yaml: {name}/{f.path} has no checksum")
        known = {k: spec.pop(k) for k in list(spec) if k in Dataset.__dataclass_fields__}
        out[name] = Dataset(name=name, files=files, extra=spec, **known)
    return out


def get_dataset(name: str) -> Dataset:
    reg = registry()
    if name not in reg:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(reg))} "
                        "(see `overthink data list`)")
    return reg[name]


def dataset_dir(name: str) -> Path:
    return paths.data_dir() / name


def host() -> str:
    doc = _registry_doc()
    return (os.environ.get(doc["mirror_env"]) or doc["host"]).rstrip("/")


def file_url(ds: Dataset, f: DataFile) -> str:
    return f"{host()}/{ds.repo}/{ds.commit}/{f.path}"


def cached_files(ds: Dataset) -> list[Path]:
    """The dataset's files present (and therefore verified) in the cache."""
    root = dataset_dir(ds.name)
    if ds.user_supplied:
        return sorted(p for p in root.glob("*") if p.suffix in (".jsonl", ".csv")) if root.is_dir() else []
    return [root / f.name for f in ds.files if (root / f.name).is_file()]


def fetch_hint(name: str) -> str:
    ds = get_dataset(name)
    if ds.user_supplied:
        return f"run `overthink data fetch {name} --from PATH` ({ds.how_to_get})"
    return f"run `overthink data fetch {name}` (or `overthink data fetch {name} --from PATH` for a local copy)"


def locate(name: str, filename: str | None = None) -> Path:
    """Path of a cached dataset file (or of the dataset folder); DataError saying how to fetch it when missing."""
    ds = get_dataset(name)
    root = dataset_dir(ds.name)
    target = root / filename if filename else root
    present = target.is_file() if filename else bool(cached_files(ds))
    if not present:
        what = f"{filename} of dataset {name!r}" if filename else f"dataset {name!r}"
        raise DataError(f"{what} is not downloaded; {fetch_hint(name)}")
    return target


# --- verification -----------------------------------------------------------------------------------------------

def digests(path: Path) -> tuple[str, str]:
    """(sha256, git blob id) of a file, in one pass."""
    size = path.stat().st_size
    sha = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            blob.update(chunk)
    return sha.hexdigest(), blob.hexdigest()


def verify(path: Path, f: DataFile, label: str) -> dict[str, Any]:
    """Check a file against its pinned size, checksum and row count; DataError naming what differs."""
    size = path.stat().st_size
    if f.size is not None and size != f.size:
        raise DataError(f"{label}: size {size} bytes, expected {f.size} (wrong version or damaged copy)")
    sha, blob = digests(path)
    if f.sha256 and sha != f.sha256:
        raise DataError(f"{label}: sha256 {sha} does not match the pinned {f.sha256}")
    if f.git_blob and not blob.startswith(f.git_blob.lower()):
        raise DataError(f"{label}: git blob {blob} does not match the pinned {f.git_blob}")
    if f.rows is not None:
        with open(path, "rb") as fh:
            rows = sum(1 for line in fh if line.strip())
        if rows != f.rows:
            raise DataError(f"{label}: {rows} records, expected {f.rows}")
    return {"sha256": sha, "git_blob": blob, "size": size,
            "verified_by": "sha256" if f.sha256 else f"git blob {'prefix' if len(f.git_blob or '') < 40 else 'id'}"}


# --- downloading ------------------------------------------------------------------------------------------------

def download(url: str, dest: Path, f: DataFile, *, client: httpx.Client | None = None,
             progress: Progress | None = None, attempts: int = 3) -> dict[str, Any]:
    """Stream url to dest + '.part' (resuming when possible), verify, rename into place."""
    part = dest.with_name(dest.name + ".part")
    own = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(30.0, read=60.0), follow_redirects=True)
    last: Exception | None = None
    try:
        for _ in range(attempts):
            try:
                _stream(client, url, part, f, progress)
                break
            except (httpx.TransportError, _Incomplete) as exc:  # keep the .part: the next attempt resumes it
                last = exc
                time.sleep(0.2)
        else:
            raise DataError(f"download of {url} failed after {attempts} attempts ({last}); the partial file "
                            f"{part} is kept and the next `overthink data fetch` resumes it")
    finally:
        if own:
            client.close()
    try:
        info = verify(part, f, url)
    except DataError:
        part.unlink(missing_ok=True)  # a complete but wrong file cannot be resumed into a right one
        raise
    os.replace(part, dest)
    return info


class _Incomplete(Exception):
    pass


def _stream(client: httpx.Client, url: str, part: Path, f: DataFile, progress: Progress | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    if f.size is not None and have > f.size:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with client.stream("GET", url, headers=headers) as resp:
        if resp.status_code == 416:  # our .part is not a prefix the server recognises: start over
            part.unlink(missing_ok=True)
            raise _Incomplete("server refused the resume range; restarting")
        if resp.status_code == 404:
            raise DataError(f"{url}: not found (404); is the mirror ({host()}) laid out as "
                            "{host}/{owner}/{repo}/{commit}/{path}?")
        if resp.status_code not in (200, 206):
            raise DataError(f"{url}: HTTP {resp.status_code}")
        start = 0
        if resp.status_code == 206:
            start = int(resp.headers.get("content-range", "bytes 0-").split()[1].split("-")[0])
            if start != have:
                raise DataError(f"{url}: server resumed at byte {start}, asked for {have}")
        length = resp.headers.get("content-length")
        total = start + int(length) if length is not None else f.size
        mode = "ab" if start else "wb"  # 200 to a Range request: the server cannot resume, so restart
        done = start
        with open(part, mode) as out:
            for chunk in resp.iter_bytes(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(f.name, done, total)
        if total is not None and done < total:
            raise _Incomplete(f"connection closed at {done} of {total} bytes")


# --- fetch -----------------------------------------------------------------------------------------------------

@dataclass
class FetchResult:
    dataset: str
    directory: Path
    fetched: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # --from: files the local copy does not have


def fetch(name: str, *, source: Path | None = None, force: bool = False, progress: Progress | None = None,
          client: httpx.Client | None = None, validate: Callable[[Path], Any] | None = None) -> FetchResult:
    """Download (or copy from `source`) and verify a dataset into OVERTHINK_HOME/data/NAME. A user-supplied
    dataset has no pinned checksum: `validate(path)` (raising DataError) checks each of its files before any is
    copied (the CLI passes the task format's reader, tasks/files.py read_prize_file)."""
    ds = get_dataset(name)
    root = dataset_dir(ds.name)
    root.mkdir(parents=True, exist_ok=True)
    result = FetchResult(ds.name, root)
    if ds.user_supplied:
        if source is None:
            raise DataError(f"dataset {name!r} cannot be downloaded by overthink: {ds.how_to_get}")
        return _copy_user_supplied(ds, Path(source), result, validate)
    entries: dict[str, Any] = {}
    for f in ds.files:
        dest = root / f.name
        if dest.is_file() and not force:
            result.already.append(f.name)
            continue
        if source is not None:
            local = _find_local(Path(source), f, single=len(ds.files) == 1)
            if local is None:
                result.missing.append(f.name)
                continue
            entries[f.name] = {**_copy_verified(local, dest, f), "from": str(Path(local).resolve())}
        else:
            url = file_url(ds, f)
            entries[f.name] = {**download(url, dest, f, client=client, progress=progress), "url": url}
        result.fetched.append(f.name)
    if source is not None and not (result.fetched or result.already):
        raise DataError(f"{source}: none of the files of dataset {name!r} found there "
                        f"(looked for {', '.join(f.name for f in ds.files)})")
    _write_source(ds, entries)
    return result


def _find_local(source: Path, f: DataFile, single: bool) -> Path | None:
    if source.is_file():
        return source if (single or source.name == f.name) else None
    if not source.is_dir():
        raise DataError(f"--from {source}: no such file or folder")
    for candidate in (source / f.path, source / f.name):
        if candidate.is_file():
            return candidate
    return next(iter(sorted(source.rglob(f.name))), None)


def _copy_verified(local: Path, dest: Path, f: DataFile) -> dict[str, Any]:
    info = verify(local, f, str(local))
    part = dest.with_name(dest.name + ".part")
    shutil.copyfile(local, part)
    os.replace(part, dest)
    return info


def _copy_user_supplied(ds: Dataset, source: Path, result: FetchResult,
                        validate: Callable[[Path], Any] | None) -> FetchResult:
    if source.is_file():
        files = [source]
    elif source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.suffix in (".jsonl", ".csv") and p.is_file())
    else:
        raise DataError(f"--from {source}: no such file or folder")
    if not files:
        raise DataError(f"--from {source}: no .jsonl or .csv files there")
    for path in files:  # validate all before copying any: nothing half-imported
        if validate is not None:
            validate(path)
    entries = {}
    for path in files:
        dest = result.directory / path.name
        part = dest.with_name(dest.name + ".part")
        shutil.copyfile(path, part)
        os.replace(part, dest)
        sha, _ = digests(dest)
        entries[path.name] = {"from": str(path.resolve()), "sha256": sha, "size": dest.stat().st_size,
                              "verified_by": "schema check only (user-supplied, no pinned checksum)"}
        result.fetched.append(path.name)
    _write_source(ds, entries)
    return result


def _write_source(ds: Dataset, entries: dict[str, Any]) -> None:
    """SOURCE.json next to the data: upstream, commit, licence, attribution and per-file provenance."""
    path = dataset_dir(ds.name) / "SOURCE.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    files = {**old.get("files", {}), **{k: {**v, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                                        for k, v in entries.items()}}
    doc = {"dataset": ds.name, "title": ds.title, "upstream": ds.upstream, "commit": ds.commit,
           "licence": ds.licence, "licence_url": ds.licence_url, "attribution": ds.attribution, "files": files}
    tmp = path.with_name("SOURCE.json.part")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)


def describe_all() -> list[dict[str, Any]]:
    """One row per dataset for `overthink data list`."""
    rows = []
    for ds in registry().values():
        have = cached_files(ds)
        total = len(ds.files)
        cached = (f"{len(have)} file(s)" if ds.user_supplied else f"{len(have)}/{total}") if have else "no"
        rows.append({"name": ds.name, "title": ds.title, "licence": ds.licence, "upstream": ds.upstream,
                     "commit": ds.commit, "cached": cached, "complete": bool(have) and (
                         ds.user_supplied or len(have) == total), "path": str(dataset_dir(ds.name))})
    return rows
