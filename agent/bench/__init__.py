"""Benchmarks in SWE-bench's format: datasets, instance sandboxes, the runner, the evaluator
and the report, and a bundled mini benchmark (mini/) that runs offline.

    dataset.py      Instance, load_dataset ("swe-lite", "mini", files...), select
    environment.py  an instance's repository, image and sandbox
    runner.py       BenchRun: parallel, resumable runs writing preds.json and results.json
    evaluate.py     a prediction applied and its tests run and graded (logparse, grading)
    official.py     evaluation by SWE-bench's own harness, when it is installed
    report.py       report.json and report.html from results.json
"""
