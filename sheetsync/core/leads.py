"""Rows → `Lead` records, through the job's column mapping. Pure.

A bad cell becomes a problem on its lead, never an exception. Customer
information is normalised and hashed here, so nothing downstream (plan,
state, logs) ever holds a raw email or phone.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import zip_longest
from operator import itemgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sheetsync.core import identity
from sheetsync.core.config import JobConfig, Stage, funnel
from sheetsync.core.errors import MissingColumns
from sheetsync.core.money import parse_amount
from sheetsync.core.table import Layout, Scalar, Table, column_letter
from sheetsync.core.text import cell_text, fold, quoted

# user_data fields Meta wants hashed, and the column each one comes from.
HASHED_FIELDS = {
    "em": "email",
    "ph": "phone",
    "fn": "first_name",
    "ln": "last_name",
    "db": "date_of_birth",
    "ge": "gender",
    "ct": "city",
    "st": "state",
    "zp": "zip",
    "country": "country",
    "external_id": "external_id",
}


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each configured field stands in the sheet, by 1-based column."""

    fields: Mapping[str, int]  # "email" → 3
    stage_columns: Mapping[str, int]  # stage-column header → column (stage_columns mode)
    value_columns: Mapping[str, int]  # value_column header → column
    key: int
    status: int
    events: int
    synced_at: int
    # Worked out once, as every row of a first cycle asks for them:
    read_columns: tuple[int, ...] = field(init=False)  # the columns a cycle reads, in order
    identity_columns: tuple[int, ...] = field(init=False)  # the identity cells' columns

    def __post_init__(self) -> None:
        wanted = {
            *self.fields.values(),
            *self.stage_columns.values(),
            *self.value_columns.values(),
            self.key,
            self.status,
            self.events,
            self.synced_at,
        }
        identity = tuple(self.fields[name] for name in IDENTITY_FIELDS if name in self.fields)
        object.__setattr__(self, "read_columns", tuple(sorted(wanted)))
        object.__setattr__(self, "identity_columns", identity)

    def to_read(self) -> list[int]:
        return list(self.read_columns)

    def to_locate(self) -> list[int]:
        """The key column and the data columns: enough to find a row again (not the status texts)."""
        return sorted({self.key, *self.fields.values(), *self.stage_columns.values()})


@dataclass(frozen=True, slots=True)
class ReachedStage:
    event: str
    label: str
    stated_at: int | None  # the time the sheet gives for it, if any (Unix seconds)
    value: float | None


@dataclass(frozen=True, slots=True)
class Lead:
    row: int
    key: str  # "" until sheetsync gives the row one
    reached: tuple[ReachedStage, ...]
    created_at: int | None
    user_data: tuple[tuple[str, tuple[str, ...]], ...]  # hashed, sorted by field name
    lead_id: int | None
    fbc: str | None
    fbclid: str | None
    problems: tuple[str, ...]
    shown_status: str = ""
    shown_events: str = ""
    shown_synced_at: str = ""
    fingerprint: str = ""  # identifies the person for a stable new key (hash of the strongest id)
    web: identity.WebKeys = identity.NO_WEB_KEYS  # a website lead's browser keys
    who: int | None = (
        None  # hash of the raw identity cells, to find the row again (None: all blank)
    )

    def match_key_names(self) -> list[str]:
        names = ["lead_id"] if self.lead_id else []
        names += ["fbc"] if self.fbc or self.fbclid else []
        names += [name for name, values in self.user_data if values]
        return names + list(self.web.user_data())


