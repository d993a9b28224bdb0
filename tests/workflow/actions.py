"""The actions the nightly workflow uses, emulated over local folders with the semantics
GitHub documents for them:

- actions/checkout: with git in the container, a shallow clone of the commit with
  ``origin`` set; without git, the files only (the REST-API tarball fallback).
- actions/cache/restore and actions/cache/save: entries keyed by ``key`` and a version
  made of the paths; exact match sets ``cache-hit``, ``restore-keys`` are prefixes
  matched newest first; ``lookup-only``; saving an existing key or paths that do not
  exist only warns. Paths resolve inside the container (relative ones from the
  workspace).
- actions/upload-artifact (v4+): names unique per run, the artifact's root is the least
  common ancestor of the paths' non-glob parts, ``if-no-files-found``.
- actions/download-artifact (v4+): ``name`` or ``pattern``, ``merge-multiple``, ``path``.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ActionFailed(Exception):
    pass


@dataclass
class Store:
    """What outlives a job: caches (per repository) and artifacts (per run)."""

    root: Path
    counter: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def caches(self) -> Path:
        return self.root / "caches"

    def artifacts(self, run_id: str) -> Path:
        return self.root / "artifacts" / run_id

    def entries(self) -> list[dict[str, Any]]:
        found = [json.loads(p.read_text()) for p in self.caches.glob("*/entry.json")]
        return sorted(found, key=lambda e: e["created"])

    def has_cache(self, key: str) -> bool:
        return any(e["key"] == key for e in self.entries())


def _lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _version(paths: list[str]) -> str:
    return hashlib.sha256("|".join([*paths, "gzip"]).encode()).hexdigest()


@dataclass
class Container:
    """Where a job's files are: the root on the host, and the workspace inside it."""

    root: Path
    workspace: str  # as the container sees it

    def host(self, path: str) -> Path:
        inside = path if path.startswith("/") else f"{self.workspace}/{path}"
        return self.root / inside.lstrip("/")


