"""The pre-commit hook: checks on what is staged, and on request a fix or a review by a model.

- `load_precommit_config(top)`: `[tool.patchsmith.precommit]` / `.patchsmith.toml` (config.py).
- `run_checks(top, config, files)`: syntax, lint and related tests on the staged content,
  as a `Report` (checks.py; which tests relate: related.py). No model, no sandbox.
- `fix_staged(top, report, settings, ...)`: the agent repairs the staged content in a
  sandbox; the fix is merged into the working tree, never staged (fix.py, worktree.py).
- `review_staged(top, model, threshold)`: a model's findings on the staged diff (review.py).

Importing this package imports neither litellm nor docker.
"""

from __future__ import annotations

from .checks import CheckRun, Failure, Report, run_checks
from .config import SEVERITIES, PrecommitConfig, load_precommit_config
from .fix import FixOutcome, fix_settings, fix_staged
from .review import Finding, Review, ReviewError, review_staged
from .staged import PrecommitError, repo_top

__all__ = [
    "SEVERITIES",
    "CheckRun",
    "Failure",
    "Finding",
    "FixOutcome",
    "PrecommitConfig",
    "PrecommitError",
    "Report",
    "Review",
    "ReviewError",
    "fix_settings",
    "fix_staged",
    "load_precommit_config",
    "repo_top",
    "review_staged",
    "run_checks",
]
