"""The Meta Conversions API boundary: batching, auth, error classes, retries, isolating bad events.

Only this module speaks Graph JSON. The token travels in the POST body (never
a URL) and never appears in a message. Failures are classified by Graph error
code and subcode, not HTTP status (docs/META_CAPI.md):

- transient (network, timeout, 5xx, codes 1/2, is_transient): retried briefly
  in the cycle, then left pending for a later cycle;
- rate_limit (4, 17, 32, 341, 613, 80000–80014): pending, with a longer wait;
- event (100 with a 2804xxx subcode, other 100s): the batch is split until the
  bad events are found; the rest are delivered;
- auth (190, 102, 104, 10, 200–299, 100/33) and policy (368): the job stops
  sending, everything stays pending.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import requests

from sheetsync.core.config import MetaConfig
from sheetsync.core.errors import TokenError
from sheetsync.core.records import OutboxEvent, Outcome, Pause
from sheetsync.support.logs import redact
from sheetsync.support.metrics import API_CALLS
from sheetsync.support.retry import RetryPolicy, call_with_retries

MAX_BATCH = 1000
RATE_LIMIT_WAIT = 300.0
POLICY_WAIT = 3600.0
RATE_LIMIT_CODES = {4, 17, 32, 341, 613, *range(80000, 80015)}
AUTH_CODES = {190, 102, 104, 10, *range(200, 300)}

FailureKind = Literal["transient", "rate_limit", "event", "auth", "policy"]


@dataclass(frozen=True)
class MetaFailure:
    kind: FailureKind
    message: str  # for people: no token, no personal data
    code: int | None = None
    subcode: int | None = None
    fbtrace_id: str = ""
    wait_hint: float | None = None  # seconds, from Meta's usage headers

    @property
    def retry_after(self) -> float | None:
        if self.kind == "rate_limit":
            return self.wait_hint or RATE_LIMIT_WAIT
        return {"policy": POLICY_WAIT}.get(self.kind)

    @property
    def stops_the_job(self) -> bool:
        """Nothing more may be sent for the job: no next batch, no next cycle's events."""
        return self.kind in ("auth", "policy", "rate_limit")

    def pause(self) -> Pause:
        if self.kind == "auth":
            return Pause(self.message)
        return Pause(self.message, self.retry_after)


