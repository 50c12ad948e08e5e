"""The Sandbox contract: what every backend offers to the tools and the agent above it."""

from __future__ import annotations

import posixpath
import shlex
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .shell import CommandResult, ShellSession

if TYPE_CHECKING:
    from .environment import EnvResult

BASE_REF = "refs/patchsmith/base"
# A `git` for bookkeeping: no hooks, no fsmonitor, no external diff or textconv, and every
# filter driver the workspace's config defines turned off.
_SAFE_GIT = r"""
filters=
while IFS= read -r f; do  # filter.NAME.KEY -> filter.NAME, once each (builtins: no sed, sort)
  f=${f%.*}; [[ " $filters " == *" $f "* ]] || filters+=" $f"
done < <(command git config --includes --name-only --get-regexp '^filter\.' 2>/dev/null)
git() {
  local overrides=() f
  for f in $filters; do
    overrides+=(-c "$f.clean=" -c "$f.smudge=" -c "$f.process=" -c "$f.required=false")
  done
  command git -c core.fsmonitor=false -c core.hooksPath=/dev/null -c diff.external= \
    -c core.attributesFile=/dev/null -c core.pager=cat "${overrides[@]}" "$@"
}"""
# A private index keeps diff/changed-file bookkeeping out of the index the model sees.
BOOKKEEPING_INDEX = ".git/patchsmith-index"


class SandboxError(Exception):
    """Something about the sandbox itself went wrong (not the command run inside it)."""


@dataclass(frozen=True)
class SandboxConfig:
    backend: str = "docker"  # "docker" or "local"
    image: str = "patchsmith-sandbox:latest"
    network: bool = False
    memory: str = "4g"
    cpus: float = 2.0
    pids: int = 1024
    # Docker cannot cap a volume's size: commands that keep writing once the disk holding the
    # workspace has less than this free are killed (docker backend; "" or "0": no guard).
    disk_reserve: str = "2g"
    command_timeout: float = 120.0
    output_limit: int = 100_000  # bytes of a command's output kept; the rest is elided
    start_timeout: float = 60.0  # for the sandbox's shell to answer; slow engines need more
    env: dict[str, str] = field(default_factory=dict)
    # Where the repository lives in the sandbox. With no repository given to open_sandbox,
    # the image's own copy there is the workspace (e.g. /testbed in SWE-bench's images).
    workspace: str = "/workspace"
    # Run commands as the image's unprivileged user on a read-only root filesystem: None =
    # when the image names such a user (patchsmith's own image does), True = require it.
    hardened: bool | None = None
    # Commands that install the repository's dependencies (see environment.py):
    # () none, None derive a default from the repository's manifests.
    setup: tuple[str, ...] | None = ()
    setup_timeout: float = 1800.0  # seconds per setup command

    def __post_init__(self) -> None:
        if self.setup is not None and not isinstance(self.setup, tuple):
            object.__setattr__(self, "setup", tuple(self.setup))


