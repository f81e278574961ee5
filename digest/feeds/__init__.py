"""The feeds: every configured feed fetched (fetch.py, concurrent, conditional, polite to
hostile servers), defused and parsed (defuse.py, parse.py, in worker processes with many
feeds: workers.py) into Entry records, recorded in the state database (gather.py); the
include / exclude filters, the window a digest covers, teasers completed from their article
pages (fulltext.py); finding feeds on web pages, OPML, and the registry behind `digest feeds`.

May import: errors, models, timings, files, net, config, state, text.
"""
