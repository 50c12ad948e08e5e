"""Builds the environment and instance layers with `docker build`, offline: the wheelhouse
and the repository are copied into the build context, nothing is fetched inside the build.
A venv at /opt/miniconda3/envs/testbed and a `conda` shim let the official eval script's
`source /opt/miniconda3/bin/activate && conda activate testbed` work unchanged."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

VENV = "/opt/miniconda3/envs/testbed"
LABELS = 'LABEL org.patchsmith.image="{kind}"'
# pip runs from its own wheel: the base's python3 may lack ensurepip (no python3-venv).
ENV_DOCKERFILE = """\
FROM {base}
USER root
{labels}
COPY wheels /wheels
RUN python3 -m venv --without-pip {venv} \\
    && {venv}/bin/python /wheels/$(cd /wheels && ls pip-*.whl | head -1)/pip install \\
       --no-index --find-links /wheels pip {requirements} \\
    && mkdir -p /opt/miniconda3/bin \\
    && printf 'conda() {{ . {venv}/bin/activate; }}\\n' > /opt/miniconda3/bin/activate
"""
INSTANCE_DOCKERFILE = """\
FROM {env_image}
{labels}
COPY testbed /testbed
WORKDIR /testbed
RUN . {venv}/bin/activate && {install}
"""


class BuildFailed(Exception):
    """docker build failed; the message carries its last lines."""


def _build(context: Path, dockerfile: str, tag: str) -> None:
    (context / "Dockerfile").write_text(dockerfile)
    done = subprocess.run(["docker", "build", "-q", "-t", tag, str(context)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildFailed(f"{tag}: " + " | ".join(done.stderr.strip().splitlines()[-3:]))


def build_env_image(base: str, wheelhouse: Path, requirements: list[str], tag: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(wheelhouse, Path(tmp) / "wheels")
        quoted = " ".join(f"'{r}'" for r in requirements)
        _build(Path(tmp), ENV_DOCKERFILE.format(base=base, venv=VENV, requirements=quoted,
                                                labels=LABELS.format(kind="swe-env")), tag)


def build_instance_image(env_image: str, mirror: Path, commit: str, install: str,
                         tag: str) -> None:
    """The repository cloned from its local mirror at `commit` into /testbed, then `install`."""
    with tempfile.TemporaryDirectory() as tmp:
        testbed = Path(tmp) / "testbed"
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(mirror), str(testbed)],
                       check=True)
        subprocess.run(["git", "-C", str(testbed), "checkout", "-q", commit], check=True)
        _build(Path(tmp), INSTANCE_DOCKERFILE.format(
            env_image=env_image, venv=VENV, install=install,
            labels=LABELS.format(kind="swe-instance")), tag)
