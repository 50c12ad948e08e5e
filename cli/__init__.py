"""The `agent` command line: argument parsing, configuration and live display."""