class Sandbox(ABC):
    """A disposable workspace holding a copy of a repository at one commit.

    Paths given to the file methods are relative to the workspace root (absolute paths
    inside the root are accepted too). Commands run in one persistent shell, so `cd` and
    `export` carry over from one command to the next, as in a terminal.
    """

    isolated: bool  # False for the local backend: commands run on the host
    root: str  # the workspace root as the shell sees it

    def __init__(self, config: SandboxConfig):
        self.config = config
        self._shell: ShellSession | None = None
        self._bookkeeper: ShellSession | None = None
        self._lock = threading.Lock()
        self._bookkeeping_lock = threading.Lock()
        self._closed = False
        self.environment: EnvResult | None = None  # how setup went, when there was any
        self._progress: Callable[[str], None] | None = None

    # -- backend hooks -------------------------------------------------------------
    @abstractmethod
    def _start(self, tar_bytes: bytes | None) -> Callable[[], ShellSession]:
        """Create the workspace from a tar of the repository (None: the image already holds
        it, at `config.workspace`); returns what starts a shell in it."""

    @abstractmethod
    def _destroy(self) -> None:
        """Remove everything the sandbox created. Must be safe to call twice."""

    @abstractmethod
    def read_file(self, path: str) -> bytes: ...

    # -- lifecycle -----------------------------------------------------------------
    def start(
        self, tar_bytes: bytes | None, progress: Callable[[str], None] | None = None
    ) -> Sandbox:
        """`progress` receives the lines of setup, when the repository has any."""
        self._progress = progress
        try:
            new_shell = self._start(tar_bytes)
            self._shell = new_shell()
            # Diffs and bookkeeping run in a shell of their own: nothing the model does to its
            # shell (functions named git, exported GIT_* variables) can forge them.
            self._bookkeeper = new_shell()
            if not self.isolated:
                # Nothing to cache on the host: setup runs in the workspace, before the base
                # commit, so what it makes is not part of the diff.
                from .environment import run_setup_on_host

                self.environment = run_setup_on_host(self, tar_bytes, progress)
            self._init_git(fresh=tar_bytes is not None)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            for shell in (self._shell, self._bookkeeper):
                if shell is not None:
                    shell.close()
        finally:
            self._destroy()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- commands ------------------------------------------------------------------
    def run(
        self,
        command: str,
        timeout: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        output_limit: int | None = None,
    ) -> CommandResult:
        """Run a shell command in the persistent shell.

        With `cwd` or `env`, the command runs in a subshell so that those overrides do not
        leak into later commands; otherwise `cd`/`export` persist.
        """
        if self._shell is None or self._closed:
            raise SandboxError("the sandbox is closed")
        if cwd is not None:
            cwd = self.resolve(cwd)
        with self._lock:
            try:
                return self._shell.run(
                    command,
                    timeout=self.config.command_timeout if timeout is None else timeout,
                    output_limit=output_limit or self.config.output_limit,
                    cwd=cwd,
                    env=env,
                )
            except (OSError, RuntimeError) as exc:
                # The shell is gone and cannot come back: the container was killed, the
                # engine went away. Callers see one kind of error for "the sandbox broke".
                raise SandboxError(self._why_broken(exc)) from exc

    def interrupt(self) -> None:
        """Stop the command that is running now (from another thread); the shell survives."""
        if self._shell is not None:
            self._shell.interrupt()

    def _why_broken(self, exc: Exception) -> str:
        """What to tell the user when a shell died under a command."""
        return f"the sandbox stopped working: {exc}"

    # -- files ---------------------------------------------------------------------
    def resolve(self, path: str) -> str:
        """The absolute in-sandbox path of `path`; refuses paths that leave the workspace."""
        joined = posixpath.normpath(posixpath.join(self.root, path))
        if joined != self.root and not joined.startswith(self.root.rstrip("/") + "/"):
            raise PermissionError(f"path escapes the workspace: {path}")
        return joined

    def write_file(self, path: str, data: bytes | str) -> None:
        """Write a file in the workspace, never through a link that leads out of it (also
        one swapped in by a command still running); a symlink itself is not written."""
        payload = data.encode() if isinstance(data, str) else data
        target = self.resolve(path)
        if self._bookkeeper is None or self._closed:
            raise SandboxError("the sandbox is closed")
        with self._bookkeeping_lock:  # through the bookkeeping shell, as _book
            try:
                result = self._bookkeeper.write_file(
                    target, payload, self.config.command_timeout, self.root
                )
            except (OSError, RuntimeError) as exc:
                raise SandboxError(self._why_broken(exc)) from exc
        if result.exit_code != 0:
            raise SandboxError(f"could not write {target}: {result.output.strip()[-300:]}")

    def list_files(self) -> list[str]:
        """Files in the workspace (tracked or new, not ignored), relative to the root."""
        out = self._git("git ls-files -z --cached --others --exclude-standard")
        return sorted({p for p in out.split("\0") if p})

    def read_files(self, paths: list[str]) -> dict[str, bytes]:
        """Several files at once (one transfer where the backend can); missing and unreadable
        ones are left out."""
        found = {}
        for path in paths:
            try:
                found[path] = self.read_file(path)
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                pass  # gone meanwhile, or a link to something unreadable
        return found

    def file_hashes(self) -> dict[str, str]:
        """Every workspace file (tracked or new, not ignored) with its git blob id, a content
        hash that is cheap to get for unchanged files."""
        out = self._git(f"{self._stage_all()} && git ls-files -s -z")
        hashes = {}
        for entry in out.split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                hashes[path] = meta.split()[1]
        return hashes

    def changed_files(self) -> list[str]:
        """Files added, modified or deleted since the base commit."""
        out = self._git(f"{self._stage_all()} && git diff --cached --name-only -z {BASE_REF}")
        return [p for p in out.split("\0") if p]

    def diff(self) -> str:
        """The unified diff of the workspace against its base commit, new files included."""
        return self._git(
            f"{self._stage_all()} && git diff --cached --binary --no-ext-diff --no-textconv "
            f"{BASE_REF}"
        )

    # -- internals -----------------------------------------------------------------
    def _stage_all(self) -> str:
        return f"export GIT_INDEX_FILE={BOOKKEEPING_INDEX} && git add -A"

    def _book(self, script: str, output_limit: int = 1 << 40) -> CommandResult:
        """Run `script` at the workspace root in the bookkeeping shell: the one the model
        never types into, so its shell state (functions, `set -o noclobber`, exported GIT_*
        variables) can neither break nor forge file transfers and diffs."""
        if self._bookkeeper is None or self._closed:
            raise SandboxError("the sandbox is closed")
        with self._bookkeeping_lock:
            for _ in range(2):  # the model can kill this shell too (`kill -9 -1`): go again
                try:
                    result = self._bookkeeper.run(
                        script,
                        timeout=max(self.config.command_timeout, 300),
                        output_limit=output_limit,
                        cwd=self.root,
                        env={"GIT_PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0"},
                    )
                except (OSError, RuntimeError) as exc:
                    raise SandboxError(self._why_broken(exc)) from exc
                if result.exit_code is not None or result.timed_out:
                    break
            return result

    def _git(self, script: str) -> str:
        """A git script in the bookkeeping shell, where `git` ignores what the model could
        have put into the workspace's git config to run its own code or rewrite what git
        reports: hooks, fsmonitor, external diff, filters."""
        result = self._book(f"{_SAFE_GIT}\n{script}")
        if result.exit_code != 0:
            raise SandboxError(f"git failed in the sandbox: {result.output.strip()[-500:]}")
        return result.output

    def _init_git(self, fresh: bool) -> None:
        """Record the base the diff is taken against. A fresh copy becomes a repository with
        one commit; an image's own repository keeps its history, and its base is a commit
        (made off to the side, HEAD untouched) of everything there at the start."""
        ident = "-c user.name=patchsmith -c user.email=patchsmith@localhost"
        if fresh:
            self._git(
                "git init -q && git add -A && "
                f"git {ident} commit -q --no-verify --allow-empty -m 'patchsmith base' && "
                f"git update-ref {BASE_REF} HEAD && "
                f"git read-tree --index-output={shlex.quote(BOOKKEEPING_INDEX)} HEAD"
            )
            return
        self._git(
            f"{self._stage_all()} && tree=$(git write-tree) && "
            f"base=$(git {ident} commit-tree $tree -p HEAD -m 'patchsmith base') && "
            f"git update-ref {BASE_REF} $base"
        )
