"""The Sandbox contract: every backend passes every test here (Docker on the real engine)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from patchsmith.sandbox import SandboxConfig, SandboxError, open_sandbox


def test_cd_and_export_persist_between_commands(sandbox):
    sandbox.run("mkdir -p sub && cd sub && export GREETING=hello")
    result = sandbox.run('pwd; echo "$GREETING"')
    assert result.output.splitlines() == [f"{sandbox.root}/sub", "hello"]


def test_exit_code_and_stderr_are_reported(sandbox):
    result = sandbox.run("echo out; echo err >&2; exit_code() { return 7; }; exit_code")
    assert result.exit_code == 7
    assert "out" in result.output and "err" in result.output


def test_cwd_and_env_overrides_apply_to_one_command_only(sandbox):
    sandbox.run("mkdir -p d")
    result = sandbox.run("pwd; echo $ONLY_HERE", cwd="d", env={"ONLY_HERE": "yes"})
    assert result.output.splitlines() == [f"{sandbox.root}/d", "yes"]
    assert sandbox.run("pwd; echo ${ONLY_HERE:-unset}").output.splitlines() == [
        sandbox.root,
        "unset",
    ]


def test_command_over_its_timeout_is_killed_and_shell_stays_usable(sandbox):
    sandbox.run("export KEPT=1")
    started = time.monotonic()
    result = sandbox.run("echo before; sleep 60", timeout=1)
    assert result.timed_out
    assert "before" in result.output
    assert time.monotonic() - started < 10
    after = sandbox.run("echo $KEPT")
    assert after.exit_code == 0 and after.output.strip() == "1"


def test_busy_loop_in_the_shell_itself_is_stopped_by_restarting_the_shell(sandbox):
    result = sandbox.run("while true; do :; done", timeout=1)
    assert result.timed_out and "restarted" in result.note
    assert sandbox.run("echo alive").output == "alive\n"


def test_fifty_megabytes_of_output_are_capped_without_exhausting_memory(sandbox):
    result = sandbox.run("head -c 50000000 /dev/zero | tr '\\0' 'x'; echo; echo END", timeout=120)
    assert result.exit_code == 0
    assert result.omitted_bytes > 49_000_000
    assert len(result.output) < sandbox.config.output_limit + 1000
    assert "omitted" in result.output
    assert result.output.rstrip().endswith("END")


def test_binary_and_non_utf8_output_is_decoded_with_replacements(sandbox):
    result = sandbox.run("printf 'ok\\xff\\xfe\\x00\\x01 done\\n'; head -c 2000 /dev/urandom")
    assert result.exit_code == 0
    assert result.output.startswith("ok\ufffd\ufffd")
    assert "done" in result.output
    assert sandbox.run("echo next").output == "next\n"


def test_command_reading_stdin_does_not_hang(sandbox):
    started = time.monotonic()
    result = sandbox.run("cat; read line; python3 -c 'import sys; print(len(sys.stdin.read()))'")
    assert time.monotonic() - started < 5
    assert result.output.strip().endswith("0")


def test_output_that_mimics_a_sentinel_does_not_end_the_command_early(sandbox):
    result = sandbox.run("set -x; printf '__ps_0:0:\\n'; echo still-here; set +x")
    assert "still-here" in result.output
    assert sandbox.run("echo next").output.strip() == "next"


def test_syntax_error_is_reported_and_does_not_break_the_shell(sandbox):
    result = sandbox.run("if then fi (")
    assert result.exit_code != 0 and "syntax error" in result.output
    assert sandbox.run("echo fine").output == "fine\n"


def test_exiting_the_shell_starts_a_fresh_one(sandbox):
    result = sandbox.run("exit 3")
    assert result.exit_code is None and "restarted" in result.note
    assert sandbox.run("pwd").output.strip() == sandbox.root


def test_interrupt_stops_a_running_command(sandbox):
    timer = threading.Timer(0.5, sandbox.interrupt)
    timer.start()
    started = time.monotonic()
    result = sandbox.run("sleep 30", timeout=60)
    assert result.interrupted
    assert time.monotonic() - started < 10
    assert sandbox.run("echo back").output == "back\n"


def test_files_can_be_written_read_and_listed(sandbox):
    sandbox.write_file("pkg/new.py", "x = 1\n")
    sandbox.write_file("blob.bin", bytes(range(256)))
    assert sandbox.read_file("pkg/new.py") == b"x = 1\n"
    assert sandbox.read_file("blob.bin") == bytes(range(256))
    assert {"calc.py", "test_calc.py", "pkg/new.py", "blob.bin"} <= set(sandbox.list_files())
    assert sandbox.run("cat pkg/new.py").output == "x = 1\n"
    with pytest.raises(FileNotFoundError):
        sandbox.read_file("missing.txt")


def test_a_large_binary_file_round_trips(sandbox):
    data = bytes(range(256)) * 20_000 + b"\n__ps_end__:0:\n"  # 5 MB, and a fake sentinel
    sandbox.write_file("big.bin", data)
    assert sandbox.read_file("big.bin") == data
    assert sandbox.run("wc -c < big.bin").output.strip() == str(len(data))


def test_a_failed_write_raises_and_runs_nothing_it_carried(sandbox):
    sandbox.write_file("plain.txt", "x\n")
    with pytest.raises((SandboxError, OSError)):
        sandbox.write_file("plain.txt/inside.txt", "touch pwned\necho pwned > pwned2\n")
    assert sandbox.run("ls pwned pwned2 2>&1; echo next").output.strip().endswith("next")
    assert not {"pwned", "pwned2"} & set(sandbox.list_files())
    with pytest.raises(IsADirectoryError):
        sandbox.read_file(".git")


def test_writing_keeps_an_existing_files_mode(sandbox):
    sandbox.run("printf '#!/bin/sh\\necho a\\n' > run.sh && chmod +x run.sh")
    sandbox.write_file("run.sh", "#!/bin/sh\necho b\n")
    assert sandbox.run("./run.sh").output == "b\n"


def test_a_new_file_gets_the_usual_mode(sandbox):
    sandbox.write_file("fresh.txt", "x\n")
    assert sandbox.run("stat -c %a fresh.txt").output.strip() == "644"


def test_a_write_never_goes_through_a_link_swapped_in_for_a_directory(sandbox):
    # What a command left running in the background could do between a tool's check of a
    # path and its write: make a directory on the way a link to somewhere else.
    outside = f"/tmp/ps-outside-{uuid.uuid4().hex[:8]}"
    sandbox.run(f"mkdir -p {outside} && ln -s {outside} pkg && ln -s {outside}/f.py link.py")
    with pytest.raises(SandboxError, match="leads outside"):
        sandbox.write_file("pkg/new.py", "x = 1\n")
    with pytest.raises(SandboxError, match="symbolic link"):
        sandbox.write_file("link.py", "x = 1\n")
    listing = sandbox.run(f"ls -A {outside}; echo end; rm -rf {outside}").output
    assert listing == "end\n"  # nothing was written there, and the shell is in step


def test_paths_outside_the_workspace_are_refused(sandbox):
    with pytest.raises(PermissionError):
        sandbox.read_file("../../etc/passwd")
    with pytest.raises(PermissionError):
        sandbox.write_file("/etc/evil", "x")


def test_diff_reflects_edits_by_commands_and_by_file_writes(sandbox):
    sandbox.run("sed -i 's/a - b/a + b/' calc.py && rm test_calc.py")
    sandbox.write_file("notes.txt", "new\n")
    assert sandbox.changed_files() == ["calc.py", "notes.txt", "test_calc.py"]
    diff = sandbox.diff()
    assert "-    return a - b\n+    return a + b" in diff
    assert "new file mode" in diff and "+new" in diff
    assert "deleted file mode" in diff
    # The bookkeeping must not disturb what the model sees in git.
    assert sandbox.run("git status --porcelain").output.count("??") == 1


def test_bulk_reads_and_content_hashes_cover_every_file(sandbox):
    sandbox.write_file("extra.txt", "e\n")
    hashes = sandbox.file_hashes()
    assert set(hashes) == {"calc.py", "test_calc.py", "extra.txt"}
    contents = sandbox.read_files(sorted(hashes) + ["gone.txt"])
    assert contents["extra.txt"] == b"e\n" and "gone.txt" not in contents


def test_the_users_working_tree_is_never_touched(repo: Path, sandbox_config):
    (repo / "calc.py").write_text("uncommitted work\n")
    with open_sandbox(repo, config=sandbox_config) as sb:
        assert sb.read_file("calc.py").startswith(b"def add")  # the sandbox holds HEAD
        sb.run("echo changed > calc.py; touch created.txt")
    assert (repo / "calc.py").read_text() == "uncommitted work\n"
    assert not (repo / "created.txt").exists()


def test_a_sandbox_opens_at_an_older_commit(repo: Path, sandbox_config):
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    first = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    (repo / "calc.py").write_text("changed\n")
    subprocess.run([*git, "commit", "-qam", "second"], check=True)
    with open_sandbox(repo, commit=first.strip(), config=sandbox_config) as sb:
        assert sb.read_file("calc.py").startswith(b"def add")


def test_bad_repository_or_commit_gives_a_clear_error(tmp_path: Path, repo: Path, sandbox_config):
    with pytest.raises(SandboxError, match="not a git repository"):
        open_sandbox(tmp_path, config=sandbox_config)
    with pytest.raises(SandboxError, match="not a commit"):
        open_sandbox(repo, commit="no-such-branch", config=sandbox_config)


def test_close_removes_everything_even_after_a_killed_command(repo: Path, sandbox_config):
    sb = open_sandbox(repo, config=sandbox_config)
    sb.run("sleep 30", timeout=0.5)
    sb.close()
    assert _leftover(sb) is False
    with pytest.raises(SandboxError):
        sb.run("true")


def test_close_happens_when_the_body_raises(repo: Path, sandbox_config):
    with pytest.raises(KeyboardInterrupt), open_sandbox(repo, config=sandbox_config) as sb:
        raise KeyboardInterrupt
    assert _leftover(sb) is False


def _leftover(sb) -> bool:
    if sb.isolated:
        import docker

        try:
            docker.from_env().containers.get(sb.container.id)
            return True
        except docker.errors.NotFound:
            return False
    return Path(sb.root).exists()


# -- isolation: what only the Docker backend promises -----------------------------------


@pytest.fixture
def isolated(sandbox):
    if not sandbox.isolated:
        pytest.skip("the local backend does not isolate, by design")
    return sandbox


def test_network_is_unreachable_by_default(isolated):
    result = isolated.run(
        "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)\""
    )
    assert result.exit_code != 0
    assert "unreachable" in result.output.lower()


def test_fork_bomb_is_contained_by_the_pid_limit(isolated):
    # The classic bomb backgrounds itself, so the command "ends" at once and the bomb lives
    # on until a later command times out and the sandbox kills what the shell started.
    isolated.run(":(){ :|:& };:", timeout=5)
    recovered = False
    for _ in range(4):
        result = isolated.run("echo survived", timeout=10)
        if result.output.strip().endswith("survived"):
            recovered = True
            break
    assert recovered
    # Each command first clears a bomb that fills the process table; a few rounds may be
    # needed while it regrows. Bash may print "fork: retry" lines meanwhile: the count is
    # on the last line.
    for _ in range(5):
        counted = isolated.run("ps -e --no-headers | wc -l").output.strip().splitlines()[-1]
        if int(counted) < isolated.config.pids // 2:
            break
    assert int(counted) < isolated.config.pids // 2


def test_foreground_fork_bomb_times_out_and_the_shell_survives(isolated):
    result = isolated.run("bomb() { bomb | bomb; }; bomb", timeout=5)
    assert result.timed_out
    assert isolated.run("echo alive", timeout=30).output.strip().endswith("alive")


def test_memory_hog_is_killed_by_the_memory_limit(isolated):
    result = isolated.run("python3 -c \"b = bytearray(2 * 1024**3); print('got', 'it')\"")
    assert "got it" not in result.output
    assert result.exit_code != 0
    assert isolated.run("echo ok").output == "ok\n"


def test_writes_outside_the_workspace_do_not_reach_the_host(isolated):
    marker = f"patchsmith-escape-{uuid.uuid4().hex}"
    isolated.run(
        f"echo x > /tmp/{marker}; echo x > /{marker}; echo x > {isolated.root}/../{marker}"
    )
    assert not any(Path(p).exists() for p in (f"/tmp/{marker}", f"/{marker}"))
    assert isolated.run("ls /var/run/docker.sock 2>&1").exit_code != 0


def test_sandbox_label_lets_leftovers_be_found(isolated):
    assert isolated.container.labels.get("patchsmith.sandbox") == "1"


def test_a_sandbox_can_work_in_an_images_own_repository(tmp_path: Path):
    """Like SWE-bench's images: the repository is already in the image, at /testbed."""
    from conftest import IMAGE, require_backend

    require_backend("docker")
    import docker

    client = docker.from_env()
    builder = client.containers.run(IMAGE, ["sleep", "infinity"], detach=True)
    tag = f"patchsmith-test-testbed:{uuid.uuid4().hex[:8]}"
    try:
        script = (
            "mkdir /testbed && cd /testbed && git init -q && echo 'x = 1' > mod.py && "
            "git add -A && git -c user.name=t -c user.email=t@t commit -qm one && "
            "echo 'x = 2' > mod.py && git -c user.name=t -c user.email=t@t commit -qam two && "
            "echo leftover > untracked.txt"
        )
        assert builder.exec_run(["bash", "-c", script]).exit_code == 0
        builder.commit(repository=tag.split(":")[0], tag=tag.split(":")[1])
    finally:
        builder.remove(force=True)
    try:
        config = SandboxConfig(image=tag, workspace="/testbed")
        with open_sandbox(None, config=config) as sb:
            assert sb.root == "/testbed"
            assert sb.run("git log --oneline | wc -l").output.strip() == "2"  # history kept
            assert sb.diff() == ""  # what the image had is the base, untracked files too
            sb.run("echo 'x = 3' > mod.py")
            assert sb.changed_files() == ["mod.py"]
            assert "+x = 3" in sb.diff()
        with pytest.raises(SandboxError, match="docker"):
            open_sandbox(None, config=SandboxConfig(backend="local"))
    finally:
        client.images.remove(tag, force=True)


