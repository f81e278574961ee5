"""digest: feeds in, extractive summaries, a newsletter email out.

The package is drawn in layers; a part imports only the parts below it (tests/test_layers.py
checks every import, and that each part's docstring says what it may import):

    cli        the `digest` command, one module per command group
    web        the preview, and the public server (subscribe, unsubscribe, preferences, archive)
    sending    outbox, messages, SMTP, the scheduler; the subscriber list and its rules
    issue      compose, render, archive; the pipeline that runs them
    feeds      fetch, parse, gather, filters, the window, article pages, discovery, OPML
    text       sanitize, extract, furniture, segment, summarize (pure)
    config  state         the settings; the SQLite state database
    net                   the one HTTP path, private addresses, canonical URLs
    files                 atomic writes
    errors  models  timings   the exception tree, the records between stages, the stopwatch
"""

__version__ = "0.1.0"
