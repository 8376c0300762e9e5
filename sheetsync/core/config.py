"""The config's schema: parsed YAML data → validated, frozen config objects.

Every problem is reported at once, each naming its key the way a person
would find it in the file: `jobs[0].stages.Won.value: not a number`.
Unknown keys are errors, so a typo is never silently ignored.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sheetsync.core.errors import ConfigError
from sheetsync.core.text import fold

GOOGLE_SHEETS_URL = "https://sheets.googleapis.com"
META_GRAPH_URL = "https://graph.facebook.com"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SPREADSHEET_URL = re.compile(r"/spreadsheets/d/([a-zA-Z0-9-_]+)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def parse_duration(value: object) -> float:
    """`60s`, `5m`, `1h`, `1500ms` or a plain number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (write e.g. 60s, 5m or 1h)")
        number, unit = float(match.group(1)), match.group(2) or "s"
        seconds = number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if seconds <= 0:
        raise ValueError("must be more than zero")
    return seconds


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GoogleConfig(_Strict):
    credentials_file: Path | None = None
    api_base_url: str = GOOGLE_SHEETS_URL
    anonymous: bool = False
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _anonymous_only_on_loopback(self) -> GoogleConfig:
        if self.anonymous and not is_loopback_url(self.api_base_url):
            raise ValueError(
                "anonymous: true is only allowed with a loopback api_base_url (an emulator)"
            )
        return self


