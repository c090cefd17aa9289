"""/metrics from a real store: the figures query (daemon/store/metrics.py) and the text
made from it (daemon/publish/metrics.py)."""

from __future__ import annotations

from datetime import timedelta

from daemon.health import Health
from daemon.ports.outbox import ChannelName, ChatPost, NewEffect
from daemon.publish.metrics import metrics_text
from daemon.store import Store
from daemon.store.mail import HandledMail, MailOutcome
from daemon.store.metrics import store_figures
from tests.store.store_samples import NOW, file_item


def _lines(text: str) -> set[str]:
    return {line for line in text.splitlines() if not line.startswith("#")}


async def test_the_figures_count_mails_items_and_what_waits_in_the_outbox(store: Store) -> None:
    async with store.transaction() as tx:
        await file_item(tx, None)
        await file_item(tx, None, title="Tweede")
        for uid, outcome in ((1, MailOutcome.QUARANTINED), (2, MailOutcome.QUARANTINED)):
            await tx.record_handled(
                HandledMail("INBOX", 7, uid, f"<{uid}@x>", "a" * 64, outcome, None, "", NOW)
            )
        for n, minutes in ((1, 0), (2, 10)):
            await tx.enqueue(
                NewEffect(ChannelName.MATRIX, "!room:x", f"post-{n}", ChatPost("hoi", "hoi")),
                now=NOW + timedelta(minutes=minutes),
            )
    async with store.reading() as tx:
        figures = await store_figures(tx)
    health = Health(now=lambda: 5.0)
    health.watch("imap", within=600)
    health.reconnected("imap")
    health.count("feed_requests", feed="agenda")
    health.count("feed_not_modified", feed="agenda")

    text = metrics_text(figures, health.counters(), health.report(), NOW + timedelta(minutes=30))

    assert {
        'wijkbode_mails_handled_total{outcome="quarantined"} 2',
        'wijkbode_mails_handled_total{outcome="filed"} 0',
        'wijkbode_items_filed_total{source="mail"} 2',
        'wijkbode_items_filed_total{source="chat"} 0',
        'wijkbode_jobs_total{outcome="fired"} 0',
        'wijkbode_jobs_total{outcome="skipped"} 0',
        'wijkbode_outbox_pending{channel="matrix"} 2',
        'wijkbode_outbox_pending{channel="mail"} 0',
        'wijkbode_outbox_oldest_pending_age_seconds{channel="matrix"} 1800.0',
        'wijkbode_outbox_oldest_pending_age_seconds{channel="mail"} 0.0',
        'wijkbode_connector_reconnects_total{connector="imap"} 1',
        'wijkbode_feed_requests_total{feed="agenda"} 1',
        'wijkbode_feed_not_modified_total{feed="agenda"} 1',
        'wijkbode_part_healthy{part="imap"} 1',
    } <= _lines(text)
    assert text.endswith("\n")
    # The exposition format as Prometheus' own parser reads it (prometheus_client comes
    # with Synapse in the dev extra).
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families["wijkbode_mails_handled"] == "counter"
    assert families["wijkbode_outbox_pending"] == "gauge"


def test_a_label_value_is_escaped_and_counters_start_at_zero() -> None:
    from daemon.store.metrics import StoreFigures

    health = Health()
    health.reconnected('we"ird\\')
    text = metrics_text(StoreFigures({}, {}, {}, ()), health.counters(), health.report(), NOW)
    assert 'wijkbode_connector_reconnects_total{connector="we\\"ird\\\\"} 1' in text
    assert "wijkbode_feed_requests_total 0" in _lines(text)
