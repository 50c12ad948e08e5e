"""Helpers for the tool tests: a Toolset on a throwaway repository, on either backend."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, IMAGE, make_repo, require_backend

from patchsmith.sandbox import SandboxConfig, open_sandbox
from patchsmith.tools.context import ToolsetConfig
from patchsmith.tools.registry import Toolset


@contextmanager
def toolset_on(repo: Path, backend: str, **config: Any) -> Iterator[Toolset]:
    if backend == "local" and "test_command" not in config:
        # The host's own python may lack pytest; the one running these tests has it.
        config["test_command"] = f"{sys.executable} -m pytest"
    sandbox_config = SandboxConfig(backend=backend, image=IMAGE, memory="512m", pids=256)
    with (
        open_sandbox(repo, config=sandbox_config) as sandbox,
        Toolset(sandbox, ToolsetConfig(**config)) as toolset,
    ):
        yield toolset


def toolset_fixture(files: dict[str, str], **config: Any):
    """A module-scoped fixture: one Toolset per backend on a repository holding `files`."""

    @pytest.fixture(scope="module", params=BACKENDS)
    def fixture(request, tmp_path_factory) -> Iterator[Toolset]:
        require_backend(request.param)
        repo = make_repo(tmp_path_factory.mktemp("repo"), files)
        with toolset_on(repo, request.param, **config) as toolset:
            yield toolset

    return fixture


def put(toolset: Toolset, path: str, text: str | bytes) -> None:
    """Write a file straight into the workspace (not through a tool)."""
    toolset.sandbox.write_file(path, text)


def get(toolset: Toolset, path: str) -> bytes:
    return toolset.sandbox.read_file(path)
