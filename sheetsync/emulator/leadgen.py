"""Meta's Lead Ads read API, emulated inside the Graph emulator (issue #14).

`GET /{version}/{page_id}/leadgen_forms` and `GET /{version}/{form_id}/leads` with Meta's shapes:
ids as JSON strings (and, for ad and campaign ids, numbers), newest lead first, `limit` and
`after` cursors, a `paging.next` URL that carries the access token (as Meta's does: a client
must not follow it verbatim), the `time_created` filter, leads that arrive late (a created
time older than leads already served), throttling (code 80005 with X-Business-Use-Case-Usage)
and lost lead access (codes 200, 190, 10). Tests add leads through `/_emulator/leadgen/lead`.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sheetsync.emulator.http import Reply, Request

DEFAULT_PAGE = "102030405060708"
DEFAULT_LIMIT = 25


@dataclass
class LeadForm:
    id: str
    name: str
    status: str = "ACTIVE"  # or ARCHIVED: its leads still count
    leads: list[dict[str, Any]] = field(default_factory=list)
    questions: list[str] = field(default_factory=lambda: ["email", "phone_number", "full_name"])


@dataclass
class LeadAdsFault:
    """The next `count` Lead Ads requests fail this way."""

    kind: str = "throttle"  # throttle | lost_access | expired_token | no_permission
    count: int = 1
    regain_access_minutes: int | None = None


class LeadAds:
    def __init__(self, token: str | None = None) -> None:
        self.token = token  # the Page token the API accepts (None: any)
        self.lock = threading.Lock()
        self.pages: dict[str, list[str]] = {}
        self.forms: dict[str, LeadForm] = {}
        self.requests = 0
        self.tokens_in_urls = 0  # requests that carried the token in the URL (must stay 0)
        self.numeric_lead_ids = False  # serve lead ids as JSON numbers (as some edges do)
        self._faults: list[LeadAdsFault] = []
        self._next_id = 1

    # --- what tests and the demo do --------------------------------------------
    def add_form(self, page_id: str, form_id: str, name: str, status: str = "ACTIVE") -> None:
        with self.lock:
            self.pages.setdefault(page_id, [])
            if form_id not in self.forms:
                self.pages[page_id].append(form_id)
                self.forms[form_id] = LeadForm(form_id, name, status)

    def add_lead(
        self,
        form_id: str,
        created_time: int,
        answers: dict[str, list[str]],
        *,
        lead_id: str | None = None,
        ad: tuple[str, str] = ("120210000000000001", "Spring ad"),
        campaign: tuple[str, str] = ("120210000000000009", "Spring campaign"),
        is_organic: bool = False,
    ) -> str:
        """A lead submitted on the form at `created_time` (it may arrive late: any time)."""
        with self.lock:
            if lead_id is None:
                lead_id = str(9_000_000_000_000_000 + self._next_id)
                self._next_id += 1
            form = self.forms[form_id]
            form.questions += [key for key in answers if key not in form.questions]
            form.leads.append(
                {
                    "id": lead_id,
                    "created_time": datetime.fromtimestamp(created_time, UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S+0000"
                    ),
                    "field_data": [
                        {"name": key, "values": list(values)} for key, values in answers.items()
                    ],
                    "form_id": form_id,
                    "ad_id": int(ad[0]),  # a number here, a string elsewhere: as Meta mixes them
                    "ad_name": ad[1],
                    "campaign_id": campaign[0],
                    "campaign_name": campaign[1],
                    "is_organic": is_organic,
                    "platform": "fb",
                    "_created": created_time,
                }
            )
            return lead_id

    def inject(self, fault: LeadAdsFault) -> None:
        with self.lock:
            self._faults.append(fault)

    # --- the API ----------------------------------------------------------------
    def handle(
        self, request: Request, base_url: str, version: str, object_id: str, edge: str
    ) -> Reply:
        with self.lock:
            self.requests += 1
            if "access_token" in request.query:
                self.tokens_in_urls += 1
            token = _bearer(request) or _first(request, "access_token")
            if not token:
                return _error(400, 104, "An access token is required to request this resource.")
            if self.token is not None and token != self.token:
                return _error(400, 190, "Invalid OAuth access token - Cannot parse access token")
            fault = self._take_fault()
            if fault is not None:
                return _fault_reply(fault)
            if edge == "leadgen_forms":
                if object_id not in self.pages:
                    return _error(400, 100, f"Object with ID '{object_id}' does not exist", 33)
                items = [
                    {
                        "id": form.id,
                        "name": form.name,
                        "status": form.status,
                        "questions": [
                            {"key": key, "label": key.replace("_", " ").title(), "type": "CUSTOM"}
                            for key in form.questions
                        ],
                    }
                    for form in (self.forms[i] for i in self.pages[object_id])
                ]
            else:
                form = self.forms.get(object_id)
                if form is None:
                    return _error(400, 100, f"Object with ID '{object_id}' does not exist", 33)
                after = _since(_first(request, "filtering"))
                leads = sorted(form.leads, key=lambda lead: -lead["_created"])
                items = [self._shown(lead) for lead in leads if lead["_created"] > after]
            return _page(request, items, f"{base_url}/{version}/{object_id}/{edge}", token)

    def _shown(self, lead: dict[str, Any]) -> dict[str, Any]:
        shown = {key: value for key, value in lead.items() if not key.startswith("_")}
        if self.numeric_lead_ids:
            shown["id"] = int(shown["id"])
        return shown

    def _take_fault(self) -> LeadAdsFault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self._faults.pop(0)
        return fault

    # --- control ------------------------------------------------------------------
    def control(self, action: str, request: Request) -> Reply:
        body = request.json()
        assert isinstance(body, dict)
        if action == "form":
            self.add_form(
                body.get("page_id", DEFAULT_PAGE),
                body["form_id"],
                body.get("name", "Form"),
                body.get("status", "ACTIVE"),
            )
            return Reply(200, {})
        if action == "lead":
            lead_id = self.add_lead(
                body["form_id"],
                int(body["created_time"]),
                body.get("answers", {}),
                lead_id=body.get("lead_id"),
                is_organic=bool(body.get("is_organic", False)),
            )
            return Reply(200, {"id": lead_id})
        if action == "fault":
            self.inject(LeadAdsFault(**body))
            return Reply(200, {})
        return Reply(404, {"error": f"no leadgen control action {action!r}"})


def _page(request: Request, items: list[dict[str, Any]], url: str, token: str) -> Reply:
    limit = int(_first(request, "limit") or DEFAULT_LIMIT)
    start = _offset(_first(request, "after"))
    chunk = items[start : start + limit]
    body: dict[str, Any] = {"data": chunk}
    if chunk:
        body["paging"] = {
            "cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}
        }
        if start + len(chunk) < len(items):
            # Meta's next URL repeats the query with the token in it.
            body["paging"]["next"] = (
                f"{url}?access_token={token}&limit={limit}&after={_cursor(start + len(chunk))}"
            )
    return Reply(200, body)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    if not cursor:
        return 0
    padded = cursor + "=" * (-len(cursor) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1])


def _since(filtering: str) -> int:
    """The `time_created GREATER_THAN T` filter's T (0 when there is none)."""
    if not filtering:
        return 0
    for rule in json.loads(filtering):
        if rule.get("field") == "time_created" and rule.get("operator") == "GREATER_THAN":
            return int(rule["value"])
    return 0


def _first(request: Request, name: str) -> str:
    values = request.query.get(name) or [""]
    return values[0]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else ""


def _error(status: int, code: int, message: str, subcode: int | None = None) -> Reply:
    body: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "Aleadgen",
    }
    if subcode is not None:
        body["error_subcode"] = subcode
    return Reply(status, {"error": body})


def _fault_reply(fault: LeadAdsFault) -> Reply:
    if fault.kind == "throttle":
        reply = _error(400, 80005, "There have been too many leadgen api calls to this Page.")
        if fault.regain_access_minutes is not None:
            usage = {
                "1": [
                    {
                        "type": "leadgen",
                        "call_count": 100,
                        "estimated_time_to_regain_access": fault.regain_access_minutes,
                    }
                ]
            }
            reply.headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        return reply
    if fault.kind == "expired_token":
        return _error(400, 190, "Error validating access token: Session has expired.", 463)
    if fault.kind == "no_permission":
        return _error(403, 10, "Application does not have permission for this action")
    return _error(403, 200, "Requires pages_manage_ads permission to manage the object")
