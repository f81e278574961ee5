"""One issue of the digest, built: entries in the window deduplicated, capped and grouped
(compose.py), summarized, rendered to HTML with inlined CSS and plain text (render.py), and
published as web pages with an Atom feed (archive.py). pipeline.py runs the stages in order.

May import: errors, models, timings, files, net, config, state, text, feeds.
"""
