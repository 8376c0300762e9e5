"""A loopback emulator of Meta's Graph API Conversions endpoint.

`POST /{version}/{dataset_id}/events` validated as docs/META_CAPI.md says
Meta does: one invalid event rejects the whole request with Meta's error
shape. Accepted events are recorded so tests can assert exactly what Meta
received and how many times each event_id arrived. Faults can be queued or
drawn at random from a seeded generator.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sheetsync.emulator.http import Reply, Request
from sheetsync.emulator.leadgen import LeadAds

DEFAULT_DATASET = "123456789012345"
MAX_EVENTS = 1000
SEVEN_DAYS = 7 * 24 * 3600
FUTURE_TOLERANCE = 60  # seconds of clock skew Meta tolerates
ACTION_SOURCES = {
    "email",
    "website",
    "app",
    "phone_call",
    "chat",
    "physical_store",
    "system_generated",
    "business_messaging",
    "other",
}
HASHED_FIELDS = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FBC = re.compile(r"^fb\.\d+\.(\d{13}|\d{10})\.[^.\s]+(\.[A-Za-z0-9_-]+)?$")
_PATH = re.compile(r"^/(v\d+\.\d+)/(\d+)(/events)?$")
_LEADGEN_PATH = re.compile(r"^/(v\d+\.\d+)/(\d+)/(leadgen_forms|leads)$")


@dataclass
class ReceivedEvent:
    dataset_id: str
    event: dict[str, Any]
    fbtrace_id: str
    received_at: float
    test_event_code: str | None


@dataclass
class GraphFault:
    """The next `count` event requests fail this way."""

    status: int = 500  # HTTP status
    code: int | None = None  # Graph error code; None = a bare 5xx without Graph body
    subcode: int | None = None
    is_transient: bool = False
    message: str = "An unexpected error has occurred. Please retry your request later."
    count: int = 1
    delay: float = 0.0
    drop: bool = False
    # Minutes until access comes back, as Meta states it in X-Business-Use-Case-Usage.
    regain_access_minutes: int | None = None


class GraphError(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        title: str = "",
        user_message: str = "",
        status: int = 400,
        is_transient: bool = False,
        error_type: str = "OAuthException",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "message": message,
            "type": error_type,
            "code": code,
            "is_transient": is_transient,
            "fbtrace_id": _trace_id(),
        }
        if subcode is not None:
            self.body["error_subcode"] = subcode
        if title:
            self.body["error_user_title"] = title
        if user_message:
            self.body["error_user_msg"] = user_message

    def reply(self) -> Reply:
        return Reply(self.status, {"error": self.body})


def _trace_id() -> str:
    return "A" + secrets.token_urlsafe(15)


def _invalid(subcode: int, title: str, user_message: str) -> GraphError:
    return GraphError(
        100, "Invalid parameter", subcode=subcode, title=title, user_message=user_message
    )


class GraphEmulator:
    def __init__(
        self,
        token: str | None = None,
        datasets: tuple[str, ...] = (DEFAULT_DATASET,),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token  # None: any non-empty token is accepted
        self.datasets = set(datasets)
        self.clock = clock
        self.received: list[ReceivedEvent] = []
        self.requests = 0
        self.latency = 0.0  # seconds each event request takes before Meta processes it
        # Each accepted events request: (User-Agent, start, end on the monotonic clock, params).
        self.windows: list[tuple[str, float, float, dict[str, Any]]] = []
        self.rejected: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._faults: list[GraphFault] = []
        self._random: tuple[float, random.Random, list[GraphFault]] | None = None
        self._rejections: list[tuple[Callable[[dict[str, Any]], bool], int, str]] = []
        self.lead_ads = LeadAds(token)  # the Lead Ads read API (leadgen_forms, leads)

    # --- control surface -------------------------------------------------
    def inject(self, fault: GraphFault) -> None:
        with self.lock:
            self._faults.append(fault)

    def reject_events(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        subcode: int = 2804050,
        message: str = "This event has too little customer information to be matched.",
    ) -> None:
        """Meta-side validation sheetsync cannot see: events matching `predicate` reject their request."""
        with self.lock:
            self._rejections.append((predicate, subcode, message))

    def fail_randomly(self, rate: float, seed: int, faults: list[GraphFault]) -> None:
        """Fail a share of event requests, each with a fault drawn from `faults`."""
        with self.lock:
            self._random = (rate, random.Random(seed), faults) if rate > 0 else None

    def event_id_counts(self) -> Counter[str]:
        with self.lock:
            return Counter(item.event["event_id"] for item in self.received)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item.event for item in self.received]

    # --- the API -----------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        if request.raw_path.startswith("/_emulator/"):
            return self._control(request)
        leadgen = _LEADGEN_PATH.match(request.raw_path)
        if leadgen and request.method == "GET":
            version, object_id, edge = leadgen.groups()
            base_url = f"http://{request.headers.get('host', '127.0.0.1')}"
            return self.lead_ads.handle(request, base_url, version, object_id, edge)
        match = _PATH.match(request.raw_path)
        if not match:
            return GraphError(803, "Unknown path components", status=404).reply()
        _version, dataset_id, events_path = match.groups()
        try:
            params = _params(request)
            self._check_token(params, request.headers)
            if dataset_id not in self.datasets:
                raise GraphError(
                    100,
                    f"Unsupported post request. Object with ID '{dataset_id}' does not exist, "
                    "cannot be loaded due to missing permissions, or does not support this operation.",
                    subcode=33,
                )
            if not events_path:
                return Reply(200, {"id": dataset_id, "name": "Emulated dataset"})
            started = time.monotonic()
            if self.latency:
                time.sleep(
                    self.latency
                )  # the request is in flight: a client killed now never hears back
            with self.lock:
                self.requests += 1
                fault = self._next_fault()
            if fault is not None:
                return _fault_reply(fault)
            reply = self._accept(dataset_id, params)
            with self.lock:  # who sent which events when: tests check no two senders overlap
                self.windows.append(
                    (request.headers.get("user-agent", ""), started, time.monotonic(), params)
                )
            return reply
        except GraphError as error:
            with self.lock:
                self.rejected.append(error.body)
            return error.reply()

    def _next_fault(self) -> GraphFault | None:
        if self._faults:
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(0)
            return fault
        if self._random is not None:
            rate, rng, faults = self._random
            if rng.random() < rate:
                return rng.choice(faults)
        return None

    def _check_token(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        token = params.get("access_token") or ""
        bearer = headers.get("authorization", "")
        if not token and bearer.lower().startswith("bearer "):
            token = bearer[7:]
        if not token:
            raise GraphError(104, "An access token is required to request this resource.")
        if self.token is not None and token != self.token:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")

    def _accept(self, dataset_id: str, params: dict[str, Any]) -> Reply:
        data = params.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as error:
                raise GraphError(100, "(#100) param data must be an array.") from error
        if not isinstance(data, list) or not data:
            raise GraphError(100, "(#100) param data must be an array.")
        if len(data) > MAX_EVENTS:
            raise _invalid(
                2804016, "Too many events", f"A request may hold at most {MAX_EVENTS} events."
            )
        now = self.clock()
        for event in data:
            validate_event(event, now)
            for predicate, subcode, message in self._rejections:
                if predicate(event):
                    raise _invalid(subcode, "Event rejected", message)
        trace = _trace_id()
        test_code = params.get("test_event_code")
        with self.lock:
            for event in data:
                self.received.append(ReceivedEvent(dataset_id, event, trace, now, test_code))
        return Reply(200, {"events_received": len(data), "messages": [], "fbtrace_id": trace})

    def _control(self, request: Request) -> Reply:
        action = request.raw_path.removeprefix("/_emulator/")
        if action.startswith("leadgen/"):
            return self.lead_ads.control(action.removeprefix("leadgen/"), request)
        if action == "events":
            with self.lock:
                received = [
                    {**item.event, "_received_at": item.received_at} for item in self.received
                ]
            return Reply(200, {"events": received, "requests": self.requests})
        if action == "requests":
            return Reply(200, {"requests": self.requests, "events": len(self.received)})
        if action == "fault":
            body = request.json()
            assert isinstance(body, dict)
            self.inject(GraphFault(**body))
            return Reply(200, {})
        return Reply(404, {"error": f"no control action {action!r}"})


def _fault_reply(fault: GraphFault) -> Reply:
    if fault.code is None:
        reply = Reply(
            fault.status,
            {
                "error": {
                    "message": fault.message,
                    "code": 1,
                    "type": "OAuthException",
                    "is_transient": True,
                }
            },
        )
    else:
        error = GraphError(
            fault.code,
            fault.message,
            subcode=fault.subcode,
            status=fault.status,
            is_transient=fault.is_transient,
        )
        reply = error.reply()
    reply.delay, reply.drop = fault.delay, fault.drop
    if fault.regain_access_minutes is not None:
        usage = {
            "1234567890": [
                {
                    "type": "ads_management",
                    "call_count": 100,
                    "total_cputime": 30,
                    "total_time": 40,
                    "estimated_time_to_regain_access": fault.regain_access_minutes,
                }
            ]
        }
        reply.headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        reply.headers["X-App-Usage"] = json.dumps(
            {"call_count": 100, "total_cputime": 30, "total_time": 40}
        )
    return reply


def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {key: values[0] for key, values in request.query.items()}
    content_type = request.headers.get("content-type", "")
    if request.body and "json" in content_type:
        body = request.json()
        if not isinstance(body, dict):
            raise GraphError(100, "(#100) request body must be an object.")
        params.update(body)
    elif request.body:
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        params.update({key: values[0] for key, values in form.items()})
    return params


def validate_event(event: object, now: float) -> None:
    """Raise Meta's error for the first rule this event breaks."""
    if not isinstance(event, dict):
        raise GraphError(100, "(#100) each event must be an object.")
    if not isinstance(event.get("event_name"), str) or not event["event_name"]:
        raise _invalid(2804008, "Missing event name", "The parameter event_name is required.")
    event_time = event.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        raise _invalid(
            2804002,
            "Invalid event time",
            "event_time must be a Unix timestamp in seconds, as an integer.",
        )
    if event_time > now + FUTURE_TOLERANCE:
        raise _invalid(
            2804004, "Event Timestamp In Future", "The timestamp for this event is in the future."
        )
    if event_time < now - SEVEN_DAYS:
        raise _invalid(
            2804003,
            "Event Timestamp Too Old",
            "The timestamp for this event is too far in the past. Events must be "
            "sent within 7 days of when they occurred.",
        )
    if event.get("action_source") not in ACTION_SOURCES:
        raise _invalid(
            2804009,
            "Invalid action source",
            f"action_source must be one of {', '.join(sorted(ACTION_SOURCES))}.",
        )
    user_data = event.get("user_data")
    if not isinstance(user_data, dict):
        raise _invalid(2804005, "Missing user data", "The parameter user_data is required.")
    if event.get("action_source") == "website" and not (
        user_data.get("client_user_agent") and event.get("event_source_url")
    ):
        raise _invalid(
            2804037,
            "Missing website parameters",
            "Website events require client_user_agent and event_source_url.",
        )
    for name in HASHED_FIELDS:
        if name in user_data:
            values = user_data[name] if isinstance(user_data[name], list) else [user_data[name]]
            for value in values:
                if not isinstance(value, str) or not _HEX64.match(value):
                    raise _invalid(
                        2804019,
                        "Invalid hashed parameter",
                        f"user_data.{name} must be a SHA-256 hash (64 lowercase hex).",
                    )
    if "lead_id" in user_data:
        lead_id = str(user_data["lead_id"])
        if not (lead_id.isdigit() and 15 <= len(lead_id) <= 17):
            raise _invalid(
                2804021, "Invalid lead id", "lead_id must be Meta's 15–17 digit lead id."
            )
    if "fbc" in user_data and not (
        isinstance(user_data["fbc"], str) and _FBC.match(user_data["fbc"])
    ):
        raise _invalid(
            2804001,
            "Invalid click id",
            "The fbc value is badly formatted: expected fb.1.<milliseconds>.<fbclid>.",
        )
    if not has_enough_customer_information(user_data):
        raise _invalid(
            2804050,
            "Not enough customer information",
            "This event has too little customer information to be matched.",
        )
    custom_data = event.get("custom_data", {})
    if not isinstance(custom_data, dict):
        raise _invalid(2804010, "Invalid custom data", "custom_data must be an object.")
    if "value" in custom_data:
        if not isinstance(custom_data["value"], int | float) or isinstance(
            custom_data["value"], bool
        ):
            raise _invalid(2804011, "Invalid value", "custom_data.value must be a number.")
        currency = custom_data.get("currency")
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency)):
            raise _invalid(
                2804012,
                "Invalid currency",
                "custom_data.currency must be an ISO 4217 code when value is set.",
            )


STRONG_KEYS = ("lead_id", "fbc", "fbp", "em", "ph", "external_id")


def has_enough_customer_information(user_data: dict[str, Any]) -> bool:
    """Meta rejects events whose only keys are weak combinations (2804050)."""
    if any(user_data.get(key) for key in STRONG_KEYS):
        return True
    if user_data.get("client_ip_address") and user_data.get("client_user_agent"):
        return True
    names = user_data.get("fn") and user_data.get("ln")
    return bool(names and any(user_data.get(key) for key in ("zp", "ct", "db")))
