"""The host-side wheelhouse: wheels for the base's Python land in it; a requirement that has
no wheel is reported with pip's reason. Needs the package index (skipped, saying so, when
the host cannot reach it)."""

import pytest

from agent.bench.images.wheels import download_wheels


def _or_skip(result):
    if not result.ok and ("connection" in result.problem.lower() or "network" in result.problem.lower()):
        pytest.skip(f"package index unreachable from this host: {result.problem}")
    return result


def test_pytest_wheels_for_python_3_9(tmp_path):
    result = _or_skip(download_wheels(["pytest==7.4.4"], "3.9", tmp_path))
    assert result.ok, result.problem
    names = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.startswith("pytest-7.4.4-") and n.endswith(".whl") for n in names)
    # Not asserted: tomli (needed by pytest on Python < 3.11). pip evaluates environment
    # markers against the host's interpreter, not --python-version, so it is missing here;
    # the builder must close that gap before the wheelhouse is complete for 3.9.


def test_missing_version_is_reported(tmp_path):
    result = _or_skip(download_wheels(["pytest==0.0.0.404"], "3.9", tmp_path))
    assert not result.ok and "pytest" in result.problem