class MetaConfig(_Strict):
    access_token_env: str | None = "META_ACCESS_TOKEN"
    access_token_file: Path | None = None
    api_version: str = "v26.0"
    graph_base_url: str = META_GRAPH_URL
    timeout: float = Field(default=5.0, gt=0)

    @field_validator("api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError(f"must look like v26.0, got {value!r}")
        return value


class StageSpec(_Strict):
    event: str
    value: float | None = None
    value_column: str | None = None


class Columns(_Strict):
    """Sheet header names for each field sheetsync reads (matched case-insensitively)."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    gender: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    external_id: str | None = None
    lead_id: str | None = None
    fbclid: str | None = None
    fbc: str | None = None
    created_at: str | None = None
    stage: str | None = None
    value: str | None = None
    # Keys of website leads, from the browser (sent unhashed, as Meta requires).
    event_id: str | None = None  # the pixel's event id of the first funnel event (deduplication)
    fbp: str | None = None  # the _fbp cookie
    client_ip_address: str | None = None
    client_user_agent: str | None = None
    event_source_url: str | None = None

    def mapped(self) -> dict[str, str]:
        return {field: header for field, header in self.model_dump().items() if header}


class StatusColumns(_Strict):
    key: str = "Sync Key"
    status: str = "Sync Status"
    events: str = "Sent Events"
    synced_at: str = "Last Sync"

    def headers(self) -> list[str]:
        return [self.key, self.status, self.events, self.synced_at]


class LeadAdsColumns(_Strict):
    """Optional headers for where a Lead Ads lead came from."""

    form: str | None = None
    ad: str | None = None
    campaign: str | None = None


class LeadAdsConfig(_Strict):
    """Bring new Lead Ads (instant form) leads of a Facebook Page into the job's worksheet."""

    page_id: str
    forms: Literal["all"] | list[str] = "all"
    access_token_env: str | None = "META_PAGE_TOKEN"
    access_token_file: Path | None = None
    answers: dict[str, str] = Field(default_factory=dict)  # form question key → sheet header
    other_answers: str | None = None  # header for answers with no column: "key: value" lines
    stage: str = "New"
    lookback_days: int = Field(default=90, ge=1, le=90)
    columns: LeadAdsColumns = LeadAdsColumns()

    @field_validator("page_id", mode="before")
    @classmethod
    def _page_digits(cls, value: object) -> str:
        text = str(value).strip()
        if not text.isdigit():
            raise ValueError(f"must be the Facebook Page's id, digits only; got {text!r}")
        return text

    @field_validator("forms", mode="before")
    @classmethod
    def _form_ids(cls, value: object) -> object:
        if isinstance(value, list):
            texts = [str(item).strip() for item in value]
            if not texts or not all(text.isdigit() for text in texts):
                raise ValueError("must be `all` or a list of form ids (digits)")
            return texts
        return value

    def headers(self) -> list[str]:
        """Headers the intake writes besides the job's own columns (added if the sheet lacks them)."""
        named = [*self.answers.values(), self.other_answers, *self.columns.model_dump().values()]
        return list(dict.fromkeys(header for header in named if header))


class JobConfig(_Strict):
    name: str = Field(min_length=1)
    spreadsheet: str
    worksheet: str = "Leads"
    dataset_id: str
    poll_interval: float = 60.0
    lead_event_source: str = "Google Sheets"
    default_country: str | None = None
    currency: str = "USD"
    test_event_code: str | None = None
    columns: Columns = Columns()
    stages: dict[str, str | StageSpec] = Field(default_factory=dict)
    stage_columns: dict[str, str] = Field(default_factory=dict)
    ignore_stages: list[str] = Field(default_factory=list)
    initial_sync: Literal["recent", "all", "none"] = "recent"
    status_columns: StatusColumns = StatusColumns()
    key_column: str | None = None
    date_order: Literal["mdy", "dmy"] = "mdy"
    summary_worksheet: str | None = None
    # "website" for leads from a site form, to match the pixel's first event; later stages stay
    # system_generated (Conversion Leads).
    first_event_action_source: Literal["system_generated", "website"] = "system_generated"
    lead_ads: LeadAdsConfig | None = None

    @field_validator("poll_interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> float:
        seconds = parse_duration(value)
        if seconds < 1:
            raise ValueError("must be at least 1s")
        return seconds

    @field_validator("spreadsheet")
    @classmethod
    def _spreadsheet_id(cls, value: str) -> str:
        match = _SPREADSHEET_URL.search(value)
        if match:
            return match.group(1)
        if not re.fullmatch(r"[A-Za-z0-9-_]+", value):
            raise ValueError("must be the sheet's URL or its id (the part after /d/ in the URL)")
        return value

    @field_validator("dataset_id", mode="before")
    @classmethod
    def _dataset_digits(cls, value: object) -> str:
        text = str(value).strip()
        if not text.isdigit():
            raise ValueError(f"must be the dataset (pixel) id, digits only; got {text!r}")
        return text

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError("must be a 2-letter country code such as US or GB")
        return value.upper() if value else value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError("must be a 3-letter ISO 4217 code such as USD or EUR")
        return value.upper()

    @model_validator(mode="after")
    def _stages_defined(self) -> JobConfig:
        if bool(self.columns.stage) == bool(self.stage_columns):
            raise ValueError("set either columns.stage with stages, or stage_columns (exactly one)")
        if self.columns.stage and not self.stages:
            raise ValueError("stages: at least one stage is needed when columns.stage is set")
        if self.lead_ads is not None:
            self._lead_ads_fit(self.lead_ads)
        return self

    def _lead_ads_fit(self, lead_ads: LeadAdsConfig) -> None:
        """A new lead's row needs somewhere to put its id, its time and its stage."""
        needed = {"lead_id": "its lead id", "created_at": "its created time", "stage": "its stage"}
        missing = [
            f"columns.{name} ({why})"
            for name, why in needed.items()
            if not getattr(self.columns, name)
        ]
        if missing:
            raise ValueError("lead_ads needs " + ", ".join(missing) + " to write new leads into")
        if fold(lead_ads.stage) not in {fold(label) for label in self.stages}:
            known = ", ".join(self.stages)
            raise ValueError(
                f"lead_ads.stage {lead_ads.stage!r} is not one of the stages ({known})"
            )


def default_state_path() -> Path:
    """Under systemd's StateDirectory= when set, else the working directory."""
    base = os.environ.get("STATE_DIRECTORY")
    return Path(base.split(":")[0]) / "sheetsync-state.db" if base else Path("sheetsync-state.db")


class Config(_Strict):
    state_path: Path = Field(default_factory=default_state_path)
    # A PostgreSQL state shared by several instances, instead of state_path. The password comes
    # from libpq's usual places (PGPASSWORD, ~/.pgpass, a service file), never from the YAML.
    state_url: str | None = None
    instance: str | None = None  # this instance's name in status, logs and metrics (host:pid)
    lease_seconds: float = Field(default=60.0, ge=5, le=3600)
    google: GoogleConfig = GoogleConfig()
    meta: MetaConfig = MetaConfig()
    jobs: list[JobConfig] = Field(min_length=1)
    log_format: Literal["text", "json"] = "text"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("state_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (or leave it out to keep state_path)")
        if parts.password:
            raise ValueError(
                "must not hold the password: put it in PGPASSWORD, ~/.pgpass or a service file"
            )
        return value

    @property
    def send_margin(self) -> float:
        """The lease time a batch to Meta needs: a request and one retry, each up to the timeout."""
        return 2 * self.meta.timeout + 1

    @model_validator(mode="after")
    def _lease_outlasts_sends(self) -> Config:
        if self.state_url and self.lease_seconds < 2 * self.send_margin:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds:g}) must be at least twice what a send to "
                f"Meta may take ({self.send_margin:g} s with meta.timeout {self.meta.timeout:g})"
            )
        return self

    @model_validator(mode="after")
    def _unique_job_names(self) -> Config:
        names = [job.name for job in self.jobs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"job names must be unique; repeated: {', '.join(duplicates)}")
        return self


