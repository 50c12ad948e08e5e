"""Where a benchmark instance runs: its repository at the base commit, its image, its sandbox.

Two kinds of instance:
- with `repo_path` (local datasets, the bundled mini set): the sandbox is the usual copy of
  a local git repository at `base_commit`, in the instance's image or the configured one.
  A plain directory is made into a git repository with a fixed author, committer and date,
  so the commit id is the same on every machine; a URL is cloned once into a cache.
- official SWE-bench instances: their image already holds the repository at /testbed,
  with a conda environment; the sandbox opens on that directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from patchsmith.sandbox import Sandbox, SandboxConfig, SandboxError, open_sandbox

from .dataset import Instance

if TYPE_CHECKING:
    from patchsmith.agent.config import Settings

OFFICIAL_WORKSPACE = "/testbed"
# Non-login shells read BASH_ENV: that is how the official images' conda env gets activated.
OFFICIAL_ENV = {"BASH_ENV": "/root/.bashrc"}
# Who and when, for repositories made from plain files: fixed, so the commit id is too.
FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "patchsmith",
    "GIT_AUTHOR_EMAIL": "bench@patchsmith.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "patchsmith",
    "GIT_COMMITTER_EMAIL": "bench@patchsmith.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
}
SKIPPED_NAMES = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def instance_image(instance: Instance) -> str:
    """The instance's own `image_name`, else SWE-bench's image for it."""
    if instance.image_name:
        return instance.image_name
    name = instance.instance_id.lower().replace("__", "_1776_")
    return f"swebench/sweb.eval.x86_64.{name}:latest"


def open_instance_sandbox(
    instance: Instance,
    settings: Settings | None = None,
    *,
    config: SandboxConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Sandbox:
    """A sandbox on the instance's repository at its base commit (a context manager).

    The sandbox limits and backend come from `config`, else from `settings`, else the
    defaults; the image and setup commands come from the instance."""
    base = config or (settings.sandbox_config() if settings is not None else SandboxConfig())
    repo = instance_repository(instance)
    if repo is not None:
        image = instance.image_name or base.image
        chosen = dataclasses.replace(base, image=image, setup=tuple(instance.setup))
        return open_sandbox(repo, instance.base_commit, chosen, progress=progress)
    if base.backend != "docker":
        raise SandboxError(
            f"{instance.instance_id} runs in its SWE-bench image, which needs the docker backend"
        )
    image = instance_image(instance)
    ensure_image(image, progress)
    chosen = dataclasses.replace(
        base,
        image=image,
        setup=(),
        workspace=OFFICIAL_WORKSPACE,
        env={**base.env, **OFFICIAL_ENV},
    )
    return open_sandbox(None, instance.base_commit, chosen, progress=progress)


def ensure_image(image: str, progress: Callable[[str], None] | None = None) -> None:
    """Pull `image` when the engine does not have it; a SandboxError when that fails."""
    import docker.errors

    from patchsmith.sandbox.docker import docker_client

    client = docker_client()
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    if progress is not None:
        progress(f"pulling {image}")
    repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    try:
        client.images.pull(repository, tag=tag or "latest")
    except Exception as exc:
        raise SandboxError(
            f"the image {image} is not present and could not be pulled ({exc}). Pull or build "
            "it, or give the instance an image_name that exists here."
        ) from None


def instance_repository(instance: Instance, cache: Path | None = None) -> Path | None:
    """The local git repository holding the instance's base commit; None for an official
    instance (its image holds the repository)."""
    if not instance.repo_path:
        return None
    source = instance.repo_path
    if re.match(r"^[a-z][\w+.-]*://|^[\w.-]+@[\w.-]+:", source):
        repo = clone(source, instance.base_commit, cache)
    else:
        path = Path(source).expanduser()
        if not path.is_dir():
            raise SandboxError(f"{instance.instance_id}: repo_path {source} is not a directory")
        # A plain directory inside another repository (the bundled mini set) is still plain.
        top = _git(path, "rev-parse", "--show-toplevel")
        repo = path if top and Path(top) == path.resolve() else materialize(path, cache)
    if _git(repo, "cat-file", "-e", f"{instance.base_commit}^{{commit}}") is None:
        raise SandboxError(
            f"{instance.instance_id}: base_commit {instance.base_commit} is not a commit of {repo}"
        )
    return repo


def materialize(source: Path, cache: Path | None = None) -> Path:
    """A git repository of the files in `source`, committed once with a fixed author,
    committer and date (so its commit id depends on the files only). Kept in the cache,
    keyed by the files' contents."""
    files = _plain_files(source)
    digest = hashlib.sha256()
    for relative, path in files:
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    root = (cache or cache_dir()) / "repos"
    target = root / f"{source.name}-{digest.hexdigest()[:16]}"
    if _git(target, "rev-parse", "--verify", "--quiet", "HEAD") is not None:
        return target
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{source.name}-", dir=root))
    try:
        for relative, path in files:
            destination = building / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)  # no mode bits: every file is 100644 in git
        _fixed_git(building, "init", "-q")
        _fixed_git(building, "add", "-A")
        _fixed_git(building, "commit", "-q", "--no-verify", "-m", f"Import {source.name}")
        try:
            building.rename(target)
        except OSError:  # another process made it first
            shutil.rmtree(building, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return target


def clone(url: str, commit: str, cache: Path | None = None) -> Path:
    """A clone of `url` in the cache holding `commit` (fetched when missing)."""
    root = (cache or cache_dir()) / "clones"
    slug = re.sub(r"[^\w.-]+", "-", url.rstrip("/").split("/")[-1].removesuffix(".git"))
    target = root / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:12]}"
    if _git(target, "rev-parse", "--git-dir") is None:
        root.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{slug}-", dir=root))
        done = subprocess.run(
            ["git", "clone", "-q", "--no-checkout", url, str(building)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise SandboxError(f"git clone {url} failed: {done.stderr.strip()[-500:]}")
        try:
            building.rename(target)
        except OSError:
            shutil.rmtree(building, ignore_errors=True)
    if _git(target, "cat-file", "-e", f"{commit}^{{commit}}") is None:
        _git(target, "fetch", "-q", "origin", commit)
    return target


def cache_dir() -> Path:
    """Where repositories made or cloned for benchmarks are kept."""
    configured = os.environ.get("PATCHSMITH_CACHE_DIR")
    base = Path(configured) if configured else Path.home() / ".cache" / "patchsmith"
    return base / "bench"


def _plain_files(source: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in SKIPPED_NAMES for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            found.append((relative.as_posix(), path))
    return found


def _fixed_git(repo: Path, *args: str) -> None:
    # The user's git configuration (hooks, signing, line endings) must not change the commit.
    env = {
        **os.environ,
        **FIXED_IDENTITY,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SandboxError(f"git {args[0]} failed in {repo}: {done.stderr.strip()[-500:]}")


def _git(repo: Path, *args: str) -> str | None:
    if not repo.is_dir():
        return None
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None