class _Retry(Exception):
    def __init__(self, failure: MetaFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def load_token(meta: MetaConfig, environ: dict[str, str] | None = None) -> str:
    """From meta.access_token_file, a systemd credential, or the environment variable."""
    return find_token(
        meta.access_token_file,
        "meta.access_token_file",
        "meta-token",
        meta.access_token_env or "META_ACCESS_TOKEN",
        "the Meta access token",
        environ,
    )


def find_token(
    file: Path | None,
    file_key: str,
    credential: str,
    variable: str,
    what: str,
    environ: dict[str, str] | None = None,
    hint: str = "",
) -> str:
    """A token from the config's file, else the systemd credential `credential`, else the
    environment `variable`; TokenError naming where to put it when there is none."""
    env = os.environ if environ is None else environ
    if file is not None:
        return read_token_file(file, file_key)
    credentials_dir = env.get("CREDENTIALS_DIRECTORY")
    if credentials_dir and (Path(credentials_dir) / credential).exists():
        return read_token_file(
            Path(credentials_dir) / credential, f"the systemd credential {credential}"
        )
    token = env.get(variable, "").strip()
    if not token:
        raise TokenError(
            f"{what} is missing: set {variable} in the environment (or {file_key} in the config)",
            hint,
        )
    return token


def read_token_file(path: Path, what: str) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise TokenError(f"{what} ({path}) cannot be read: {error.strerror}") from None
    if not token:
        raise TokenError(f"{what} ({path}) is empty")
    return token


def classify(status: int | None, body: Any) -> MetaFailure:
    """A Graph error reply (or a transport failure: status None) → what to do about it."""
    error = body.get("error") if isinstance(body, dict) else None
    if status is None or not isinstance(error, dict):
        where = f"HTTP {status}" if status else "no answer"
        kind: FailureKind = (
            "transient" if status is None or status >= 500 or status == 429 else "event"
        )
        return MetaFailure(kind, f"Meta unavailable ({where})")
    code = error.get("code")
    subcode = error.get("error_subcode")
    trace = str(error.get("fbtrace_id", ""))
    text = str(error.get("error_user_msg") or error.get("message") or "no message")
    label = f"code {code}" + (f"/{subcode}" if subcode else "")
    if code in RATE_LIMIT_CODES:
        return MetaFailure("rate_limit", f"Meta rate limit ({label})", code, subcode, trace)
    if error.get("is_transient") or code in (1, 2):
        return MetaFailure("transient", f"Meta temporarily failing ({label})", code, subcode, trace)
    if code == 368:
        return MetaFailure(
            "policy",
            f"Meta has temporarily blocked sending for policy reasons ({label}): {text}",
            code,
            subcode,
            trace,
        )
    if code in AUTH_CODES or (code == 100 and subcode == 33):
        return MetaFailure("auth", _auth_advice(code, subcode, text), code, subcode, trace)
    if status >= 500 and code != 100:  # a known payload error stays one, whatever the status
        return MetaFailure(
            "transient", f"Meta unavailable (HTTP {status}, {label})", code, subcode, trace
        )
    return MetaFailure("event", f"Meta rejected it: {text} ({label})", code, subcode, trace)


def _auth_advice(code: int | None, subcode: int | None, text: str) -> str:
    if code == 100:
        return (
            f"Meta says the dataset does not exist or the token cannot use it (code 100/33); "
            f"check dataset_id and the token's access. Meta said: {text}"
        )
    if code in (10, *range(200, 300)):
        return f"the Meta token lacks a permission (code {code}); give it ads_management. Meta said: {text}"
    return (
        f"Meta rejected the access token (code {code}); put a valid token in place and sheetsync "
        f"resumes by itself. Meta said: {text}"
    )


@dataclass(frozen=True)
class Accepted:
    fbtrace_id: str
    events_received: int


class MetaClient:
    def __init__(
        self,
        meta: MetaConfig,
        token: str | Callable[[], str],
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy = RetryPolicy(tries=3, base_delay=0.5, max_delay=4.0),
        sleep: Callable[[float], None] = time.sleep,
        agent: str = "sheetsync",
    ) -> None:
        self._meta = meta
        # A callable is read before every request, so a replaced token (a rotated systemd credential,
        # a fixed environment file after a restart of the source) is picked up without a restart.
        self._token = token
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = agent  # names the instance (several may share jobs)
        self._retry = retry
        self._sleep = sleep
        self.requests_made = 0

    def _current_token(self) -> str:
        token = self._token() if callable(self._token) else self._token
        redact(token)
        return token

    def _url(self, dataset_id: str, suffix: str = "") -> str:
        return (
            f"{self._meta.graph_base_url.rstrip('/')}/{self._meta.api_version}/{dataset_id}{suffix}"
        )

    def post_events(
        self, dataset_id: str, events: Sequence[dict[str, Any]], test_event_code: str | None = None
    ) -> Accepted | MetaFailure:
        """One request (with brief in-cycle retries of transient failures)."""
        try:
            token = self._current_token()
        except TokenError as error:
            return MetaFailure("auth", str(error))
        body: dict[str, Any] = {"data": list(events), "access_token": token}
        if test_event_code:
            body["test_event_code"] = test_event_code

        def attempt() -> Accepted:
            self.requests_made += 1
            API_CALLS.labels(api="meta", kind="events").inc()
            try:
                response = self._session.post(
                    self._url(dataset_id, "/events"), json=body, timeout=(3.0, self._meta.timeout)
                )
            except requests.Timeout:
                raise _Retry(MetaFailure("transient", "Meta timed out")) from None
            except requests.ConnectionError:
                raise _Retry(
                    MetaFailure("transient", "Meta unreachable (connection failed)")
                ) from None
            reply = _json(response)
            if response.ok and isinstance(reply, dict) and "events_received" in reply:
                return Accepted(str(reply.get("fbtrace_id", "")), int(reply["events_received"]))
            failure = classify(response.status_code, reply)
            if failure.kind == "rate_limit":
                failure = replace(failure, wait_hint=regain_access_wait(response.headers))
            raise _Retry(failure)

        try:
            return call_with_retries(attempt, _worth_retrying_now, self._retry, self._sleep)
        except _Retry as stop:
            return stop.failure

    def check_dataset(self, dataset_id: str) -> MetaFailure | None:
        """A harmless read of the dataset: proves the token and the dataset id (for `check`)."""
        try:
            response = self._session.get(
                self._url(dataset_id),
                params={"fields": "id,name"},
                headers={"Authorization": f"Bearer {self._current_token()}"},
                timeout=(3.0, self._meta.timeout),
            )
        except requests.RequestException:
            return MetaFailure("transient", "Meta unreachable")
        return None if response.ok else classify(response.status_code, _json(response))


def regain_access_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until Meta lets the app send again, from `estimated_time_to_regain_access`
    (minutes) in X-Business-Use-Case-Usage or X-App-Usage; None when Meta does not say."""
    minutes: list[float] = []
    for name in ("X-Business-Use-Case-Usage", "X-App-Usage"):
        try:
            usage = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        entries = [usage] if isinstance(usage, dict) else []
        if isinstance(usage, dict) and name == "X-Business-Use-Case-Usage":
            entries = [e for values in usage.values() if isinstance(values, list) for e in values]
        for entry in entries:
            value = (
                entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
            )
            if isinstance(value, int | float) and value > 0:
                minutes.append(float(value))
    return max(minutes) * 60 if minutes else None


def _worth_retrying_now(error: Exception) -> bool:
    return isinstance(error, _Retry) and error.failure.kind == "transient"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def deliver(
    client: MetaClient,
    dataset_id: str,
    events: Sequence[OutboxEvent],
    test_event_code: str | None = None,
) -> tuple[list[Outcome], MetaFailure | None]:
    """Send every event in batches of ≤1000; isolate bad events; stop at a job-level failure.

    Returns each event's outcome, and the job-level failure (auth, policy, rate limit) if one
    stopped sending: then no further request is made, and the events not sent stay pending.
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(events), MAX_BATCH):
        batch = list(events[start : start + MAX_BATCH])
        batch_outcomes, stop = _deliver_batch(client, dataset_id, batch, test_event_code)
        outcomes += batch_outcomes
        if stop is not None:
            blocked = [
                Outcome(e.event_id, "blocked", stop.message) for e in events[start + MAX_BATCH :]
            ]
            return outcomes + blocked, stop
    return outcomes, None


