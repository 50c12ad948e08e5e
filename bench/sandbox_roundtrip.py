"""Round-trip time of a trivial command through the Docker sandbox vs. a plain `docker exec`.

Prints the median of N runs of `true` both ways, their ratio (target: the sandbox at least
5x faster), and the time from opening a sandbox to the end of its first command.

    python bench/sandbox_roundtrip.py [--runs 50] [--image patchsmith-sandbox:latest]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from patchsmith.sandbox import SandboxConfig, open_sandbox


def make_repo(root: Path) -> Path:
    root.mkdir()
    (root / "hello.py").write_text("print('hello')\n")
    git = ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    return root


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--image", default="patchsmith-sandbox:latest")
    args = parser.parse_args()
    config = SandboxConfig(backend="docker", image=args.image)

    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        opens = []
        for _ in range(5):
            started = time.perf_counter()
            with open_sandbox(repo, config=config) as sb:
                sb.run("true")
                opens.append(time.perf_counter() - started)
        with open_sandbox(repo, config=config) as sb:
            cid = sb.container.id
            sandbox_ms = median_ms(lambda: sb.run("true"), args.runs)
            exec_ms = median_ms(
                lambda: subprocess.run(["docker", "exec", cid, "true"], check=True), args.runs
            )
            sdk_ms = median_ms(lambda: sb.container.exec_run(["true"]), args.runs)

    print(f"sandbox round trip (median of {args.runs}):   {sandbox_ms:8.2f} ms")
    print(f"plain `docker exec` CLI (median):          {exec_ms:8.2f} ms")
    print(f"docker SDK exec_run (median):              {sdk_ms:8.2f} ms")
    print(f"speed-up vs docker exec:                   {exec_ms / sandbox_ms:8.1f}x (target >= 5x)")
    print(f"speed-up vs SDK exec_run:                  {sdk_ms / sandbox_ms:8.1f}x")
    print(f"open to first command (median of 5):       {statistics.median(opens) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
