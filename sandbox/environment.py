"""The repository's environment: setup commands run once, baked into a reusable derived image.

A repository needs its dependencies before its tests can run. Its setup commands (the user's,
or a default derived from its manifests) run in a container of the base image WITH network;
the container is committed as `patchsmith-env:<16 hex of the key>`, and sandboxes then start
from that image with the network as configured (off by default). The key covers the base
image id, the commands and the contents of the dependency manifests, so later commits reuse
the image until one of those changes.

What setup runs by default and what the key covers: setup_plan.py.

A derived image made at one commit is reused at another, so the files of the first tree
that it still holds in /workspace are listed in /opt/patchsmith and deleted before the new
tree is copied in: only what setup itself made (egg-info, build output, node_modules...)
stays.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import SandboxError
from .docker import HOST_LABEL, OWNER_LABEL, WORKSPACE, owner_labels
from .setup_plan import default_setup, environment_key, manifest_paths

if TYPE_CHECKING:
    from .base import Sandbox

Progress = Callable[[str], None]

ENV_REPOSITORY = "patchsmith-env"
KEY_LABEL = "patchsmith.env.key"
BASE_LABEL = "patchsmith.env.base-image"
BASE_ID_LABEL = "patchsmith.env.base-id"
SETUP_LABEL = "patchsmith.env.setup"
MANIFESTS_LABEL = "patchsmith.env.manifests"
# Outside the workspace, so that the sandbox's git never sees them.
TREE_FILES = "/opt/patchsmith/setup-tree-files"
TREE_DIRS = "/opt/patchsmith/setup-tree-dirs"

# Given to every setup command, not baked into the image.
SETUP_ENV = {
    "PIP_BREAK_SYSTEM_PACKAGES": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "PIP_PROGRESS_BAR": "off",
}
TAIL_LINES = 30
# Builds that take their version from git (setuptools-scm...) fail without a repository, and
# the tree has none before the sandbox starts: setup gets a throwaway one, removed afterwards
# so that the sandbox's own git starts fresh. Best effort: an image may lack git.
_GIT_FOR_SETUP = (
    "command -v git >/dev/null || exit 0; git init -q && git add -A && "
    "git -c user.name=patchsmith -c user.email=patchsmith@localhost -c commit.gpgsign=false "
    "commit -q --no-verify -m 'patchsmith setup' >/dev/null; exit 0"
)
_GIT_CLEANUP = "rm -rf .git"


@dataclass(frozen=True)
class EnvResult:
    """How a sandbox's environment was prepared."""

    image: str | None  # the image the sandbox runs; None for the local backend
    key: str | None  # None when there was nothing to set up
    reused: bool  # an existing derived image was used: no setup ran
    setup_ran: bool
    seconds: float
    warning: str | None = None  # a failed default setup, or a note from the local backend
    commands: tuple[str, ...] = ()


class SetupError(SandboxError):
    """A setup command failed; carries what a user needs to fix it."""

    def __init__(self, command: str, exit_code: int | None, tail: str, timed_out: bool = False):
        self.command, self.exit_code, self.tail = command, exit_code, tail
        self.status = "timed out" if timed_out else f"exited with code {exit_code}"
        super().__init__(
            f"setup command `{command}` {self.status}. Last lines of its output:\n{tail}\n"
            "Fix the setup commands (or pass none) and run again."
        )