def resolve_columns(layout: Layout, job: JobConfig) -> ColumnMap:
    """Find every configured header; raise MissingColumns naming each that is absent."""
    problems: list[str] = []
    found_headers = ", ".join(f"'{name}'" for name in layout.names) or "none"

    def find(header: str, where: str) -> int:
        positions = layout.positions_of(header)
        if not positions:
            problems.append(f"{where}: no column headed '{header}' in the sheet")
            return 0
        if len(positions) > 1:
            letters = " and ".join(column_letter(p) for p in positions)
            problems.append(
                f"{where}: columns {letters} are both headed '{header}'; rename one "
                "(sheetsync cannot tell which is meant)"
            )
        return positions[0]

    fields = {
        name: find(header, f"jobs[{job.name}].columns.{name}")
        for name, header in job.columns.mapped().items()
    }
    stage_columns = {
        header: find(header, f"jobs[{job.name}].stage_columns") for header in job.stage_columns
    }
    value_columns = {
        stage.value_column: find(stage.value_column, f"jobs[{job.name}].stages.{stage.label}")
        for stage in funnel(job)
        if stage.value_column
    }
    key_header = job.key_column or job.status_columns.key
    status = job.status_columns
    column_map = ColumnMap(
        fields,
        stage_columns,
        value_columns,
        find(key_header, "key column"),
        find(status.status, "status"),
        find(status.events, "status"),
        find(status.synced_at, "status"),
    )
    if problems:
        raise MissingColumns([*dict.fromkeys(problems), f"the header row has: {found_headers}"])
    return column_map


def utc_offset(time_zone: str, at: datetime) -> timedelta:
    """The sheet's offset from UTC, for dates typed without a zone."""
    try:
        return ZoneInfo(time_zone).utcoffset(at) or timedelta()
    except (ZoneInfoNotFoundError, ValueError):
        return timedelta()


IDENTITY_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "city",
    "state",
    "zip",
    "country",
    "external_id",
    "lead_id",
    "fbc",
    "fbclid",
)


WEB_FIELDS = ("event_id", "fbp", "client_ip_address", "client_user_agent", "event_source_url")


@dataclass(frozen=True, slots=True)
class Identity:
    """Everything a row says about who the lead is: normalised, hashed, checked."""

    user_data: tuple[tuple[str, tuple[str, ...]], ...]
    lead_id: int | None
    fbc: str | None
    fbclid: str | None
    fingerprint: str
    problems: tuple[str, ...]


def _cell(table: Table, columns: ColumnMap, name: str, row: int) -> Scalar:
    column = columns.fields.get(name)
    return table.cell(column, row) if column else ""


def _blank(value: Scalar) -> bool:
    return value == "" or value is None


def parse_row(
    table: Table,
    row: int,
    columns: ColumnMap,
    job: JobConfig,
    stages: list[Stage],
    offset: timedelta,
    today: date | None = None,
    *,
    identify: bool = True,
) -> Lead | None:
    """One row → a lead. `identify=False` reads only what a row seen for the first time and kept
    as baseline needs — its stages, dates, lead and click ids and the fingerprint its new key is
    made from — and leaves out the customer information, whose phone numbers cost most of a
    parse: adopting a 100,000-row sheet is mostly such rows (`plan.baseline_at_first_sight`)."""
    data_columns = [*columns.fields.values(), *columns.stage_columns.values()]
    if all(_blank(table.cell(column, row)) for column in data_columns):
        return None  # an empty row is not a lead
    problems: list[str] = []
    created_cell = _cell(table, columns, "created_at", row)
    created_at = identity.parse_moment(created_cell, job.date_order, offset)
    if not _blank(created_cell) and created_at is None:
        problems.append(f"{job.columns.created_at} {quoted(created_cell)} is not a date")
    reached = _reached_stages(table, row, columns, job, stages, created_at, offset, problems)
    cells = {name: _cell(table, columns, name, row) for name in IDENTITY_FIELDS}
    who = parse_identity(cells, job, today) if identify else identify_at_first_sight(cells, job)
    web = (
        identity.web_keys_from_cells(
            {name: _cell(table, columns, name, row) for name in WEB_FIELDS}
        )
        if identify
        else identity.NO_WEB_KEYS
    )
    return Lead(
        row=row,
        key=key_text(table.cell(columns.key, row)),
        reached=reached,
        created_at=created_at,
        user_data=who.user_data,
        lead_id=who.lead_id,
        fbc=who.fbc,
        fbclid=who.fbclid,
        problems=tuple(dict.fromkeys([*problems, *who.problems, *web.problems])),
        shown_status=str(table.cell(columns.status, row)),
        shown_events=str(table.cell(columns.events, row)),
        shown_synced_at=str(table.cell(columns.synced_at, row)),
        fingerprint=who.fingerprint,
        who=identity_hash(table, columns, row),
        web=web,
    )


