"""Meta's Lead Ads read API through requests: a Page's forms and each form's new leads.

The Page token travels in the Authorization header only. Meta's `paging.next` URLs carry the
token in their query, so the next page is asked for with the `after` cursor, never by
following `next`. Ids are kept as text from the JSON onwards: numbers come back as ints
(never floats: a 16-digit id through a float loses digits), strings stay strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests

from sheetsync.adapters.meta import MetaFailure, classify, find_token, regain_access_wait
from sheetsync.core.config import LeadAdsConfig, MetaConfig
from sheetsync.core.errors import LeadSourceUnavailable
from sheetsync.core.intake import FetchedLead, LeadForm

PAGE_SIZE = 100
LEAD_FIELDS = (
    "id,created_time,field_data,form_id,ad_id,ad_name,campaign_id,campaign_name,is_organic,platform"
)


def unavailable(failure: MetaFailure, what: str) -> LeadSourceUnavailable:
    """A Graph failure while reading leads, in the intake's terms."""
    if failure.code == 100 and failure.subcode == 33:
        return LeadSourceUnavailable(f"{what} no longer exists", "gone")
    if failure.kind == "rate_limit":
        return LeadSourceUnavailable(
            f"Meta is limiting Lead Ads requests ({_code(failure)})",
            "rate_limit",
            failure.wait_hint,
        )
    if failure.kind == "auth":
        return LeadSourceUnavailable(
            f"the Page token cannot read leads ({_code(failure)})",
            "auth",
            hint="give the token leads_retrieval, pages_show_list, pages_read_engagement, "
            "pages_manage_ads and ads_management on the Page (a system-user token does not expire)",
        )
    return LeadSourceUnavailable(f"Meta did not give the leads ({failure.message})", "transient")


def _code(failure: MetaFailure) -> str:
    return f"code {failure.code}" + (f"/{failure.subcode}" if failure.subcode else "")


def load_page_token(lead_ads: LeadAdsConfig, environ: dict[str, str] | None = None) -> str:
    """From lead_ads.access_token_file, the systemd credential meta-page-token, or the variable."""
    return find_token(
        lead_ads.access_token_file,
        "lead_ads.access_token_file",
        "meta-page-token",
        lead_ads.access_token_env or "META_PAGE_TOKEN",
        "the Page token for Lead Ads",
        environ,
        "a system-user or Page token with leads_retrieval, pages_show_list, "
        "pages_read_engagement, pages_manage_ads and ads_management",
    )


class LeadAdsClient:
    def __init__(
        self,
        meta: MetaConfig,
        token: Callable[[], str],
        session: requests.Session | None = None,
    ) -> None:
        self._base = f"{meta.graph_base_url.rstrip('/')}/{meta.api_version}"
        self._timeout = meta.timeout
        self._token = token
        self._session = session or requests.Session()

    def forms(self, page_id: str) -> list[LeadForm]:
        """Every form of the Page, archived ones too (their leads still count)."""
        fields = {"fields": "id,name,status,questions"}
        return [
            LeadForm(
                id_text(item["id"]),
                str(item.get("name", "")),
                str(item.get("status", "")),
                tuple(
                    str(question.get("key", ""))
                    for question in item.get("questions") or ()
                    if isinstance(question, dict)
                ),
            )
            for item in self._pages(f"{page_id}/leadgen_forms", fields)
        ]

    def leads(self, form_id: str, since: int) -> Iterator[FetchedLead]:
        """The form's leads created after `since` (Unix seconds), in the order Meta gives them."""
        filtering = [{"field": "time_created", "operator": "GREATER_THAN", "value": since}]
        params = {"fields": LEAD_FIELDS, "filtering": json.dumps(filtering)}
        for item in self._pages(f"{form_id}/leads", params):
            yield _lead(item, form_id)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            query = {**params, "limit": PAGE_SIZE, **({"after": after} if after else {})}
            body = self._get(path, query)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise LeadSourceUnavailable("Meta answered without data", "transient")
            yield from (item for item in data if isinstance(item, dict))
            paging = body.get("paging") or {}
            after = str((paging.get("cursors") or {}).get("after") or "")
            if not data or not paging.get("next") or not after:
                return  # no next page (its URL is never followed: it holds the token)

    def _get(self, path: str, query: dict[str, Any]) -> Any:
        try:
            response = self._session.get(
                f"{self._base}/{path}",
                params=query,
                headers={"Authorization": f"Bearer {self._token()}"},
                timeout=self._timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            message = f"Meta did not answer ({type(error).__name__})"
            raise LeadSourceUnavailable(message, "transient") from None
        try:
            body = response.json(parse_float=Decimal)  # a float id would be caught, not rounded
        except ValueError:
            body = None
        if response.status_code != 200:
            failure = classify(response.status_code, body)
            failure = MetaFailure(
                failure.kind,
                failure.message,
                failure.code,
                failure.subcode,
                failure.fbtrace_id,
                regain_access_wait(response.headers),
            )
            raise unavailable(failure, f"the form or Page {path.split('/', maxsplit=1)[0]}")
        return body


def id_text(value: object) -> str:
    """An id as Meta sent it, as text: a JSON string stays itself, a JSON integer is written out
    in full. A fractional number cannot be an id (it went through a float somewhere)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LeadSourceUnavailable(
            f"Meta sent an id that is not whole digits ({value!r})", "transient"
        )
    text = str(value).strip()
    if not text.isdigit():
        raise LeadSourceUnavailable(f"Meta sent an id that is not digits ({text!r})", "transient")
    return text


def _lead(item: dict[str, Any], form_id: str) -> FetchedLead:
    answers = tuple(
        (str(field.get("name", "")), tuple(str(value) for value in field.get("values") or ()))
        for field in item.get("field_data") or ()
        if isinstance(field, dict)
    )
    created = datetime.strptime(str(item["created_time"]), "%Y-%m-%dT%H:%M:%S%z")
    return FetchedLead(
        id=id_text(item["id"]),
        created_time=int(created.timestamp()),
        form_id=id_text(item.get("form_id", form_id)),
        answers=answers,
        ad_name=str(item.get("ad_name") or ""),
        campaign_name=str(item.get("campaign_name") or ""),
        is_organic=bool(item.get("is_organic")),
    )