@dataclass(frozen=True)
class Stage:
    """One step of a job's funnel, in order."""

    label: str  # the sheet's label (stage column mode: the column header)
    event: str  # Meta event name
    value: float | None
    value_column: str | None


def funnel(job: JobConfig) -> list[Stage]:
    """The job's stages in funnel order, from either `stages` or `stage_columns`."""
    if job.stage_columns:
        return [Stage(header, event, None, None) for header, event in job.stage_columns.items()]
    stages = []
    for label, spec in job.stages.items():
        if isinstance(spec, str):
            stages.append(Stage(label, spec, None, None))
        else:
            stages.append(Stage(label, spec.event, spec.value, spec.value_column))
    return stages


def parse(data: Any, source: str = "config", base_dir: Path | None = None) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(["the file must hold a mapping with at least a jobs: list"], source)
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError([_describe(item) for item in _relevant(error.errors())], source) from None
    return _resolve_paths(config, base_dir) if base_dir is not None else config


def _resolve_paths(config: Config, base_dir: Path) -> Config:
    """Relative paths in the file are relative to the file, not to the working directory."""

    def resolve(path: Path | None) -> Path | None:
        return path if path is None or path.is_absolute() else base_dir / path

    google = config.google.model_copy(
        update={"credentials_file": resolve(config.google.credentials_file)}
    )
    meta = config.meta.model_copy(
        update={"access_token_file": resolve(config.meta.access_token_file)}
    )
    state_path = config.state_path
    if "state_path" in config.model_fields_set:
        state_path = resolve(state_path) or state_path
    return config.model_copy(update={"google": google, "meta": meta, "state_path": state_path})


def _relevant(items: list[Any]) -> list[Any]:
    """Drop the 'not a string' half of `stage: Name | {event: …}` when the mapping half explains more."""
    return [
        item
        for item in items
        if not (
            bool(item["loc"])
            and _is_branch(item["loc"][-1])
            and item["type"] == "string_type"
            and any(
                "StageSpec" in other["loc"] and other["loc"][:-1] != item["loc"][:-1]
                for other in items
                if other is not item
            )
        )
    ]


_PYDANTIC_BRANCHES = ("constrained-", "function-", "lax-", "json-or-python", "literal[")


def _is_branch(part: object) -> bool:
    """A name pydantic gives a branch of a union (`str`, `constrained-str`, …), not a key."""
    return isinstance(part, str) and (
        part in ("str", "int", "float") or part.startswith(_PYDANTIC_BRANCHES)
    )


def _describe(item: Any) -> str:
    path = ""
    for part in item["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "StageSpec" or _is_branch(part):
            continue  # union branch names pydantic adds; not keys a person wrote
        else:
            path += f".{part}" if path else str(part)
    message = item["msg"].removeprefix("Value error, ")
    kind = item["type"]
    if kind == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif kind == "missing":
        message = "required"
    elif kind in ("float_parsing", "float_type"):
        message = "not a number"
    elif kind == "model_type" and "StageSpec" in item["loc"]:
        message = (
            "must be a Meta event name, or a mapping with event: (and value: or value_column:)"
        )
    return f"{path}: {message}" if path else message
