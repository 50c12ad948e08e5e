"""`agent sandbox`: build the sandbox image, list and prune leftover sandboxes."""

from __future__ import annotations

import time

import typer

from .console import console

app = typer.Typer(
    help="Build the sandbox image; find and remove sandboxes left behind.",
    no_args_is_help=True,
)


@app.command()
def build(
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Make the base image locally with debootstrap from the Debian mirror this "
        "machine's apt uses, then `docker import` it: no container registry needed (root).",
    ),
    tag: str = typer.Option("patchsmith-sandbox:latest", help="Tag of the image to build."),
    base: str = typer.Option(
        None,
        help="Base image (default python:3.12-slim, or the debootstrapped one with --offline).",
    ),
    mirror: str = typer.Option(None, help="Debian mirror for --offline (default: from apt)."),
    suite: str = typer.Option(None, help="Debian suite for --offline (default: from apt)."),
    refresh_base: bool = typer.Option(
        False, "--refresh-base", help="With --offline: debootstrap the base again."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print the result."),
) -> None:
    """Build the sandbox image (python3, git, pytest, ripgrep).

    Examples:\n
      agent sandbox build               # on python:3.12-slim, from your registry\n
      agent sandbox build --offline     # no registry: debootstrap + docker import
    """
    from patchsmith.sandbox.docker import docker_client
    from patchsmith.sandbox.images import REGISTRY_BASE, build_sandbox_image, make_offline_base

    client = docker_client()
    started = time.monotonic()

    def progress(line: str) -> None:
        if not quiet:
            console.print(line, style="dim", markup=False)

    with console.status("building the sandbox image…", spinner="dots"):
        if offline and base is None:
            base = make_offline_base(
                client, mirror=mirror, suite=suite, refresh=refresh_base, progress=progress
            )
        image_id = build_sandbox_image(client, tag, base or REGISTRY_BASE, progress)
    console.print(f"[green]built[/] {tag} ({image_id[7:19]}) in {time.monotonic() - started:.0f}s")


@app.command("ls")
def list_sandboxes(
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List patchsmith sandboxes (containers) on this engine, marking orphans.

    An orphan is a sandbox whose owning process is gone (killed before it could clean
    up); `agent sandbox prune` removes them.
    """
    from rich.table import Table

    from patchsmith.sandbox.docker import docker_client, find_sandboxes

    found = find_sandboxes(docker_client())
    if json_output:
        import json
        from dataclasses import asdict

        print(json.dumps([{**asdict(f), "orphaned": f.orphaned} for f in found], indent=2))
        return
    if not found:
        console.print("no patchsmith sandboxes")
        return
    table = Table("container", "name", "status", "created", "owner pid", "orphaned")
    for f in found:
        table.add_row(
            f.id,
            f.name,
            f.status,
            f.created,
            str(f.owner_pid),
            "[red]yes[/]" if f.orphaned else "no",
        )
    console.print(table)


@app.command()
def prune(
    all_: bool = typer.Option(
        False, "--all", help="Remove every patchsmith sandbox, also those still in use."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be removed."),
    environments: bool = typer.Option(
        False,
        "--environments",
        help="Also remove the derived environment images (patchsmith-env:*) that --setup "
        "made; the next run with setup builds its image again.",
    ),
) -> None:
    """Remove orphaned sandboxes (those whose owning process is gone)."""
    import docker.errors

    from patchsmith.sandbox.docker import docker_client, find_sandboxes, remove_sandbox
    from patchsmith.sandbox.environment import list_environments

    client = docker_client()
    verb = "would remove" if dry_run else "removed"
    doomed = [f for f in find_sandboxes(client) if all_ or f.orphaned]
    for f in doomed:
        if not dry_run:
            remove_sandbox(client, f.id)
        console.print(f"{verb} {f.id} {f.name}")
    images = list_environments(client) if environments else []
    for image in images:
        name = ", ".join(image.tags) or image.short_id
        try:
            if not dry_run:
                client.images.remove(image.id, force=False)
            console.print(f"{verb} image {name}")
        except docker.errors.APIError as exc:  # in use by a running sandbox
            console.print(f"kept image {name}: {exc.explanation or exc}")
    if not doomed and not images:
        console.print("nothing to prune")
