"""The layer plan of a SWE-bench instance image, read from swebench 4.1's per-repository,
per-version specs: which Python base it needs, which environment (repo + version) it shares
with other instances, and the name the harness looks the image up by.

swebench's own `make_test_spec` is not used here because it downloads requirements files
from the network; the plan must be made offline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Debian releases whose python3 is the given version; debootstrap makes a base from them.
DEBIAN_BASE_FOR_PYTHON = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}


@dataclass(frozen=True)
class LayerPlan:
    instance_id: str
    repo: str
    python: str | None
    base_release: str | None  # None: no base has this Python (see `problem`)
    env_key: str  # one environment per repository and version
    instance_image: str
    problem: str | None = None


def instance_image_name(instance_id: str, arch: str = "x86_64") -> str:
    """The local name swebench's harness gives an instance image (TestSpec.instance_image_key
    with no namespace), so run-bench and evaluate find what was built."""
    return f"sweb.eval.{arch}.{instance_id.lower()}:latest"


def plan_layers(row: dict[str, Any], specs: dict[str, dict[str, Any]]) -> LayerPlan:
    repo, version = row["repo"], str(row["version"])
    env_key = f"{repo.replace('/', '__')}-{version}"
    image = instance_image_name(row["instance_id"])
    spec = specs.get(repo, {}).get(version)
    if spec is None:
        return LayerPlan(row["instance_id"], repo, None, None, env_key, image,
                         f"swebench 4.1 has no spec for {repo} {version}")
    python = str(spec.get("python", ""))
    release = DEBIAN_BASE_FOR_PYTHON.get(python)
    problem = None if release else (
        f"needs Python {python}; no available base has it "
        f"(Debian bases: {', '.join(sorted(DEBIAN_BASE_FOR_PYTHON))})")
    return LayerPlan(row["instance_id"], repo, python, release, env_key, image, problem)
