"""`python -m patchsmith.cli` runs the `agent` command."""

from .main import run

run()
