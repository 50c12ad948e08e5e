"""Building the sandbox image, with a registry or without one (debootstrap + docker import)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from .base import SandboxError

DEFAULT_IMAGE = "patchsmith-sandbox:latest"
REGISTRY_BASE = "python:3.12-slim"
OFFLINE_BASE_REPO = "patchsmith-base"
# What the offline base carries, so that the Dockerfile needs no network on top of it.
OFFLINE_PACKAGES = [
    "python3",
    "python3-pip",
    "python3-pytest",
    "git",
    "ripgrep",
    "ca-certificates",
    "procps",
    "patch",
]

Progress = Callable[[str], None]


def dockerfile_text() -> str:
    return (resources.files("patchsmith") / "Dockerfile").read_text()


def build_sandbox_image(
    client, tag: str = DEFAULT_IMAGE, base: str = REGISTRY_BASE, progress: Progress = print
) -> str:
    """Build the sandbox image from the packaged Dockerfile on top of `base`; returns its id."""
    import docker.errors

    progress(f"building {tag} on {base}")
    image_id = None
    try:
        for chunk in client.api.build(
            fileobj=io.BytesIO(dockerfile_text().encode()),
            tag=tag,
            buildargs={"BASE": base},
            rm=True,
            forcerm=True,
            decode=True,
        ):
            if "error" in chunk:
                raise SandboxError(_build_failure(chunk["error"], base))
            line = chunk.get("stream", "").rstrip()
            if line:
                progress(line)
            image_id = chunk.get("aux", {}).get("ID", image_id)
    except docker.errors.APIError as exc:
        raise SandboxError(_build_failure(str(exc), base)) from None
    return image_id or client.images.get(tag).id


def _build_failure(message: str, base: str) -> str:
    hint = ""
    if base == REGISTRY_BASE:
        hint = " If this machine cannot reach a registry, use `agent sandbox build --offline`."
    return f"building the sandbox image failed: {message.strip()}.{hint}"


def apt_source() -> tuple[str, str]:
    """(mirror URI, suite) of the Debian archive the host's apt is configured for."""
    texts = []
    sources_dir = Path("/etc/apt/sources.list.d")
    if sources_dir.is_dir():
        texts += [p.read_text() for p in sorted(sources_dir.glob("*.sources"))]
        texts += [p.read_text() for p in sorted(sources_dir.glob("*.list"))]
    if Path("/etc/apt/sources.list").is_file():
        texts.append(Path("/etc/apt/sources.list").read_text())
    for text in texts:
        # one-line format: deb [opts] URI SUITE COMPONENTS
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if _is_main_debian(match.group(1), match.group(2)):
                return match.group(1), match.group(2)
        # deb822 format: stanzas with URIs: and Suites:
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(\S+)", stanza, re.M)
            if uris and suites and _is_main_debian(uris.group(1), suites.group(1)):
                return uris.group(1), suites.group(1)
    raise SandboxError(
        "could not find a Debian mirror in this machine's apt sources; "
        "pass --mirror URI --suite NAME"
    )


def _is_main_debian(uri: str, suite: str) -> bool:
    return uri.rstrip("/").endswith("/debian") and "-" not in suite


def make_offline_base(
    client,
    mirror: str | None = None,
    suite: str | None = None,
    refresh: bool = False,
    progress: Progress = print,
) -> str:
    """Make a minimal Debian base image with debootstrap and `docker import` it; returns its tag.

    An existing base is reused unless `refresh` is set: it changes only with the Debian suite.
    """
    import docker.errors

    if mirror is None or suite is None:
        found_mirror, found_suite = apt_source()
        mirror, suite = mirror or found_mirror, suite or found_suite
    tag = f"{OFFLINE_BASE_REPO}:{suite}"
    if not refresh:
        try:
            client.images.get(tag)
            progress(f"reusing the base image {tag} (--refresh-base to make it anew)")
            return tag
        except docker.errors.ImageNotFound:
            pass
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "`agent sandbox build --offline` needs debootstrap: `apt-get install debootstrap`"
        )
    if os.geteuid() != 0:
        raise SandboxError("debootstrap needs root: run `sudo agent sandbox build --offline`")
    with tempfile.TemporaryDirectory(prefix="patchsmith-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap {suite} from {mirror} (a minute or two)")
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(OFFLINE_PACKAGES)}",
            suite,
            str(rootfs),
            mirror,
        ]
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            tail = []
            for line in proc.stdout:
                progress(line.rstrip())
                tail = (tail + [line])[-20:]
        if proc.returncode != 0:
            raise SandboxError(f"debootstrap failed:\n{''.join(tail)}")
        progress(f"importing the root filesystem as {tag}")
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."], check=True
        )
        shutil.rmtree(rootfs, ignore_errors=True)
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version)
    return tag