def checkout(box: Container, remote: str, sha: str, git_in_container: bool) -> dict[str, str]:
    work = box.host(".")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if not git_in_container:
        archive = subprocess.Popen(
            ["git", "-C", remote.removeprefix("file://"), "archive", sha], stdout=subprocess.PIPE
        )
        subprocess.run(["tar", "-x", "-C", str(work)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise ActionFailed("checkout: git archive failed")
        return {}
    script = (
        f"set -e; cd {box.workspace}; git config --global --add safe.directory '*'; "
        "git init -q .; "
        f"git remote add origin {remote}; "
        "git -c protocol.version=2 fetch -q --no-tags --depth=1 origin "
        "+refs/heads/main:refs/remotes/origin/main; "
        f"git checkout -q --force -B main {sha}"
    )
    done = subprocess.run(
        ["chroot", str(box.root), "/usr/bin/env", "-i", "HOME=/github/home",
         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
         "bash", "-c", script],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ActionFailed(f"checkout failed: {done.stderr}")
    return {}


def _cache_inputs(inputs: dict[str, Any]) -> tuple[list[str], str, str]:
    """A cache step's paths, key and the version its paths make."""
    paths = _lines(inputs.get("path"))
    key = str(inputs.get("key") or "")
    if not paths or not key:
        raise ActionFailed("cache: 'path' and 'key' are required")
    return paths, key, _version(paths)


def cache_restore(store: Store, box: Container, inputs: dict[str, Any]) -> dict[str, str]:
    _, key, version = _cache_inputs(inputs)
    entries = [e for e in store.entries() if e["version"] == version]
    match = next((e for e in reversed(entries) if e["key"] == key), None)
    if match is None:
        for prefix in _lines(inputs.get("restore-keys")):
            match = next((e for e in reversed(entries) if e["key"].startswith(prefix)), None)
            if match:
                break
    if match is None:
        store.log.append(f"cache miss {key}")
        if str(inputs.get("fail-on-cache-miss", "false")).lower() == "true":
            raise ActionFailed(f"cache: no entry for {key}")
        return {"cache-primary-key": key}
    exact = match["key"] == key
    store.log.append(f"cache {'hit' if exact else 'partial hit'} {key} -> {match['key']}")
    outputs = {"cache-hit": "true" if exact else "false", "cache-primary-key": key,
               "cache-matched-key": match["key"]}  # fmt: skip
    if str(inputs.get("lookup-only", "false")).lower() == "true":
        return outputs
    base = box.host(".")
    base.mkdir(parents=True, exist_ok=True)
    tarball = store.caches / match["id"] / "cache.tar"
    subprocess.run(["tar", "-x", "-P", "-f", str(tarball), "-C", str(base)], check=True)
    return outputs


def cache_save(store: Store, box: Container, inputs: dict[str, Any]) -> dict[str, str]:
    paths, key, version = _cache_inputs(inputs)
    if any(e["key"] == key and e["version"] == version for e in store.entries()):
        store.log.append(f"cache save skipped: {key} exists")
        print(f"warning: Unable to reserve cache with key {key}, another job may be creating it")
        return {}
    base = box.host(".")
    members = []
    for path in paths:
        found = glob.glob(str(box.host(path)))  # noqa: PTH207 (patterns as GitHub writes them)
        for hit in found:
            rel = os.path.relpath(hit, base)
            members.append(rel if not rel.startswith("..") else str(Path(hit)))
    if not members:
        store.log.append(f"cache save skipped: no files for {key}")
        print(f"warning: Path Validation Error: {paths} do not exist; no cache saved")
        return {}
    store.counter += 1
    entry_dir = store.caches / f"{store.counter:04d}"
    entry_dir.mkdir(parents=True)
    subprocess.run(
        ["tar", "-c", "-P", "-f", str(entry_dir / "cache.tar"), "-C", str(base), *members],
        check=True,
    )
    entry = {"id": entry_dir.name, "key": key, "version": version, "created": store.counter,
             "paths": paths}  # fmt: skip
    (entry_dir / "entry.json").write_text(json.dumps(entry))
    store.log.append(f"cache saved {key}")
    return {}


def _search_root(pattern: str) -> str:
    parts = []
    for part in pattern.split("/"):
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return "/".join(parts) or "."


def upload_artifact(store: Store, box: Container, run_id: str, inputs: dict[str, Any]) -> None:
    name = str(inputs.get("name") or "artifact")
    dest = store.artifacts(run_id) / name
    if dest.exists():
        raise ActionFailed(f"upload-artifact: an artifact named {name!r} exists in this run")
    patterns = _lines(inputs.get("path"))
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]
    roots = [os.path.normpath(_search_root(p)) for p in include]
    root = os.path.commonpath(roots) if len(roots) > 1 else roots[0]
    if len(roots) == 1 and not any(c in include[0] for c in "*?[") and box.host(root).is_file():
        root = str(Path(root).parent)
    files: list[Path] = []
    for pattern in include:
        for hit in glob.glob(str(box.host(pattern)), recursive=True):  # noqa: PTH207
            path = Path(hit)
            found = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            files.extend(found)
    base = box.host(root)
    keep = []
    for path in sorted(set(files)):
        rel = path.relative_to(base)
        hidden = any(part.startswith(".") for part in rel.parts)
        if hidden or any(fnmatch.fnmatch(str(path), str(box.host(x))) for x in exclude):
            continue
        keep.append((path, rel))
    if not keep:
        mode = str(inputs.get("if-no-files-found") or "warn")
        if mode == "error":
            raise ActionFailed(f"upload-artifact: no files found for {patterns}")
        print(f"{mode}: no files were found with the provided path: {patterns}")
        return
    for path, rel in keep:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / rel)


def download_artifact(store: Store, box: Container, run_id: str, inputs: dict[str, Any]) -> None:
    folder = store.artifacts(run_id)
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if inputs.get("name"):
        if inputs["name"] not in names:
            raise ActionFailed(f"download-artifact: Artifact not found: {inputs['name']}")
        chosen, merge = [str(inputs["name"])], True
    else:
        pattern = str(inputs.get("pattern") or "*")
        chosen = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        merge = str(inputs.get("merge-multiple", "false")).lower() == "true"
    target = box.host(str(inputs.get("path") or "."))
    for name in chosen:
        dest = target if merge else target / name
        shutil.copytree(folder / name, dest, dirs_exist_ok=True)
