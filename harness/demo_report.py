"""What the demo prints: narration (Dutch, then English), what arrived, and each step's result.

Every step ends as one of ``StepState``; the summary at the end lists them in a
fixed form (``  [done] a-receipt — ...``) that ``tests/integration/test_demo.py``
reads.
"""

from __future__ import annotations

import enum
import sys
import textwrap
import threading
from dataclasses import dataclass, field
from typing import TextIO


class StepState(enum.StrEnum):
    DONE = "done"
    NO_ANSWER = "no answer"  # waited, nothing came: the feature is missing or broken
    BLOCKED = "blocked"  # could not be tried: an earlier step it needs did not work
    FAILED = "failed"  # the demo itself could not do it (a server, a command failed)
    SKIPPED = "skipped"  # not asked for (e.g. scheduled moments with --once but no --speed)
    LATER = "later"  # comes in real time after the summary (no --speed); not waited for
    NOT_REACHED = "not reached"  # the demo was stopped before this step


# Every step, in the order the demo plays them, with a one-line bilingual description.
STEPS: dict[str, str] = {
    "servers": "Synapse, Dovecot, SMTP-relay, Radicale draaien / loopback servers running",
    "accounts": "postbus, SMTP-login, agenda, Matrix-gebruikers en kamers / accounts and rooms",
    "config": "wijkbode.toml geschreven, check-config in orde / config written and checked",
    "daemon": "de daemon draait / the daemon is running",
    "join": "Wijkbode neemt de uitnodigingen aan / Wijkbode accepts the room invites",
    "a-receipt": "ontvangstbevestiging aan de partner / receipt mailed to the partner",
    "a-room": "het stuk verschijnt in de kerngroep-kamer / the stuk is posted in the core room",
    "b-confirm": "agendapunt uit de chat bevestigd / chat agenda point confirmed",
    "c-agenda": "antwoord op !agenda / answer to !agenda",
    "d-cli": "wijkbode agenda --json en deadlines / the CLI shows agenda and deadlines",
    "e-calendar": "aankondiging in de agenda (CalDAV) / announcement in the calendar",
    "e-announce-room": "aankondiging in de wijkkamer / announcement in the announce room",
    "e-residents-mail": "aankondiging per mail aan bewoners / announcement mailed to residents",
    "e-reminder": "herinnering kerngroep in de kamer / core group meeting reminder in the room",
}


@dataclass
class StepResult:
    state: StepState
    detail: str = ""


@dataclass
class Report:
    """Prints the demo's story and keeps each step's result for the summary."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    results: dict[str, StepResult] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def line(self, text: str = "") -> None:
        """One line of output, flushed at once (the demo is watched live)."""
        with self._lock:
            print(text, file=self.out, flush=True)

    def heading(self, label: str, nl: str, en: str) -> None:
        """A new part of the story: a rule, then the Dutch and the English telling."""
        self.line()
        self.line(f"━━ {label} ━━")
        self.say(nl, en)

    def say(self, nl: str, en: str) -> None:
        """Narration: Dutch first, English second."""
        self.line(_wrapped("NL  ", nl))
        self.line(_wrapped("EN  ", en))

    def show(self, label: str, text: str, max_lines: int = 12) -> None:
        """Something that arrived (a mail, a room message, command output), indented."""
        lines = text.rstrip().splitlines() or [""]
        shown = lines[:max_lines]
        if len(lines) > max_lines:
            shown.append(f"… (+{len(lines) - max_lines} regels / lines)")
        self.line(f"   {label}")
        for each in shown:
            self.line(f"   │ {each}")

    def done(self, step: str, detail: str = "") -> None:
        self._record(step, StepResult(StepState.DONE, detail))
        self.line(f"   ✔ stap {step} klaar / step {step} done" + (f": {detail}" if detail else ""))

    def no_answer(self, step: str, seconds: float, log_name: str) -> None:
        detail = f"no answer within {seconds:.0f} s"
        self._record(step, StepResult(StepState.NO_ANSWER, detail))
        self.line(
            f"   ✘ stap {step}: geen antwoord binnen {seconds:.0f} s — zie het daemonlog "
            f"/ step {step}: no answer within {seconds:.0f} s — see the daemon log ({log_name})"
        )

    def blocked(self, step: str, needs: str) -> None:
        self._record(step, StepResult(StepState.BLOCKED, f"needs step {needs}"))
        self.line(
            f"   ✘ stap {step} kan niet: stap {needs} werkte niet "
            f"/ step {step} blocked: step {needs} did not work"
        )

    def failed(self, step: str, reason: str) -> None:
        self._record(step, StepResult(StepState.FAILED, reason))
        self.line(f"   ✘ stap {step} mislukt / step {step} failed: {reason}")

    def skipped(self, step: str, why: str) -> None:
        self._record(step, StepResult(StepState.SKIPPED, why))
        self.line(f"   – stap {step} overgeslagen / step {step} skipped: {why}")

    def later(self, step: str, why: str) -> None:
        self._record(step, StepResult(StepState.LATER, why))
        self.line(f"   … stap {step} komt later / step {step} comes later: {why}")

    def is_done(self, step: str) -> bool:
        result = self.results.get(step)
        return result is not None and result.state is StepState.DONE

    @property
    def all_done(self) -> bool:
        """Whether every step that was asked for is done (skipped and later ones do not count)."""
        return all(
            self.results.get(step, StepResult(StepState.NOT_REACHED)).state
            in (StepState.DONE, StepState.SKIPPED, StepState.LATER)
            for step in STEPS
        )

    def summary(self) -> None:
        """Every step with its state, in a fixed form a test can read."""
        self.line()
        self.line("━━ Samenvatting / Summary ━━")
        for step, description in STEPS.items():
            result = self.results.get(step, StepResult(StepState.NOT_REACHED))
            extra = f" ({result.detail})" if result.detail else ""
            self.line(f"  [{result.state}] {step} — {description}{extra}")

    def _record(self, step: str, result: StepResult) -> None:
        if step not in STEPS:
            raise ValueError(f"unknown demo step {step!r}")
        self.results[step] = result


def _wrapped(prefix: str, text: str) -> str:
    return textwrap.fill(
        text, width=96, initial_indent="   " + prefix, subsequent_indent=" " * (3 + len(prefix))
    )
