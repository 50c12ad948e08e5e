"""Pipeline mode: an Agentless-style fixed pipeline, localize -> repair -> validate -> select,
each stage writing a JSON artifact into the run directory so that a run can be inspected
and resumed stage by stage.

    localize.py   the retrieval ranking, then files, symbols and edit locations (model)
    repair.py     a reproduction test and N candidate SEARCH/REPLACE patches (model)
    validate.py   apply, syntax guard, regression and reproduction tests (sandbox)
    verdict.py    valid, invalid or unverified, from the tests that ran (one place)
    select.py     normalize, majority vote, deterministic tie-break
    runner.py     `run_pipeline`: the stages in turn, resume, trajectory, exit status
"""

from .artifacts import StaleArtifact
from .runner import NO_VALID_CANDIDATE, PipelineOptions, run_pipeline

__all__ = ["NO_VALID_CANDIDATE", "PipelineOptions", "StaleArtifact", "run_pipeline"]
