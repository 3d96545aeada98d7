"""Embedded model packs: GGUF weights shipped inside pip packages, described as data in `data/model_packs.yaml`.

A multi-chunk pack is joined once into `paths.models_dir()/<file>` (temp file, sha256 checked while writing,
atomic rename). A single-chunk pack is used in place. Either way the verified file gets a sidecar
`<file>.verified.json` (size, mtime, sha256) so later runs skip re-hashing hundreds of MB; a file whose size or
mtime changed is hashed again. Problems (missing package, wrong version, checksum mismatch) are ModelUnavailable
with the pip command that fixes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import ModelUnavailable
from ..yaml_text import parse_yaml

Progress = Callable[[str, int, int], None]
"""progress(stage, bytes_done, bytes_total); stage is a short human-readable phrase ("joining qwen...")."""

_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    package: str
    path: str  # relative to the distribution's install root (site-packages)


@dataclass(frozen=True)
class ModelPack:
    name: str
    file: str
    size: int
    sha256: str
    chat_template: dict[str, str]
    licence: str
    licence_notice: str
    packages: tuple[tuple[str, str], ...]  # (name, pinned version)
    chunks: tuple[Chunk, ...]
    description: str = ""
    upstream: str = ""
    install_flags: str = ""

    @property
    def in_place(self) -> bool:
        """A single-chunk pack is the model file itself: no copy."""
        return len(self.chunks) == 1

    def install_command(self) -> str:
        pins = " ".join(f"{n}=={v}" for n, v in self.packages)
        flags = f" {self.install_flags}" if self.install_flags else ""
        return f"pip install{flags} {pins}"


def _parse(table: dict[str, Any], source: str) -> dict[str, ModelPack]:
    templates = table.get("chat_templates") or {}
    packs: dict[str, ModelPack] = {}
    for name, raw in (table.get("packs") or {}).items():
        try:
            template = templates[raw["chat_template"]]
            packs[name] = ModelPack(
                name=name, file=raw["file"], size=int(raw["size"]), sha256=str(raw["sha256"]).lower(),
                chat_template=dict(template), licence=raw["licence"], licence_notice=raw.get("licence_notice", ""),
                packages=tuple((p["name"], str(p["version"])) for p in raw["packages"]),
                chunks=tuple(Chunk(c["package"], c["path"]) for c in raw["chunks"]),
                description=raw.get("description", ""), upstream=raw.get("upstream", ""),
                install_flags=raw.get("install_flags", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelUnavailable(f"{source}: model pack {name!r} is malformed ({exc!r})") from exc
    return packs


def load_packs(path: str | Path | None = None) -> dict[str, ModelPack]:
    """The pack table: the shipped one, or a YAML file with the same layout (tests, user overrides)."""
    if path is None:
        return dict(_builtin_packs())
    return _parse(parse_yaml(Path(path).read_text()) or {}, str(path))


@lru_cache(maxsize=1)
def _builtin_packs() -> dict[str, ModelPack]:
    text = resources.files("overthink").joinpath("data/model_packs.yaml").read_text()
    return _parse(parse_yaml(text), "overthink/data/model_packs.yaml")


def get_pack(name: str, packs: dict[str, ModelPack] | None = None) -> ModelPack:
    table = _builtin_packs() if packs is None else packs
    if name not in table:
        raise ModelUnavailable(f"unknown local model {name!r}; available: {', '.join(sorted(table))}")
    return table[name]


def _package_problems(pack: ModelPack) -> list[str]:
    problems = []
    for name, version in pack.packages:
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        if found != version:
            problems.append(f"{name} is {found}, expected {version}")
    return problems


def _chunk_paths(pack: ModelPack) -> list[Path]:
    problems = _package_problems(pack)
    if problems:
        raise ModelUnavailable(
            f"local model {pack.name!r} is not installed ({'; '.join(problems)}). Install it with: "
            f"{pack.install_command()}"
        )
    found = []
    for chunk in pack.chunks:
        path = Path(str(metadata.distribution(chunk.package).locate_file(chunk.path)))
        if not path.is_file():
            raise ModelUnavailable(
                f"local model {pack.name!r}: chunk {chunk.path} of package {chunk.package} is missing ({path}). "
                f"Reinstall with: {pack.install_command().replace('pip install', 'pip install --force-reinstall', 1)}"
            )
        found.append(path)
    return found


def _sidecar(target: Path) -> Path:
    return paths.models_dir() / f"{target.name}.verified.json"


def _stamp(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _is_verified(pack: ModelPack, target: Path) -> bool:
    """Cheap check: the sidecar records this exact file (path, size, mtime) with the expected sha256."""
    try:
        record = json.loads(_sidecar(target).read_text())
        return target.is_file() and record == {**_stamp(target), "sha256": pack.sha256}
    except (OSError, ValueError):
        return False


def _mark_verified(pack: ModelPack, target: Path) -> None:
    side = _sidecar(target)
    paths.writable(side.parent)
    tmp = side.with_name(side.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**_stamp(target), "sha256": pack.sha256}))
    os.replace(tmp, side)


def _hash_file(path: Path, stage: str, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(stage, done, total)
    return digest.hexdigest()


def _mismatch(pack: ModelPack, got: str) -> ModelUnavailable:
    cmd = pack.install_command().replace("pip install", "pip install --force-reinstall", 1)
    return ModelUnavailable(
        f"local model {pack.name!r}: checksum mismatch (sha256 {got}, expected {pack.sha256}); the installed "
        f"packages are damaged or not the pinned ones. Reinstall with: {cmd}"
    )


def _join(pack: ModelPack, chunks: list[Path], target: Path, progress: Progress | None) -> None:
    total = sum(p.stat().st_size for p in chunks)
    if total != pack.size:
        raise _mismatch(pack, f"<size {total} bytes, expected {pack.size}>")
    digest, done = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=paths.writable(target.parent))
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as fh:
                    while block := fh.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(f"joining {pack.name}", done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != pack.sha256:
            raise _mismatch(pack, digest.hexdigest())
        os.replace(tmp, target)  # atomic: readers see no file or the whole verified file
    finally:
        tmp.unlink(missing_ok=True)


def model_path(pack: ModelPack) -> Path:
    """Where the usable GGUF file lives (or will live) for a pack; no checks."""
    if pack.in_place:
        return _chunk_paths(pack)[0]
    return paths.models_dir() / pack.file


def ensure_model(name: str | ModelPack, progress: Progress | None = None,
                 packs: dict[str, ModelPack] | None = None) -> Path:
    """A verified GGUF file for the pack: joined once, checked by sha256, cached with a cheap sidecar stamp."""
    pack = name if isinstance(name, ModelPack) else get_pack(name, packs)
    chunks = _chunk_paths(pack)
    target = chunks[0] if pack.in_place else paths.models_dir() / pack.file
    if _is_verified(pack, target):
        return target
    if target.is_file():
        got = _hash_file(target, f"verifying {pack.name}", progress)
        if got == pack.sha256:
            _mark_verified(pack, target)
            return target
        if pack.in_place:
            raise _mismatch(pack, got)
        target.unlink()  # a damaged joined copy: rebuild it from the chunks below
    _join(pack, chunks, target, progress)
    _mark_verified(pack, target)
    return target


def pack_status(pack: ModelPack) -> dict[str, Any]:
    """One row for `overthink models`: installed = packages present at the pinned versions, prepared = verified."""
    installed = not _package_problems(pack)
    prepared = False
    path: Path | None = None
    if installed:
        try:
            path = model_path(pack)
            prepared = _is_verified(pack, path)
        except ModelUnavailable:
            installed = False
    return {
        "name": pack.name, "spec": f"local:{pack.name}", "description": pack.description,
        "installed": installed, "prepared": prepared, "size": pack.size, "sha256": pack.sha256,
        "file": str(path) if path else pack.file, "licence": pack.licence, "upstream": pack.upstream,
        "install": pack.install_command(),
    }


def list_packs(packs: dict[str, ModelPack] | None = None) -> list[dict[str, Any]]:
    table = _builtin_packs() if packs is None else packs
    return [pack_status(p) for p in table.values()]
