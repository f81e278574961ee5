"""Sending issues to the list, and the list itself: the outbox in the state database (what is
owed to whom, claims so nothing goes twice), the issue rendered once and filled in per reader
(message.py), the connections and their pace (deliver.py), SMTP with retries (smtp.py),
bounces read from DSNs (bounces.py) and the suppression list (suppress.py), the send runs
(send.py, their summary summary.py) and the weekly scheduler (schedule.py). The list is here
because it is what a send sends to, and because suppression is one fact seen from both
sides: the subscribers' store (subscribers.py), its rules (signup.py: double opt-in,
one-click, preferences, recipients: kept in step), who gets which edition with which links
(recipients.py), signed tokens and the links they make (tokens.py, links.py), the letters
a subscribe request is owed (letters.py), and the list as CSV (roster.py).

May import: errors, models, timings, files, net, config, state, text, feeds, issue.
"""
