"""The brains: models, the CodeAct loop, the pipeline, trajectories and the benchmark runner."""
