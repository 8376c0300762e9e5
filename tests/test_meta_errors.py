"""Meta's error classes, by Graph code and subcode, not HTTP status (docs/META_CAPI.md)."""

from __future__ import annotations

import pytest

from sheetsync.adapters.meta import classify


def graph_error(
    code: int, subcode: int | None = None, is_transient: bool = False
) -> dict[str, object]:
    error: dict[str, object] = {
        "message": "m",
        "code": code,
        "is_transient": is_transient,
        "error_user_msg": "user message",
        "fbtrace_id": "T",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (None, None, "transient"),  # network error or timeout
        (500, None, "transient"),
        (502, "<html>bad gateway</html>", "transient"),
        (503, None, "transient"),
        (429, None, "transient"),
        (500, graph_error(1), "transient"),
        (500, graph_error(2), "transient"),
        (400, graph_error(1), "transient"),
        (400, graph_error(100, 2804003, is_transient=True), "transient"),
        *[
            (400, graph_error(code), "rate_limit")
            for code in (4, 17, 32, 341, 613, 80000, 80004, 80014)
        ],
        (400, graph_error(368), "policy"),
        *[
            (status, graph_error(code), "auth")
            for status in (400, 401)
            for code in (190, 102, 104, 10, 200, 299)
        ],
        (400, graph_error(100, 33), "auth"),
        (400, graph_error(100, 2804003), "event"),
        (400, graph_error(100, 2804001), "event"),
        (400, graph_error(100, 2804050), "event"),
        (400, graph_error(100, 2804019), "event"),
        (400, graph_error(100), "event"),
        (500, graph_error(100, 2804003), "event"),  # the code decides, not the HTTP status
        (400, graph_error(80015), "event"),  # just outside the rate-limit range
        (403, None, "event"),
    ],
)
def test_classify(status: int | None, body: object, kind: str) -> None:
    assert classify(status, body).kind == kind


def test_messages_are_for_people_and_keep_the_trace() -> None:
    failure = classify(400, graph_error(100, 2804003))
    assert failure.message == "Meta rejected it: user message (code 100/2804003)"
    assert failure.fbtrace_id == "T"
    assert classify(400, graph_error(190)).message.startswith(
        "Meta rejected the access token (code 190)"
    )
    assert classify(400, graph_error(17)).retry_after == 300


@pytest.mark.parametrize(("bad", "most_requests"), [((7,), 18), ((3, 250, 480), 42)])
def test_bad_events_are_isolated_with_few_requests(
    emulators,  # type: ignore[no-untyped-def]
    bad: tuple[int, ...],
    most_requests: int,
) -> None:
    """A rejected batch is halved; a half whose sibling went through whole is known to hold the
    bad event and is split without being sent whole (before: 19 and 47 requests)."""
    import time

    from sheetsync.adapters.meta import MetaClient, deliver
    from sheetsync.core.config import MetaConfig
    from sheetsync.core.records import OutboxEvent

    now = int(time.time())
    events = [
        OutboxEvent(
            "sales",
            f"k{i}",
            "Lead",
            f"id{i}",
            now - 60,
            {
                "event_name": "Lead",
                "event_time": now - 60,
                "event_id": f"id{i}",
                "action_source": "system_generated",
                "user_data": {"em": [f"{i:064x}"]},
                "custom_data": {"event_source": "crm", "lead_event_source": "sheetsync"},
            },
        )
        for i in range(500)
    ]
    bad_ids = {f"id{i}" for i in bad}
    emulators.graph.reject_events(lambda event: event.get("event_id") in bad_ids)
    client = MetaClient(
        MetaConfig(graph_base_url=emulators.graph_url, api_version="v26.0"), "token-123456"
    )
    outcomes, stop = deliver(client, emulators.dataset_id, events)
    assert stop is None
    assert {o.event_id for o in outcomes if o.kind == "failed"} == bad_ids
    assert sum(o.kind == "sent" for o in outcomes) == 500 - len(bad)
    assert emulators.graph.requests <= most_requests, emulators.graph.requests
