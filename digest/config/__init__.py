"""The settings: config.yaml declared once (settings.py: every key with its type, default and
help), read with errors that name the file, line and key (load.py), written as a commented
starter (starter.py) and edited in place with its comments kept (edit.py); the languages the
file speaks, cron expressions (cron.py) and filter patterns (patterns.py).

May import: errors, models, files, net.
"""
