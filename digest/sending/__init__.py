"""Sending issues to the list: the outbox in the state database (what is owed to whom, claims
so nothing goes twice), one message per recipient (message.py), SMTP delivery with retries
(smtp.py), the send runs (send.py) and the weekly scheduler (schedule.py).

May import: errors, models, timings, files, net, config, state, text, feeds, issue.
"""