def _deliver_batch(
    client: MetaClient,
    dataset_id: str,
    batch: list[OutboxEvent],
    test_event_code: str | None,
    known_bad: MetaFailure | None = None,
) -> tuple[list[Outcome], MetaFailure | None]:
    """`known_bad`: this batch is known to hold a rejected event (its sibling half went through
    whole), so it is split at once instead of being sent whole only to be refused again."""
    if known_bad is not None and len(batch) > 1:
        return _split(client, dataset_id, batch, test_event_code, known_bad)
    result = client.post_events(dataset_id, [dict(e.payload) for e in batch], test_event_code)
    if isinstance(result, Accepted):
        return [Outcome(e.event_id, "sent", fbtrace_id=result.fbtrace_id) for e in batch], None
    if result.stops_the_job:
        return [
            Outcome(e.event_id, "blocked", result.message, result.fbtrace_id, result.retry_after)
            for e in batch
        ], result
    if result.kind == "transient":
        return [
            Outcome(e.event_id, "pending", result.message, result.fbtrace_id, result.retry_after)
            for e in batch
        ], None
    if len(batch) == 1:
        return [Outcome(batch[0].event_id, "failed", result.message, result.fbtrace_id)], None
    return _split(client, dataset_id, batch, test_event_code, result)


def _split(
    client: MetaClient,
    dataset_id: str,
    batch: list[OutboxEvent],
    test_event_code: str | None,
    refused: MetaFailure | None = None,
) -> tuple[list[Outcome], MetaFailure | None]:
    """One bad event rejects the whole request: halve until the bad ones stand alone. When the
    first half goes through whole, the bad event is in the second: it is split without a try."""
    middle = len(batch) // 2
    first, stop = _deliver_batch(client, dataset_id, batch[:middle], test_event_code)
    if stop is not None:
        return first + [Outcome(e.event_id, "blocked", stop.message) for e in batch[middle:]], stop
    first_went_through = all(outcome.kind == "sent" for outcome in first)
    second, stop = _deliver_batch(
        client,
        dataset_id,
        batch[middle:],
        test_event_code,
        known_bad=refused if first_went_through and refused is not None else None,
    )
    return first + second, stop