def prepare_environment(
    client,
    base_image: str,
    tree: bytes,
    setup: Iterable[str] | None,
    progress: Progress | None = None,
    timeout: float = 1800.0,
    env: Mapping[str, str] | None = None,
) -> EnvResult:
    """The image a sandbox on `tree` (a tar from `export_tree`) should start from.

    `setup` None derives the default, an empty list means none. A failing explicit setup
    raises SetupError; a failing default one is reported in `warning` and the base image is
    used. Nothing is cached after a failure. `timeout` applies to each command.
    """
    progress = progress or _quiet
    started = time.monotonic()
    view = _TreeView(tree)
    explicit = setup is not None
    commands = tuple(setup) if explicit else tuple(default_setup(view.files, view.texts()))
    if not commands:
        return EnvResult(base_image, None, False, False, time.monotonic() - started)
    base = client.images.get(base_image)
    paths = manifest_paths(view.files, commands)
    key = environment_key(base.id, commands, {p: view.read(p) for p in paths})
    tag = f"{ENV_REPOSITORY}:{key[:16]}"
    with _key_lock(key):
        if _has_image(client, tag, key):
            progress(f"reusing the environment {tag} (no setup needed)")
            return EnvResult(tag, key, True, False, time.monotonic() - started, None, commands)
        labels = {
            KEY_LABEL: key,
            BASE_LABEL: base_image,
            BASE_ID_LABEL: base.id,
            SETUP_LABEL: json.dumps(list(commands)),
            MANIFESTS_LABEL: json.dumps(paths),
        }
        progress(f"setting up the environment {tag} (network on for setup only)")
        try:
            _build(client, base_image, tag, labels, view, commands, progress, timeout, env)
        except SetupError as exc:
            if explicit:
                raise
            warning = (
                f"the default setup failed: `{exc.command}` {exc.status}. "
                "The sandbox starts from the plain image, so the repository's dependencies may "
                "be missing; give setup commands to fix this. Last lines of its output:\n"
                f"{exc.tail}"
            )
            progress(warning)
            seconds = time.monotonic() - started
            return EnvResult(base_image, key, False, True, seconds, warning, commands)
    seconds = time.monotonic() - started
    progress(f"environment {tag} ready in {seconds:.1f}s")
    return EnvResult(tag, key, False, True, seconds, None, commands)


def remove_setup_tree(client, container_id: str) -> None:
    """Delete from /workspace the files of the tree a derived image was set up on."""
    script = (
        f"[ -f {TREE_FILES} ] || exit 0; cd {WORKSPACE} && "
        f"xargs -0 -r rm -f -- < {TREE_FILES} || exit 1; "
        # Directories are best effort: setup may have removed or filled them.
        f"xargs -0 -r rmdir --ignore-fail-on-non-empty -- < {TREE_DIRS} 2>/dev/null; exit 0"
    )
    _exec_quietly(client, container_id, script)


def run_setup_on_host(
    sandbox: Sandbox, tree: bytes, progress: Progress | None = None
) -> EnvResult | None:
    """The local backend's setup: explicit commands run in the workspace, uncached.

    A derived default is skipped there: it would install into this machine's Python.
    """
    progress = progress or _quiet
    setup = sandbox.config.setup
    if setup is not None and not setup:
        return None
    started = time.monotonic()
    if setup is None:
        view = _TreeView(tree)
        if not default_setup(view.files, view.texts()):
            return None
        note = (
            "the local sandbox does not run the default setup (it would install into this "
            "machine's Python); give setup commands explicitly to run them here"
        )
        progress(note)
        return EnvResult(None, None, False, False, time.monotonic() - started, note)
    progress("running the setup commands ON THIS MACHINE (local sandbox: not isolated, not cached)")
    sandbox.run(_GIT_FOR_SETUP, cwd=sandbox.root)
    try:
        _run_on_host(sandbox, setup, progress)
    finally:
        sandbox.run(_GIT_CLEANUP, cwd=sandbox.root)
    note = "the setup commands ran on this machine, in the sandbox's copy of the repository"
    return EnvResult(None, None, False, True, time.monotonic() - started, note, tuple(setup))


def _run_on_host(sandbox: Sandbox, setup: Iterable[str], progress: Progress) -> None:
    for command in setup:
        progress(f"$ {command}")
        result = sandbox.run(
            command, timeout=sandbox.config.setup_timeout, cwd=sandbox.root, env=SETUP_ENV
        )
        for line in result.output.splitlines():
            progress(line)
        if not result.ok:
            tail = "\n".join(result.output.splitlines()[-TAIL_LINES:])
            raise SetupError(command, result.exit_code, tail, result.timed_out)


def list_environments(client) -> list:
    """The derived environment images on the engine (for listing and pruning)."""
    return client.images.list(filters={"label": KEY_LABEL})


