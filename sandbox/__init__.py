"""Where commands and file operations happen: one interface, a Docker and a local backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .base import Sandbox, SandboxConfig, SandboxError
from .repo import export_tree
from .shell import CommandResult

__all__ = [
    "CommandResult",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "open_sandbox",
]


def open_sandbox(
    repo: str | Path | None,
    commit: str = "HEAD",
    config: SandboxConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> Sandbox:
    """Open a sandbox on a copy of `repo` at `commit` (any tree-ish). Use it as a context
    manager: closing removes everything it created, also after errors and Ctrl-C.

    With `config.setup`, the repository's dependencies are installed first (once per
    environment, see environment.py); `progress` receives setup's output lines and
    `sandbox.environment` tells how it went.

    With `repo` None, the image's own repository at `config.workspace` is the workspace
    (Docker only; e.g. SWE-bench's images, whose repository is at /testbed)."""
    config = config or SandboxConfig()
    if repo is None:
        if config.backend != "docker" or config.setup:
            raise SandboxError(
                "a sandbox on an image's own repository needs the docker backend and no setup "
                "(put setup into the image)"
            )
        tar_bytes = None
    else:
        tar_bytes = export_tree(repo, commit)
    if config.backend == "docker":
        from .docker import DockerSandbox

        sandbox: Sandbox = DockerSandbox(config)
    elif config.backend == "local":
        from .local import LocalSandbox

        sandbox = LocalSandbox(config)
    else:
        raise SandboxError(f"unknown sandbox backend {config.backend!r}: use 'docker' or 'local'")
    return sandbox.start(tar_bytes, progress)