def unreadable_columns(table: Table, row: int, columns: ColumnMap) -> list[str]:
    """Headers of the row's cells whose text is not valid Unicode (a lone surrogate, which JSON
    can carry but nothing can hash or print): the row cannot be read until they are retyped."""
    broken = []
    for column in columns.read_columns:
        value = table.cell(column, row)
        if isinstance(value, str) and not value.isascii() and not _encodable(value):
            broken.append(table.header[column - 1] if column <= len(table.header) else str(column))
    return broken


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unreadable_row(table: Table, row: int, columns: ColumnMap, problems: list[str]) -> Lead:
    """A row that could not be parsed: it keeps its key and shows why; nothing is sent for it."""
    return Lead(
        row=row,
        key=row_key(table, columns, row),
        reached=(),
        created_at=None,
        user_data=(),
        lead_id=None,
        fbc=None,
        fbclid=None,
        problems=tuple(problems),
        shown_status=_readable(str(table.cell(columns.status, row))),
        shown_events=_readable(str(table.cell(columns.events, row))),
        shown_synced_at=_readable(str(table.cell(columns.synced_at, row))),
        who=identity_hash(table, columns, row),  # so its new key finds the row again
    )


def _readable(text: str) -> str:
    return text if _encodable(text) else ""


def row_key(table: Table, columns: ColumnMap, row: int) -> str:
    """The key the row's lead will have when parsed ("" when it has none, or none readable)."""
    return _readable(key_text(table.cell(columns.key, row)))


def identity_hash(table: Table, columns: ColumnMap, row: int) -> int | None:
    """The row's identity cells as they stand, hashed (None when all are blank): finding a lead's row
    again this way needs no re-normalising."""
    cells = tuple(table.cell(column, row) for column in columns.identity_columns)
    return None if all(_blank(cell) for cell in cells) else hash(cells)


def parse_identity(
    cells: Mapping[str, Scalar], job: JobConfig, today: date | None = None
) -> Identity:
    problems: list[str] = []
    user_data = _user_data(cells, job, problems, today)
    lead_id, lead_problem = identity.lead_id_from_cell(cells["lead_id"])
    if lead_problem:
        problems.append(lead_problem)
    click = identity.click_id_from_cell(cells["fbc"] or cells["fbclid"])
    problems.extend(click.problems)
    strongest = next(
        (str(value) for value in (lead_id, click.fbclid, click.fbc) if value), ""
    ) or next(
        (values[0] for name, values in user_data if name in FINGERPRINT_FIELDS and values),
        "",
    )
    return Identity(
        user_data, lead_id, click.fbc, click.fbclid, _fingerprint(strongest), tuple(problems)
    )


# The hashed fields a fingerprint falls back on, strongest first (user_data's sorted order).
FINGERPRINT_FIELDS = ("em", "external_id", "ph")


def identify_at_first_sight(cells: Mapping[str, Scalar], job: JobConfig) -> Identity:
    """What `parse_identity` gives for the row's new key and click, without the customer
    information: the same fingerprint, normalising the fallback fields in order and stopping at
    the first one found (most rows have a lead id, a click id or an email: no phone is parsed)."""
    problems: list[str] = []
    lead_id, lead_problem = identity.lead_id_from_cell(cells["lead_id"])
    if lead_problem:
        problems.append(lead_problem)
    click = identity.click_id_from_cell(cells["fbc"] or cells["fbclid"])
    problems.extend(click.problems)
    strongest = next((str(value) for value in (lead_id, click.fbclid, click.fbc) if value), "")
    for name in FINGERPRINT_FIELDS if not strongest else ():
        country = _row_country(cells) if name == "ph" else None
        values = _normalise_field(name, cells, job, None, country).values
        if values:
            strongest = identity.hashed(values[0])
            break
    return Identity((), lead_id, click.fbc, click.fbclid, _fingerprint(strongest), tuple(problems))


