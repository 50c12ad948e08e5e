"""The repository's environment: default setup, the cache key, and derived images on the engine."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import IMAGE, make_repo, require_backend

from patchsmith.sandbox import SandboxConfig, SandboxError, open_sandbox
from patchsmith.sandbox.environment import KEY_LABEL, SETUP_LABEL, list_environments
from patchsmith.sandbox.setup_plan import default_setup, environment_key, manifest_paths

PIP = "python3 -m pip install"


def test_a_python_project_is_installed_in_editable_mode():
    assert default_setup(["pyproject.toml", "src/pkg/__init__.py"]) == [f"{PIP} -e ."]
    assert default_setup(["setup.py", "pkg.py"]) == [f"{PIP} -e ."]


def test_declared_test_extras_are_installed_with_the_project():
    pyproject = (
        '[project]\nname = "p"\n\n[project.optional-dependencies]\n'
        'docs = ["sphinx"]\ntest = ["pytest"]\n\n[tool.ruff]\nline-length = 100\n'
    )
    assert default_setup(["pyproject.toml"], {"pyproject.toml": pyproject}) == [
        f"{PIP} -e '.[test]'"
    ]
    setup_py = "setup(extras_require={'testing': ['pytest'], 'dev': ['black']})"
    assert default_setup(["setup.py"], {"setup.py": setup_py}) == [f"{PIP} -e '.[testing]'"]
    setup_cfg = "[options.extras_require]\ntests =\n    pytest\n[flake8]\ntest = 1\n"
    assert default_setup(["setup.py", "setup.cfg"], {"setup.cfg": setup_cfg}) == [
        f"{PIP} -e '.[tests]'"
    ]


def test_an_extra_named_test_outside_the_extras_table_is_ignored():
    pyproject = '[project]\nname = "p"\n\n[tool.foo]\ntest = "x"\n'
    assert default_setup(["pyproject.toml"], {"pyproject.toml": pyproject}) == [f"{PIP} -e ."]


def test_requirements_files_are_installed_before_the_project_and_docs_ones_skipped():
    files = [
        "requirements.txt",
        "requirements-dev.txt",
        "requirements/test.txt",
        "requirements/docs.txt",
        "requirements/docker.txt",
        "requirements.in",
        "constraints.txt",
        "sub/requirements.txt",
        "setup.py",
    ]
    assert default_setup(files) == [
        f"{PIP} -r requirements-dev.txt",
        f"{PIP} -r requirements.txt",
        f"{PIP} -r requirements/docker.txt",
        f"{PIP} -r requirements/test.txt",
        f"{PIP} -e .",
    ]


def test_a_repository_with_nothing_recognisable_needs_no_setup():
    assert default_setup(["main.go", "README.md", "setup.cfg", "package.json"]) == []


def test_manifests_include_files_the_setup_commands_name():
    files = ["pyproject.toml", "ci/deps.txt", "ci/other.txt", "src/a.py", "requirements/x.in"]
    assert manifest_paths(files) == ["pyproject.toml", "requirements/x.in"]
    assert manifest_paths(files, ["pip install -r ci/deps.txt"]) == [
        "ci/deps.txt",
        "pyproject.toml",
        "requirements/x.in",
    ]
    assert manifest_paths(files, ["pip install -rci/other.txt --constraint=./src/a.py"]) == [
        "ci/other.txt",
        "pyproject.toml",
        "requirements/x.in",
        "src/a.py",
    ]


def test_the_key_changes_with_the_base_image_the_commands_and_the_manifests():
    key = environment_key("sha256:a", ["make"], {"setup.py": b"x"})
    assert key == environment_key("sha256:a", ["make"], {"setup.py": b"x"})
    assert key != environment_key("sha256:b", ["make"], {"setup.py": b"x"})
    assert key != environment_key("sha256:a", ["make all"], {"setup.py": b"x"})
    assert key != environment_key("sha256:a", ["make"], {"setup.py": b"y"})
    assert key != environment_key("sha256:a", ["make"], {"setup.py": b"x", "setup.cfg": b""})


def test_setup_given_as_a_list_is_kept_as_a_tuple():
    assert SandboxConfig(setup=["a", "b"]).setup == ("a", "b")
    assert SandboxConfig(setup=None).setup is None
    assert SandboxConfig().setup == ()


# -- on the real engine ---------------------------------------------------------------------


@pytest.fixture
def engine():
    require_backend("docker")
    import docker

    return docker.from_env()


@pytest.fixture
def token(engine):
    """A marker put into each test's setup commands, so its derived images are its own and
    are removed afterwards."""
    marker = uuid.uuid4().hex
    yield marker
    for image in list_environments(engine):
        if marker in image.labels.get(SETUP_LABEL, ""):
            engine.images.remove(image.id, force=True)


def config(setup, **extra) -> SandboxConfig:
    return SandboxConfig(
        backend="docker", image=IMAGE, memory="512m", pids=256, setup=setup, **extra
    )


def leftovers(engine, marker: str) -> tuple[list, list]:
    """Containers and derived images that belong to the test with this marker."""
    containers = [
        c for c in engine.containers.list(all=True) if c.name.startswith("patchsmith-setup-")
    ]
    images = [i for i in list_environments(engine) if marker in i.labels.get(SETUP_LABEL, "")]
    return containers, images


def commit_all(repo: Path, message: str) -> None:
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)


def test_setup_runs_once_and_its_image_is_reused_on_the_next_start(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"requirements.txt": "\n", "calc.py": "x = 1\n"})
    setup = (f"echo {token} >> /opt/setup-count && touch /workspace/built.txt",)
    lines: list[str] = []

    started = time.monotonic()
    with open_sandbox(repo, config=config(setup), progress=lines.append) as first:
        first_seconds = time.monotonic() - started
        env = first.environment
        assert env.setup_ran and not env.reused and env.image.startswith("patchsmith-env:")
        assert first.run("wc -l < /opt/setup-count").output.strip() == "1"
        assert first.run("cat calc.py").output == "x = 1\n"
        assert first.changed_files() == []  # what setup made is part of the base commit
    assert any(line.startswith("$ echo") for line in lines)

    started = time.monotonic()
    with open_sandbox(repo, config=config(setup)) as second:
        second_seconds = time.monotonic() - started
        assert second.environment.reused and not second.environment.setup_ran
        assert second.environment.image == env.image
        assert second.run("wc -l < /opt/setup-count").output.strip() == "1"
        assert second.run("ls built.txt").exit_code == 0
    print(f"\nstart-up with setup: {first_seconds:.2f}s; reusing its image: {second_seconds:.2f}s")

    image = engine.images.get(env.image)
    assert image.labels[KEY_LABEL] == env.key
    assert image.labels["patchsmith.env.base-image"] == IMAGE
    assert token in image.labels[SETUP_LABEL]
    assert image.labels["patchsmith.owner-pid"] == "0"
    assert image.attrs["Config"]["Cmd"] == ["sleep", "infinity"]


def test_a_changed_manifest_sets_up_anew(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"requirements.txt": "\n"})
    setup = (f"echo {token} >> /opt/setup-count",)
    with open_sandbox(repo, config=config(setup)) as first:
        first_image = first.environment.image
    (repo / "requirements.txt").write_text("# changed\n")
    commit_all(repo, "deps")
    with open_sandbox(repo, config=config(setup)) as second:
        assert second.environment.setup_ran and second.environment.image != first_image


def test_files_of_the_set_up_commit_do_not_leak_into_a_later_one(tmp_path, engine, token):
    repo = make_repo(
        tmp_path / "r",
        {
            "setup.py": "# unchanged manifest\n",
            "keep.py": "old\n",
            "gone.py": "deleted later\n",
            "olddir/inner.py": "deleted later\n",
        },
    )
    setup = (f": {token}; mkdir -p build && echo artifact > build/out.txt",)
    with open_sandbox(repo, config=config(setup)) as first:
        assert first.run("ls gone.py olddir/inner.py").exit_code == 0

    (repo / "gone.py").unlink()
    (repo / "olddir" / "inner.py").unlink()
    (repo / "keep.py").write_text("new\n")
    (repo / "added.py").write_text("added\n")
    commit_all(repo, "later")

    with open_sandbox(repo, config=config(setup)) as later:
        assert later.environment.reused
        assert later.run("ls gone.py").exit_code != 0
        assert later.run("ls -d olddir").exit_code != 0
        assert later.read_file("keep.py") == b"new\n"
        assert later.read_file("added.py") == b"added\n"
        assert later.read_file("build/out.txt") == b"artifact\n"  # setup's own output stays
        assert "gone.py" not in later.run("git show --stat --format= HEAD").output
        assert later.diff() == ""


def test_a_failing_explicit_setup_is_an_error_and_leaves_nothing_behind(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"a.py": "\n"})
    setup = (f"echo step-one-{token}", "echo about to fail; echo details >&2; exit 3")
    with pytest.raises(SandboxError) as failure:
        open_sandbox(repo, config=config(setup))
    message = str(failure.value)
    assert "exit 3" in message and "code 3" in message
    assert "about to fail" in message and "details" in message
    assert leftovers(engine, token) == ([], [])


def test_network_is_on_during_setup_and_off_in_the_sandbox(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"a.py": "\n"})
    setup = (f": {token}; ls /sys/class/net > /opt/net-during-setup",)
    with open_sandbox(repo, config=config(setup)) as sb:
        assert "eth0" in sb.run("cat /opt/net-during-setup").output.split()
        assert sb.run("ls /sys/class/net").output.split() == ["lo"]
        sb.container.reload()
        assert sb.container.attrs["HostConfig"]["NetworkMode"] == "none"


def test_setup_sees_a_git_repository_that_does_not_outlive_it(tmp_path, engine, token):
    # Version-from-git build tools need one; the sandbox's history must start fresh anyway.
    repo = make_repo(tmp_path / "r", {"a.py": "\n"})
    setup = (f": {token}; git rev-parse --short HEAD > /opt/setup-saw-commit",)
    with open_sandbox(repo, config=config(setup)) as sb:
        assert sb.run("cat /opt/setup-saw-commit").exit_code == 0
        assert sb.run("git rev-list --count HEAD").output.strip() == "1"
        assert sb.changed_files() == []


def test_a_failing_default_setup_is_reported_and_the_plain_image_used(tmp_path, engine, token):
    # A requirement pointing at a missing local path fails at once, with or without PyPI.
    repo = make_repo(tmp_path / "r", {"requirements.txt": f"./no-such-dir-{token}\n"})
    lines: list[str] = []
    with open_sandbox(repo, config=config(None), progress=lines.append) as sb:
        env = sb.environment
        assert env.setup_ran and not env.reused
        assert env.image == IMAGE
        assert "default setup failed" in env.warning
        assert "requirements.txt" in env.warning
        assert any("default setup failed" in line for line in lines)
        assert sb.run("cat requirements.txt").exit_code == 0
    assert leftovers(engine, token) == ([], [])
    assert not [i for i in list_environments(engine) if i.labels.get(KEY_LABEL) == env.key]


def test_a_repository_with_no_manifest_runs_from_the_plain_image(tmp_path, engine):
    repo = make_repo(tmp_path / "r", {"main.c": "int main(void) { return 0; }\n"})
    with open_sandbox(repo, config=config(None)) as sb:
        assert sb.environment.image == IMAGE and not sb.environment.setup_ran


def test_the_local_backend_runs_explicit_setup_in_the_workspace(tmp_path):
    repo = make_repo(tmp_path / "r", {"a.py": "\n"})
    lines: list[str] = []
    local = SandboxConfig(backend="local", setup=("echo made > built.txt",))
    with open_sandbox(repo, config=local, progress=lines.append) as sb:
        assert sb.read_file("built.txt") == b"made\n"
        assert sb.changed_files() == []
        assert "this machine" in sb.environment.warning
    assert any("ON THIS MACHINE" in line for line in lines)
    assert not (repo / "built.txt").exists()


def test_the_local_backend_skips_a_derived_setup_and_fails_on_an_explicit_one(tmp_path):
    repo = make_repo(tmp_path / "r", {"setup.py": "raise SystemExit(1)\n"})
    with open_sandbox(repo, config=SandboxConfig(backend="local", setup=None)) as sb:
        assert not sb.environment.setup_ran and "does not run the default" in sb.environment.warning
    failing = SandboxConfig(backend="local", setup=("echo nope; false",))
    with pytest.raises(SandboxError, match="`echo nope; false` exited with code 1"):
        open_sandbox(repo, config=failing)


def test_ctrl_c_during_setup_leaves_no_container_and_no_image(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"a.py": "\n"})

    def interrupt_at_first_output(line: str) -> None:
        if line == "working":
            raise KeyboardInterrupt

    setup = (f": {token}; echo working; sleep 30",)
    with pytest.raises(KeyboardInterrupt):
        open_sandbox(repo, config=config(setup), progress=interrupt_at_first_output)
    assert leftovers(engine, token) == ([], [])


def test_a_setup_command_over_its_timeout_is_reported(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"a.py": "\n"})
    setup = (f": {token}; echo started; sleep 60",)
    with pytest.raises(SandboxError, match="timed out") as failure:
        open_sandbox(repo, config=config(setup, setup_timeout=1))
    assert "started" in str(failure.value)
    assert leftovers(engine, token) == ([], [])


def test_an_offline_editable_install_is_importable_in_the_sandbox(tmp_path, engine, token):
    import docker.errors

    try:
        engine.containers.run(
            IMAGE, ["python3", "-c", "import setuptools, pip"], network_mode="none", remove=True
        )
    except docker.errors.ContainerError:
        pytest.skip("the sandbox image has no pip/setuptools")
    pyproject = (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "tiny{token[:8]}"\nversion = "0.1"\n'
    )
    repo = make_repo(tmp_path / "r", {"pyproject.toml": pyproject, "tinypkg/__init__.py": ""})
    # Build isolation would fetch setuptools from an index; this works with none.
    setup = (f"python3 -m pip install --no-build-isolation --no-deps -e . # {token}",)
    with open_sandbox(repo, config=config(setup)) as sb:
        result = sb.run("cd / && python3 -c 'import tinypkg; print(tinypkg.__file__)'")
        assert result.output.strip() == "/workspace/tinypkg/__init__.py"


def test_two_sandboxes_opening_at_once_set_up_only_once(tmp_path, engine, token):
    repo = make_repo(tmp_path / "r", {"requirements.txt": "\n"})
    setup = (f"echo {token} >> /opt/setup-count; sleep 1",)
    results: list = []

    def open_one() -> None:
        with open_sandbox(repo, config=config(setup)) as sb:
            results.append((sb.environment.setup_ran, sb.run("wc -l < /opt/setup-count").output))

    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(False, "1\n"), (True, "1\n")]
