"""The Graph emulator, driven with real `requests` POSTs."""

from __future__ import annotations

import copy
import hashlib
import json
import time
from typing import Any

import pytest
import requests

from sheetsync.emulator import Emulators, GraphFault

NOW = int(time.time())
EMAIL_HASH = hashlib.sha256(b"john_smith@gmail.com").hexdigest()
VALID_EVENT: dict[str, Any] = {
    "event_name": "QualifiedLead",
    "event_time": NOW - 3600,
    "event_id": "ev-1",
    "action_source": "system_generated",
    "user_data": {
        "lead_id": 1234567890123456,
        "em": [EMAIL_HASH],
        "fbc": "fb.1.1795000000000.AbCdEf-123_x",
    },
    "custom_data": {
        "event_source": "crm",
        "lead_event_source": "Google Sheets",
        "value": 500,
        "currency": "USD",
    },
}


def post(
    emulators: Emulators,
    events: list[dict[str, Any]],
    token: str = "secret-token",
    dataset: str = "123456789012345",
    as_form: bool = False,
) -> requests.Response:
    url = f"{emulators.graph_url}/v26.0/{dataset}/events"
    if as_form:
        return requests.post(
            url, data={"data": json.dumps(events), "access_token": token}, timeout=5
        )
    return requests.post(url, json={"data": events, "access_token": token}, timeout=5)


def with_change(path: str, value: object) -> dict[str, Any]:
    event = copy.deepcopy(VALID_EVENT)
    *parents, leaf = path.split(".")
    target = event
    for key in parents:
        target = target[key]
    if value is None:
        del target[leaf]
    else:
        target[leaf] = value
    return event


def test_a_valid_conversion_leads_event_is_accepted_and_recorded(emulators: Emulators) -> None:
    response = post(emulators, [VALID_EVENT])
    assert response.status_code == 200
    body = response.json()
    assert body["events_received"] == 1
    assert body["messages"] == []
    assert body["fbtrace_id"]
    assert emulators.graph.events() == [VALID_EVENT]
    assert emulators.graph.event_id_counts() == {"ev-1": 1}


def test_form_body_with_data_as_json_string(emulators: Emulators) -> None:
    response = post(emulators, [VALID_EVENT], as_form=True)
    assert response.status_code == 200
    assert emulators.graph.events() == [VALID_EVENT]


def test_token_in_query_is_accepted(emulators: Emulators) -> None:
    url = f"{emulators.graph_url}/v26.0/123456789012345/events?access_token=t"
    assert requests.post(url, json={"data": [VALID_EVENT]}, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("change", "value", "subcode"),
    [
        ("event_time", NOW - 8 * 86400, 2804003),
        ("event_time", (NOW - 3600) * 1000, 2804004),
        ("event_time", NOW + 3600, 2804004),
        ("event_time", float(NOW), 2804002),
        ("action_source", None, 2804009),
        ("action_source", "crm", 2804009),
        ("user_data.em", ["John_Smith@gmail.com"], 2804019),
        ("user_data.em", [EMAIL_HASH.upper()], 2804019),
        ("user_data.lead_id", 12345, 2804021),
        ("user_data.lead_id", "l:1234567890123456", 2804021),
        ("user_data.fbc", "fb.1.17950000.AbC", 2804001),
        ("user_data.fbc", "AbCdEf", 2804001),
        (
            "user_data",
            {"fn": hashlib.sha256(b"mary").hexdigest(), "ge": hashlib.sha256(b"f").hexdigest()},
            2804050,
        ),
        ("custom_data.currency", None, 2804012),
        ("event_name", None, 2804008),
    ],
)
def test_each_invalid_variant_gets_metas_error(
    emulators: Emulators, change: str, value: object, subcode: int
) -> None:
    response = post(emulators, [with_change(change, value)])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert error["error_subcode"] == subcode
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]
    assert emulators.graph.events() == []


def test_one_bad_event_rejects_the_whole_request(emulators: Emulators) -> None:
    bad = with_change("event_time", NOW - 8 * 86400)
    response = post(emulators, [VALID_EVENT, bad, with_change("event_id", "ev-2")])
    assert response.json()["error"]["error_subcode"] == 2804003
    assert emulators.graph.events() == []


def test_more_than_1000_events_is_rejected(emulators: Emulators) -> None:
    response = post(emulators, [VALID_EVENT] * 1001)
    assert response.status_code == 400
    assert emulators.graph.events() == []


def test_wrong_token_gets_190() -> None:
    with Emulators(token="right") as emulators:
        response = post(emulators, [VALID_EVENT], token="wrong")
        assert response.json()["error"]["code"] == 190
        assert post(emulators, [VALID_EVENT], token="right").status_code == 200


def test_unknown_dataset_gets_100_33(emulators: Emulators) -> None:
    error = post(emulators, [VALID_EVENT], dataset="999").json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (GraphFault(status=503), 503, 1),
        (GraphFault(status=400, code=4, message="Application request limit reached"), 400, 4),
        (GraphFault(status=400, code=17, message="User request limit reached"), 400, 17),
        (
            GraphFault(
                status=400, code=613, message="Calls to this api have exceeded the rate limit."
            ),
            400,
            613,
        ),
        (GraphFault(status=400, code=190, message="Error validating access token"), 400, 190),
        (
            GraphFault(
                status=500, code=2, is_transient=True, message="Service temporarily unavailable"
            ),
            500,
            2,
        ),
    ],
)
def test_injected_faults(emulators: Emulators, fault: GraphFault, status: int, code: int) -> None:
    emulators.graph.inject(fault)
    response = post(emulators, [VALID_EVENT])
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert post(emulators, [VALID_EVENT]).status_code == 200


def test_a_hang_past_the_client_timeout(emulators: Emulators) -> None:
    emulators.graph.inject(GraphFault(status=503, delay=2))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{emulators.graph_url}/v26.0/123456789012345/events",
            json={"data": [VALID_EVENT], "access_token": "t"},
            timeout=0.3,
        )


def test_random_failures_are_reproducible(emulators: Emulators) -> None:
    emulators.graph.fail_randomly(0.5, seed=7, faults=[GraphFault(status=503)])
    first = [post(emulators, [VALID_EVENT]).status_code for _ in range(20)]
    emulators.graph.fail_randomly(0.5, seed=7, faults=[GraphFault(status=503)])
    second = [post(emulators, [VALID_EVENT]).status_code for _ in range(20)]
    assert first == second
    assert 200 in first
    assert 503 in first
