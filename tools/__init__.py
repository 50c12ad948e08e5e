"""The agent-computer interface: one module per tool, written against the Sandbox interface."""
