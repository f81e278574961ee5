"""The web side: `digest preview` (the next issue served on loopback, rebuilt on every save,
with its health panel; page templates in templates/).

May import: errors, models, timings, files, net, config, state, text, feeds, issue, sending.
"""
