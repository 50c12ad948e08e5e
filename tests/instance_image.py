"""A SWE-bench-shaped instance image of a small local repository, for the tests and the
evaluation benchmark: the repository at /testbed, run as root, and `source
/opt/miniconda3/bin/activate && conda activate testbed` working (a stand-in for the conda
environment); pip installs from what is there, as an image's environment would. Until
patchsmith's image builder is merged, this is the one place such an image is made."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
TEST_PATCH = (
    "diff --git a/tests/test_calc.py b/tests/test_calc.py\n"
    "--- a/tests/test_calc.py\n"
    "+++ b/tests/test_calc.py\n"
    "@@ -3,3 +3,7 @@ from calc import add\n"
    " \n"
    " def test_zero():\n"
    "     assert add(0, 0) == 0\n"
    "+\n"
    "+\n"
    "+def test_add():\n"
    "+    assert add(2, 3) == 5\n"
)
GOLD = (
    "diff --git a/calc.py b/calc.py\n"
    "--- a/calc.py\n"
    "+++ b/calc.py\n"
    "@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n"
    "-    return a - b\n"
    "+    return a + b\n"
)
WRONG = GOLD.replace("+    return a + b", "+    return a * b")
STAND_IN_DOCKERFILE = """\
FROM {base}
USER root
LABEL org.patchsmith.image="test-instance" org.patchsmith.user=""
ENV PIP_NO_INDEX=1 PIP_NO_BUILD_ISOLATION=0
RUN mkdir -p /opt/miniconda3/bin \\
    && printf 'conda() {{ :; }}\\n' > /opt/miniconda3/bin/activate \\
    && ln -sf /usr/bin/python3 /usr/local/bin/python
COPY testbed /testbed
WORKDIR /testbed
"""


FILES = {
    "calc.py": CALC,
    "conftest.py": "",
    "tests/test_calc.py": TESTS,
    "setup.py": "from setuptools import setup\n\nsetup(name='calc', py_modules=['calc'])\n",
}
LABEL = "patchsmith-test"


def build_instance_image(work: Path, base: str) -> tuple[str, str]:
    """(image, base commit): the image built from `base` with the repository made in
    `work`. Remove it with `remove_instance_image`."""
    from patchsmith.sandbox.docker import docker_client

    repo = work / "testbed"
    repo.mkdir(parents=True)
    for name, text in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (work / "Dockerfile").write_text(STAND_IN_DOCKERFILE.format(base=base))
    name = f"patchsmith-test-instance:{uuid.uuid4().hex[:12]}"
    docker_client().images.build(path=str(work), tag=name, rm=True, labels={LABEL: "1"})
    return name, head


def remove_instance_image(name: str) -> None:
    from patchsmith.sandbox.docker import docker_client

    docker_client().images.remove(name, force=True)


def stand_in_row(image: str, base_commit: str) -> dict:
    """A classic row of a repository swebench's specs know, whose repository is the
    stand-in's."""
    return {
        "instance_id": "psf__requests-1",
        "repo": "psf/requests",
        "version": "2.0",
        "base_commit": base_commit,
        "problem_statement": "add() subtracts",
        "patch": GOLD,
        "test_patch": TEST_PATCH,
        "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_add"]),
        "PASS_TO_PASS": json.dumps(["tests/test_calc.py::test_zero"]),
        "image_name": image,
    }
