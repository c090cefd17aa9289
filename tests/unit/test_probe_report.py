"""The probes' findings in words and as an exit code; a server's clock against ours."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.probe.http import skew_from_date
from daemon.cli.probe_report import WORDS, exit_code, line
from daemon.i18n import Translator
from daemon.ports.probe import Finding, Kind, Severity, clock_finding

NOW = datetime(2027, 3, 2, 18, 0, 0, tzinfo=UTC)


def test_every_kind_has_words_in_both_languages() -> None:
    dutch = Translator("nl")
    assert set(WORDS) == set(Kind)
    assert all(dutch(text, subject="x", detail="1") != text for text in WORDS.values())


def test_a_problem_line_is_dutch_then_english_with_the_servers_words() -> None:
    finding = Finding(
        "imap", Kind.LOGIN_REFUSED, Severity.ERROR, "wijk", "NO [AUTHENTICATIONFAILED]"
    )
    text = line(finding)
    assert text.index("inloggen geweigerd voor wijk") < text.index("(login refused for wijk")
    assert "[NO [AUTHENTICATIONFAILED]]" in text
    assert "FOUT/ERROR" in text


def test_exit_code_ok_connection_config() -> None:
    ok = Finding("http", Kind.PORT_FREE, Severity.OK, "127.0.0.1:8080")
    note = Finding("matrix", Kind.ENCRYPTED_NOT_CHECKED, Severity.WARNING, "#k:x")
    refused = Finding("smtp", Kind.UNREACHABLE, Severity.ERROR, "h:25")
    secret = Finding("imap", Kind.SECRET_MISSING, Severity.ERROR, "h:993")
    assert exit_code([ok, note]) == 0
    assert exit_code([ok, refused]) == 1
    assert exit_code([refused, secret]) == 2


def test_clock_skew_from_a_date_header() -> None:
    ahead = skew_from_date("Tue, 02 Mar 2027 18:01:30 GMT", NOW)
    assert ahead == 90.0
    assert skew_from_date("Tue, 02 Mar 2027 17:59:50 GMT", NOW) == -10.0
    assert skew_from_date("geen datum", NOW) is None
    assert skew_from_date(None, NOW) is None


def test_only_skew_beyond_the_limit_is_reported() -> None:
    in_step = clock_finding("matrix", "https://m", 12.0)
    assert in_step.kind is Kind.CLOCK_OK
    assert in_step.severity is Severity.OK
    late = clock_finding("caldav", "https://c", -95.0)
    assert late.kind is Kind.CLOCK_SKEW
    assert late.severity is Severity.ERROR
    assert "wijkt -95 seconden af van https://c" in line(late)
