"""patchsmith: a command-line coding agent that fixes issues in real repositories."""

__version__ = "0.1.0"