def _build(client, base_image, tag, labels, view, commands, progress, timeout, env) -> None:
    container = client.containers.create(
        base_image,
        command=["sleep", "infinity"],
        name=f"patchsmith-setup-{uuid.uuid4().hex[:12]}",
        # The sandbox labels let `agent sandbox prune` find a setup container a kill left.
        labels=owner_labels(),
        working_dir=WORKSPACE,
        network_mode="bridge",
        init=True,
        cap_drop=["NET_RAW", "SYS_ADMIN", "MKNOD"],
        security_opt=["no-new-privileges"],
    )
    try:
        container.start()
        if not container.put_archive(WORKSPACE, view.tree):
            raise SandboxError("could not copy the repository into the setup container")
        _exec_quietly(client, container.id, _GIT_FOR_SETUP)
        step_env = {**SETUP_ENV, **(env or {})}
        for command in commands:
            _run_step(client, container.id, command, progress, timeout, step_env)
        _exec_quietly(client, container.id, _GIT_CLEANUP)
        container.put_archive("/", view.listing())
        # Labels merge with the container's; the owner labels are blanked, not inherited.
        container.commit(
            repository=ENV_REPOSITORY,
            tag=tag.partition(":")[2],
            conf={"Labels": {**labels, OWNER_LABEL: "0", HOST_LABEL: ""}},
        )
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass  # already gone; `agent sandbox prune` catches anything else


def _run_step(client, container_id, command, progress, timeout, env) -> None:
    progress(f"$ {command}")
    # `timeout` inside the container: the stream below has no deadline of its own.
    argv = ["timeout", "-k", "10", str(max(1, int(timeout))), "bash", "-c", command]
    exec_id = client.api.exec_create(
        container_id, argv, workdir=WORKSPACE, environment=dict(env), stdout=True, stderr=True
    )["Id"]
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    pending = b""
    for chunk in client.api.exec_start(exec_id, stream=True):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            text = line.decode(errors="replace").rstrip("\r")
            tail.append(text)
            progress(text)
    if pending:
        tail.append(pending.decode(errors="replace"))
        progress(tail[-1])
    code = client.api.exec_inspect(exec_id).get("ExitCode")
    if code != 0:
        raise SetupError(command, code, "\n".join(tail), timed_out=code in (124, 137))


def _exec_quietly(client, container_id: str, script: str) -> None:
    exec_id = client.api.exec_create(container_id, ["bash", "-c", script], workdir=WORKSPACE)["Id"]
    output = client.api.exec_start(exec_id)
    if client.api.exec_inspect(exec_id).get("ExitCode") != 0:
        raise SandboxError(
            f"preparing the environment failed: {output.decode(errors='replace').strip()[-500:]}"
        )


def _has_image(client, tag: str, key: str) -> bool:
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return (image.labels or {}).get(KEY_LABEL) == key  # a 16-hex prefix could collide


@contextlib.contextmanager
def _key_lock(key: str) -> Iterator[None]:
    """Serialises setups of one key across processes: the second waits, then reuses."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock, at worst a setup runs twice
        yield
        return
    folder = os.path.join(tempfile.gettempdir(), f"patchsmith-env-locks-{os.getuid()}")
    try:
        os.makedirs(folder, exist_ok=True)
        handle = open(os.path.join(folder, f"{key[:16]}.lock"), "a")
    except OSError:  # an unwritable temp dir only costs the protection against a double setup
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _TreeView:
    """Names and manifest contents of a repository tar."""

    def __init__(self, tree: bytes):
        self.tree = tree
        self._archive = tarfile.open(fileobj=io.BytesIO(tree))
        self._members = {m.name.rstrip("/"): m for m in self._archive.getmembers()}
        self.files = [n for n, m in self._members.items() if not m.isdir()]
        self.dirs = [n for n, m in self._members.items() if m.isdir()]

    def read(self, path: str) -> bytes:
        member = self._members.get(path)
        if member is None:
            return b""
        if member.issym():
            return f"symlink -> {member.linkname}".encode()
        handle = self._archive.extractfile(member)
        return handle.read() if handle else b""

    def texts(self) -> dict[str, str]:
        return {
            p: self.read(p).decode(errors="replace")
            for p in ("pyproject.toml", "setup.py", "setup.cfg")
            if p in self._members
        }

    def listing(self) -> bytes:
        """A tar holding the tree's file list and its directories, deepest first."""
        entries = {
            TREE_FILES: "\0".join(self.files),
            TREE_DIRS: "\0".join(sorted(self.dirs, key=lambda d: -d.count("/"))),
        }
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as archive:
            for target, text in entries.items():
                data = text.encode()
                info = tarfile.TarInfo(target.lstrip("/"))
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def _quiet(_: str) -> None:
    pass
