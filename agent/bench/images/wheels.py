"""A per-environment wheelhouse, filled on the HOST: the build then installs with
`pip install --no-index`, so it works air-gapped and behind an intercepting proxy (the pip
inside a container cannot reach the index there). Wheels are asked for the base's Python and
platform, not the host's.

Known gap: pip evaluates environment markers against the host interpreter, not
--python-version, so marker-gated dependencies of an older Python (tomli on 3.9) are not
downloaded yet; the environment build's offline install then fails and says which."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "linux_x86_64", "any")


@dataclass(frozen=True)
class WheelhouseResult:
    ok: bool
    problem: str | None  # pip's last error line when something could not be had


def download_wheels(requirements: list[str], python: str, dest: Path) -> WheelhouseResult:
    """Download wheels (dependencies included) of `requirements` for CPython `python` into
    `dest`. A requirement with no wheel for that Python is reported, not replaced."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(dest),
               "--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    done = subprocess.run(command + requirements, capture_output=True, text=True)
    if done.returncode == 0:
        return WheelhouseResult(True, None)
    # pip's last line is generic ("ResolutionImpossible"); the lines naming the conflicting
    # requirements are the reason worth reporting.
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    telling = [line for line in lines if "ERROR" in line or " depends on " in line
               or "requested" in line]
    return WheelhouseResult(False, " | ".join(telling[-4:] or lines[-1:])
                            or f"pip exited {done.returncode}")
