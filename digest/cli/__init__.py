"""The `digest` command: one module per command group (main.py: the group, build and init;
feeds.py, summarize.py, extract.py, send.py, bounces.py, preview.py, serve.py,
subscribers.py), loaded by name when run. Each command
parses its options, calls one function below and prints; common.py turns errors into one line
and an exit code.

May import: any part of digest.
"""
