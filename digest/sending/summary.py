"""The run summary of a send: per issue, how many got it, did not, or were skipped, and what
is left for the next run. Addresses only when asked (at 10,000 readers a list of them is no
summary); `digest issues N` lists them."""

from __future__ import annotations

from collections import Counter

from digest.sending.send import SendReport
from digest.sending.smtp import SendStatus


def report_lines(report: SendReport, verbose: bool = False) -> list[str]:
    """The run summary: per issue, how many got it, did not, or were skipped, and what is
    left for the next run. Addresses only when `verbose` (at 10,000 readers a list of them is
    no summary); `digest issues N` lists them."""
    lines: list[str] = []
    for one in report.all():
        lines += _issue_lines(one, verbose)
    return lines


def _issue_lines(report: SendReport, verbose: bool) -> list[str]:
    lines: list[str] = []
    if report.issue is not None:
        kind = "test send of the next issue" if report.test else f"issue {report.issue.number}"
        tally = Counter(str(r.status) for r in report.results)
        tally.update("gave up" if status == "failed" else status for _, status, _ in report.settled)
        order = ["sent", "failed", "deferred", "gave up", "skipped"]
        counts = ", ".join(f"{tally[name]:,} {name}" for name in order if tally[name])
        lines.append(f"{kind} «{report.issue.subject}»: {counts or 'no message sent this run'}")
        if verbose:
            lines += _who(report)
        elif any(tally[name] for name in order[1:]) and not report.test:
            lines.append(f"  who and why: digest issues {report.issue.number} (or send --verbose)")
    if report.pending:
        who = f" ({', '.join(report.pending)})" if verbose else ""
        lines.append(f"  left for the next run: {len(report.pending):,}{who}")
    if report.note:
        lines.append(report.note if report.issue is None else f"  note: {report.note}")
    if report.error:
        lines.append(f"  error: {report.error}")
    return lines


def _who(report: SendReport) -> list[str]:
    sent = [r.recipient for r in report.results if r.status is SendStatus.SENT]
    lines = ["  sent to: " + ", ".join(sent)] if sent else []
    for result in report.results:
        if result.status is not SendStatus.SENT:
            lines.append(f"  {result.status}: {result.recipient}: {result.reply}")
    for recipient, status, why in report.settled:
        lines.append(f"  {'gave up' if status == 'failed' else status}: {recipient}: {why}")
    return lines