def test_host_secrets_do_not_enter_the_sandbox(repo: Path, sandbox_config, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-value-123456789")
    with open_sandbox(repo, config=sandbox_config) as sb:
        assert "sk-host-secret" not in sb.run("env; cat /proc/self/environ").output
        assert sb.run("echo $PATH").output.strip()  # programs are still found


def test_commands_run_unprivileged_on_a_read_only_system(isolated):
    assert isolated.run("id -u").output.strip() != "0"
    assert isolated.run("touch /usr/evil").exit_code != 0  # read-only root filesystem
    assert isolated.run("touch in-workspace /tmp/t ~/h && echo ok").output.strip() == "ok"
    assert isolated.run("grep CapEff /proc/self/status").output.split()[-1] == "0" * 16


def test_a_command_that_ignores_sigterm_is_still_stopped(sandbox):
    result = sandbox.run("trap '' TERM INT; sleep 60", timeout=1)
    assert result.timed_out
    assert sandbox.run("echo after").output == "after\n"


def test_a_container_killed_mid_command_is_a_sandbox_error(isolated):
    import docker

    container = docker.from_env().containers.get(isolated.container.id)
    threading.Timer(1.0, container.kill).start()
    with pytest.raises(SandboxError, match="stopped working"):
        isolated.run("sleep 30", timeout=60)


def test_the_model_cannot_forge_the_diff_or_break_file_transfers(sandbox):
    sandbox.run(
        "git config filter.evil.clean 'sed s/a/EVIL/g' && git config filter.evil.required true && "
        "echo '* filter=evil' > .git/info/attributes && "
        "git config diff.external /bin/false && "
        "git config core.fsmonitor 'touch /tmp/ran; echo' && "
        "git() { echo 'diff --git a/forged b/forged'; }; export GIT_DIR=/nonexistent; "
        "set -o noclobber"
    )
    sandbox.write_file("calc.py", "def add(a, b):\n    return a + b\n")
    assert sandbox.read_file("calc.py") == b"def add(a, b):\n    return a + b\n"
    diff = sandbox.diff()
    assert "+    return a + b" in diff and "EVIL" not in diff and "forged" not in diff
    assert sandbox.changed_files() == ["calc.py"]
    assert sandbox.run("ls /tmp/ran 2>&1").exit_code != 0  # fsmonitor never ran


def test_ctrl_c_while_a_sandbox_opens_or_closes_leaves_nothing(
    repo: Path, sandbox_config, monkeypatch
):
    from patchsmith.sandbox.base import Sandbox

    def interrupted(self, fresh):
        raise KeyboardInterrupt

    before = _sandboxes_of_this_process()
    with monkeypatch.context() as patched:
        patched.setattr(Sandbox, "_init_git", interrupted)
        with pytest.raises(KeyboardInterrupt):
            open_sandbox(repo, config=sandbox_config)
    assert _sandboxes_of_this_process() == before
    sb = open_sandbox(repo, config=sandbox_config)

    def interrupted_close():
        raise KeyboardInterrupt

    monkeypatch.setattr(sb._shell, "close", interrupted_close)
    with pytest.raises(KeyboardInterrupt):
        sb.close()
    assert _leftover(sb) is False


def _sandboxes_of_this_process() -> tuple[int, int]:
    """Containers this process owns, and local sandbox folders: what a leak would add to."""
    import os
    import tempfile

    import docker

    try:
        owned = docker.from_env().containers.list(
            all=True, filters={"label": f"patchsmith.owner-pid={os.getpid()}"}
        )
    except docker.errors.DockerException:
        owned = []
    folders = [p for p in Path(tempfile.gettempdir()).glob("patchsmith-*") if p.is_dir()]
    return len(owned), len(folders)
