"""What the forwarding loop does with each answer of the endpoint: ack the batch, halve it, or wait.

ok: the batch is delivered (a partial success's refused items are counted and noted, ``quarantine``); reject:
a batch of several lines is resent in halves, down to the lines refused alone, which go to quarantine; retry
and hold: the batch is kept and the loop waits the backoff. The consecutive failures and the backoff live here
because only answers (and the loop's own crashes) change them. Each kind of trouble is logged once until the
endpoint takes a batch again; the rest is counted (``signal_counters``) and shown in ``/health``.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from otel_mon.forward.backoff import Backoff
from otel_mon.forward.batch import Batch
from otel_mon.forward.config import Target
from otel_mon.forward.quarantine import PartialLog, Quarantine, QuarantineFull
from otel_mon.forward.senders import Outcome, Result
from otel_mon.forward.signal_counters import SignalCounters

# The forwarder's logger, whichever of its modules speaks (``logsetup`` and operators know it by this name).
log = logging.getLogger("otel_mon.forward.signal_forwarder")


class Next(enum.Enum):
    ACK = "ack"  # delivered, or refused for good: move the cursor past the batch
    HALVE = "halve"  # resend the batch as ``halves``, in order, in its place
    WAIT = "wait"  # keep the batch and wait ``delay`` seconds before trying it again


@dataclass(frozen=True)
class Verdict:
    next: Next
    delay: float = 0.0
    halves: list[Batch] = field(default_factory=list)


class Answers:
    """Sorts the answers of one signal's endpoint and keeps the failure streak and the backoff."""

    def __init__(self, target: Target, backoff: Backoff, counters: SignalCounters, quarantine: Quarantine,
                 partial: PartialLog) -> None:
        self.signal = target.signal
        self.target = target
        self.backoff = backoff
        self.counters = counters
        self.quarantine = quarantine
        self.partial = partial
        self.failures = 0  # consecutive failed attempts: the first is logged, a stop() ends promptly while > 0
        self._refusal_told = False  # a refusal was logged since the endpoint last took a batch whole
        self._high_told = False

    def crashed(self, exc: Exception) -> float:
        """The loop raised (a bug, an I/O error): a failure like any other; returns the backoff to wait.
        Call it from the ``except`` block, so that the first one is logged with its traceback."""
        self.failures += 1
        self.counters.count_retry()
        if self.failures == 1:
            log.exception("forwarder %s: unexpected error", self.signal)
        self.counters.note_error(f"{type(exc).__name__}: {exc}")
        return self.backoff.next()

    def sort(self, batch: Batch, result: Result) -> Verdict:
        if result.outcome is Outcome.OK:
            if self.failures:
                log.info("forwarder %s: %s reachable again after %d failed attempts", self.signal,
                         self.target.display, self.failures)
            self.failures = 0
            self.backoff.reset()
            points = sum(record.points for _, record in batch.items)
            if result.rejected_items:
                self._partial(batch, result)
            else:
                self._refusal_told = False
            self.counters.count_delivered(len(batch.items), points, result.rejected_items)
            self._tell_rate()
            return Verdict(Next.ACK)
        if result.outcome is Outcome.REJECT:
            self.failures = 0
            if len(batch.items) > 1:
                # Halve it: a batch too large (413) gets through in halves, one bad line is found in log2(n)
                # rounds, and only the lines refused alone reach the quarantine.
                log.log(logging.DEBUG if self._refusal_told else logging.INFO,
                        "forwarder %s: batch of %d lines rejected (%s); resending it in halves", self.signal,
                        len(batch.items), result.message)
                return Verdict(Next.HALVE, halves=batch.halves())
            index = batch.items[0][0]
            try:
                self.quarantine.keep([batch.items[0][1].raw])
                where = f"moved to {self.quarantine.path}"
            except QuarantineFull as exc:
                where = f"skipped and lost (quarantine full: {exc})"
            except OSError as exc:  # keep the line in the spool until it can be kept somewhere
                self.failures += 1
                self.counters.note_error(f"cannot write the quarantine: {exc}")
                if self.failures == 1:
                    log.error("forwarder %s: %s line %d rejected by %s, but the quarantine cannot be written "
                              "(%s); holding it", self.signal, batch.segment, index, self.target.display, exc)
                return Verdict(Next.WAIT, self.backoff.next())
            # Logged once until the endpoint takes a batch whole again: a peer refusing everything is one line
            # (and the rate in /health), not one per spool line.
            log.log(logging.DEBUG if self._refusal_told else logging.ERROR,
                    "forwarder %s: %s line %d rejected by %s, %s: %s%s", self.signal, batch.segment, index,
                    self.target.display, where, result.message,
                    "" if self._refusal_told else " (further refusals are counted in /health, not logged)")
            self._refusal_told = True
            self.counters.count_rejected(batch.items[0][1].points)
            self.counters.note_error(result.message)
            self._tell_rate()
            return Verdict(Next.ACK)
        self.failures += 1
        self.counters.count_retry()
        self.counters.note_error(result.message)
        if self.failures == 1:
            level = logging.ERROR if result.outcome is Outcome.HOLD else logging.WARNING
            hint = "; check the endpoint and headers" if result.outcome is Outcome.HOLD else ""
            log.log(level, "forwarder %s: export to %s failed, will retry%s: %s", self.signal,
                    self.target.display, hint, result.message)
        return Verdict(Next.WAIT, self.backoff.next(result.retry_after))

    def _partial(self, batch: Batch, result: Result) -> None:
        """A partial success: the answer counts the refused items but cannot name them (``quarantine``)."""
        first = batch.items[0][0]
        if len(batch.items) == 1:
            try:
                self.quarantine.keep([batch.items[0][1].raw])  # the one line holds what was refused
                where = f"its line is kept in {self.quarantine.path}"
            except (QuarantineFull, OSError) as exc:
                where = f"its line was not kept ({exc})"
        elif self.partial.note(batch.segment, first, batch.end_line, result.rejected_items, result.message):
            where = f"lines {first}-{batch.end_line - 1} of {batch.segment} are noted in {self.partial.path}"
        else:
            where = "the note was not kept (partial log full)"
        log.log(logging.DEBUG if self._refusal_told else logging.WARNING,
                "forwarder %s: endpoint accepted a batch partially, %d items refused (%s); %s%s", self.signal,
                result.rejected_items, result.message, where,
                "" if self._refusal_told else " (further ones are counted in /health, not logged)")
        self._refusal_told = True

    def _tell_rate(self) -> None:
        """Log when the refused share crosses ``RejectionRate.high`` (both ways), once per crossing."""
        rate, high = self.counters.rejection()
        if high and not self._high_told:
            log.error("forwarder %s: %s refuses %.0f%% of the items sent in the last %.0fs: degraded",
                      self.signal, self.target.display, rate * 100, self.counters.refusals.window)
        elif self._high_told and not high:
            log.info("forwarder %s: %s refuses %.0f%% of the items sent now: no longer degraded", self.signal,
                     self.target.display, rate * 100)
        self._high_told = high
