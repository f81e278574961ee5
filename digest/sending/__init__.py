"""Sending issues to the list: the outbox in the state database (what is owed to whom, claims
so nothing goes twice), the issue rendered once and filled in per reader (message.py), the
connections and their pace (deliver.py), SMTP with retries (smtp.py), bounces read from
DSNs (bounces.py) and the suppression list (suppress.py), the send runs (send.py) and the
weekly scheduler (schedule.py).

May import: errors, models, timings, files, net, config, state, text, feeds, issue.
"""