def _fingerprint(strongest: str) -> str:
    return hashlib.sha256(strongest.encode()).hexdigest()[:16] if strongest else ""


def key_text(value: Scalar) -> str:
    return cell_text(value)


def _user_data(
    cells: Mapping[str, Scalar], job: JobConfig, problems: list[str], today: date | None
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    user_data = []
    country = _row_country(cells)
    for name in sorted(HASHED_FIELDS):
        result = _normalise_field(name, cells, job, today, country)
        problems.extend(result.problems)
        if result.values:
            user_data.append((name, tuple(identity.hashed(value) for value in result.values)))
    return tuple(user_data)


def _row_country(cells: Mapping[str, Scalar]) -> str | None:
    """The row's own country code, which decides how its phone, state and zip read."""
    country = identity.normalise_country(cells["country"]).values
    return country[0].upper() if country and len(country[0]) == 2 else None


def _normalise_field(
    name: str,
    cells: Mapping[str, Scalar],
    job: JobConfig,
    today: date | None,
    row_country: str | None,
) -> identity.Normalised:
    """One user_data field from its cell (`name` is Meta's: em, ph, …)."""
    cell = cells[HASHED_FIELDS[name]]
    if name == "em":
        return identity.normalise_email(cell)
    if name == "external_id":
        return identity.normalise_external_id(cell)
    if name in ("fn", "ln"):
        return identity.normalise_name(cell)
    if name == "db":
        return identity.normalise_date_of_birth(cell, job.date_order, today)
    if name == "ge":
        return identity.normalise_gender(cell)
    if name == "ct":
        return identity.normalise_city(cell)
    if name == "country":
        return identity.normalise_country(cell)
    if name == "ph":
        return identity.normalise_phone(cell, job.default_country, row_country)
    if name == "st":
        return identity.normalise_state(cell, row_country or job.default_country)
    return identity.normalise_zip(cell, row_country or job.default_country)


def _reached_stages(
    table: Table,
    row: int,
    columns: ColumnMap,
    job: JobConfig,
    stages: list[Stage],
    created_at: int | None,
    offset: timedelta,
    problems: list[str],
) -> tuple[ReachedStage, ...]:
    """The funnel stages this row has reached: every stage up to the furthest one."""
    stated: dict[int, int | None] = {}
    if job.stage_columns:
        for index, stage in enumerate(stages):
            value = table.cell(columns.stage_columns[stage.label], row)
            if _blank(value) or value is False or str(value).strip().upper() == "FALSE":
                continue
            stated[index] = (
                None if value is True else identity.parse_moment(value, job.date_order, offset)
            )
        furthest = max(stated, default=-1)
    else:
        label = table.cell(columns.fields["stage"], row)
        furthest = _stage_index(str(label), stages, job, problems)
    if stages and furthest >= 0 and created_at is not None:
        stated[0] = stated.get(0) or created_at
    return tuple(
        ReachedStage(
            stage.event,
            stage.label,
            stated.get(index),
            _stage_value(table, row, columns, job, stage, problems),
        )
        for index, stage in enumerate(stages[: furthest + 1])
    )


@functools.lru_cache(maxsize=256)
def _folded_label(label: str) -> str:
    """A configured stage label, folded once rather than once per row."""
    return fold(label)


def _stage_index(label: str, stages: list[Stage], job: JobConfig, problems: list[str]) -> int:
    wanted = fold(label)
    if not wanted:
        return -1
    for index, stage in enumerate(stages):
        if _folded_label(stage.label) == wanted:
            return index
    if wanted in {fold(ignored) for ignored in job.ignore_stages}:
        return -1
    known = ", ".join(stage.label for stage in stages)
    problems.append(f"unknown stage {quoted(label)}; known: {known}")
    return -1


def _stage_value(
    table: Table, row: int, columns: ColumnMap, job: JobConfig, stage: Stage, problems: list[str]
) -> float | None:
    if stage.value is not None:
        return stage.value
    header = stage.value_column or job.columns.value
    if not header:
        return None
    column = (
        columns.value_columns.get(header) if stage.value_column else columns.fields.get("value")
    )
    value = table.cell(column, row) if column else ""
    if _blank(value):
        return None
    amount, why = parse_amount(value)
    if why:
        problems.append(f"{header} {quoted(value)} {why}; {stage.event} sent without a value")
    return amount


@dataclass(frozen=True, slots=True)
class Scan:
    """Which rows need parsing this cycle: new, changed, duplicated or waiting on Meta."""

    candidates: tuple[int, ...]  # sheet row numbers to parse
    taken: frozenset[str]  # keys standing on rows that are not parsed this cycle
    hashes: dict[str, int]  # key → what its row held, for every keyed row settled this cycle
    leads: int  # non-empty rows
    candidate_keys: frozenset[str] = frozenset()  # the keys standing on the rows to parse


def scan(
    table: Table,
    columns: ColumnMap,
    previous: Mapping[str, int],
    must_parse: set[str],
    stored: Mapping[str, int] | None = None,
) -> Scan:
    """Compare each row with what it held after the last complete cycle, by a hash of its cells.

    `previous` holds this process's fast hashes; on a process's first cycle `stored` holds the
    stable digests kept in the state file instead, so a restart does not re-read every row.

    Cheap on a big sheet: rows are built at C speed with zip, and only changed rows are parsed.
    Every occurrence of a repeated key is parsed, so a copied row is told from its original.
    """
    read = columns.to_read()
    padded = [table.columns.get(column, ()) for column in read]  # uneven: zip_longest pads with ""
    data = itemgetter(
        *[read.index(c) for c in (*columns.fields.values(), *columns.stage_columns.values())], 0
    )
    keys = [
        value.strip() if value.__class__ is str else key_text(value)
        for value in padded[read.index(columns.key)]
    ]
    keys.extend([""] * (table.data_rows - len(keys)))
    repeated = {key for key, count in Counter(keys).items() if key and count > 1}
    candidates: list[int] = []
    taken: set[str] = set()
    hashes: dict[str, int] = {}
    leads = 0
    for offset, (row, key) in enumerate(zip(zip_longest(*padded, fillvalue=""), keys, strict=True)):
        if not any(data(row)):
            continue  # an empty row is not a lead
        leads += 1
        fingerprint = hash(row)
        if key and key not in repeated:
            hashes[key] = fingerprint
            unchanged = (
                previous.get(key) == fingerprint
                if stored is None
                else stored.get(key) == stable_digest(row)
            )
            if unchanged and key not in must_parse:
                taken.add(key)
                continue
        candidates.append(offset + 2)
    candidate_keys = frozenset(keys[row - 2] for row in candidates) - {""}
    return Scan(tuple(candidates), frozenset(taken), hashes, leads, candidate_keys)


def expected_row(
    table: Table, columns: ColumnMap, row: int, written: Mapping[int, str]
) -> tuple[Scalar, ...]:
    """The row as `scan` will read it once `written` (column → text) has landed in the sheet."""
    return tuple(written.get(column, table.cell(column, row)) for column in columns.read_columns)


def stable_digest(row: tuple[Scalar, ...]) -> int:
    """A row's digest that survives a restart (Python's hash() is salted per process)."""
    return int.from_bytes(
        hashlib.blake2b(repr(row).encode(), digest_size=8).digest(), "big", signed=True
    )
