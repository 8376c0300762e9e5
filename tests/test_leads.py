"""Rows → leads (core.leads) and where rows stand (core.locate), on literal tables. Pure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetsync.core import config as config_module
from sheetsync.core.config import JobConfig, funnel
from sheetsync.core.decide import decide_rows
from sheetsync.core.errors import MissingColumns
from sheetsync.core.identity import sha256
from sheetsync.core.leads import (
    ColumnMap,
    Lead,
    ReachedStage,
    identity_hash,
    parse_row,
    resolve_columns,
    scan,
    stable_digest,
)
from sheetsync.core.locate import locate_rows
from sheetsync.core.plan import Memory, Plan
from sheetsync.core.table import Layout, Scalar, Table

HEADER = (
    "Name", "Last", "Email", "Phone", "Lead ID", "fbclid", "Created", "Stage", "Deal Value",
    "City", "Country", "Sync Key", "Sync Status", "Sent Events", "Last Sync",
)  # fmt: skip
CREATED = 45_000.5  # a Sheets serial: 2023-03-15 12:00
# Cells a fingerprint may come from, fine and broken (each in any identity column).
IDENTITY_CELLS = [
    "", "N/A", "a@example.com", "A@Example.com ", "not an email", "+1 650 555 1212", "650-555-1212",
    "12", "1234567890123456", "1.23457E+15", "IwAR2xYzAbC", "fb.1.1700000000000.IwAR2xYzAbC",
    "GB", "Germany", "Ann", "a@example.com, b@example.com", "0044 20 7946 0958",
]  # fmt: skip


def job(**overrides: Any) -> JobConfig:
    data: dict[str, Any] = {
        "name": "sales",
        "spreadsheet": "sheet1",
        "dataset_id": "1",
        "default_country": "US",
        "columns": {
            "first_name": "Name",
            "last_name": "Last",
            "email": "Email",
            "phone": "Phone",
            "lead_id": "Lead ID",
            "fbclid": "fbclid",
            "created_at": "Created",
            "stage": "Stage",
            "city": "City",
            "country": "Country",
        },
        "stages": {
            "New": "Lead",
            "Qualified": {"event": "QualifiedLead", "value": 100},
            "Won": {"event": "Purchase", "value_column": "Deal Value"},
        },
        "ignore_stages": ["Lost"],
        **overrides,
    }
    return config_module.parse({"jobs": [data]}).jobs[0]


def table(*rows: list[Scalar], header: tuple[str, ...] = HEADER) -> Table:
    return Table(
        header,
        {
            c: [row[c - 1] if c - 1 < len(row) else "" for row in rows]
            for c in range(1, len(header) + 1)
        },
    )


def row(**cells: Scalar) -> list[Scalar]:
    values: list[Scalar] = [""] * len(HEADER)
    for name, value in cells.items():
        values[HEADER.index(name.replace("_", " "))] = value
    return values


def parsed(*rows: list[Scalar], config: JobConfig | None = None) -> list[Lead | None]:
    config = config or job()
    sheet = table(*rows)
    columns = resolve_columns(Layout.of(sheet.header), config)
    return [
        parse_row(sheet, number, columns, config, funnel(config), timedelta())
        for number in range(2, len(rows) + 2)
    ]


def test_a_full_row() -> None:
    (lead,) = parsed(
        row(
            Name=" Ann ", Last="Lee", Email="Ann@Example.com ", Phone="+1 (650) 555-1212",
            Lead_ID="1234567890123456", fbclid="IwAR2xYzAbC", Created=CREATED, Stage="Won",
            Deal_Value="1,200", City="Paris", Country="France",
            Sync_Key="k1", Sync_Status="old status", Sent_Events="Lead", Last_Sync="then",
        )
    )  # fmt: skip
    assert lead is not None
    assert (lead.row, lead.key, lead.created_at, lead.problems) == (2, "k1", 1678881600, ())
    assert [(s.event, s.label, s.stated_at, s.value) for s in lead.reached] == [
        ("Lead", "New", 1678881600, None),
        ("QualifiedLead", "Qualified", None, 100.0),
        ("Purchase", "Won", None, 1200.0),
    ]
    user_data = dict(lead.user_data)
    assert user_data["em"] == (sha256("ann@example.com"),)
    assert user_data["fn"] == (sha256("ann"),)
    assert user_data["ln"] == (sha256("lee"),)
    assert user_data["ct"] == (sha256("paris"),)
    assert user_data["country"] == (sha256("fr"),)
    assert user_data["ph"] == (sha256("16505551212"),)  # a + number keeps its own country
    assert (lead.lead_id, lead.fbclid, lead.fbc) == (1234567890123456, "IwAR2xYzAbC", None)
    assert (lead.shown_status, lead.shown_events, lead.shown_synced_at) == (
        "old status",
        "Lead",
        "then",
    )
    assert lead.fingerprint == sha256("1234567890123456")[:16]
    assert lead.who is not None
    assert lead.match_key_names() == ["lead_id", "fbc", "country", "ct", "em", "fn", "ln", "ph"]


@pytest.mark.parametrize(
    ("cells", "events", "problems"),
    [
        ({"Stage": "New", "Email": "a@example.com"}, ["Lead"], ()),
        ({"Stage": " qualified ", "Email": "a@example.com"}, ["Lead", "QualifiedLead"], ()),
        ({"Stage": "Lost", "Email": "a@example.com"}, [], ()),
        ({"Stage": "", "Email": "a@example.com"}, [], ()),
        (
            {"Stage": "Qualifed", "Email": "a@example.com"},
            [],
            ("unknown stage 'Qualifed'; known: New, Qualified, Won",),
        ),
        (
            {"Stage": "New", "Email": "a@example.com", "Created": "soon"},
            ["Lead"],
            ("Created 'soon' is not a date",),
        ),
        (
            {"Stage": "Won", "Email": "a@example.com", "Deal_Value": "lots"},
            ["Lead", "QualifiedLead", "Purchase"],
            ("Deal Value 'lots' is not one amount (write just the number, e.g. 1200 or "
             "1,200.50); Purchase sent without a value",),
        ),
        ({"Stage": "New", "Email": "not an email"}, ["Lead"], ("email is not a valid address (it needs exactly one @)",)),
    ],
)  # fmt: skip
def test_rows_and_their_problems(
    cells: dict[str, Scalar], events: list[str], problems: tuple[str, ...]
) -> None:
    (lead,) = parsed(row(**cells))
    assert lead is not None
    assert [stage.event for stage in lead.reached] == events
    assert lead.problems == problems


def test_an_empty_row_is_not_a_lead_and_status_texts_alone_do_not_make_one() -> None:
    assert parsed(row(), row(Sync_Status="✓ sent", Sent_Events="Lead", Sync_Key="k")) == [
        None,
        None,
    ]


def test_stage_columns_mode() -> None:
    config = job(
        columns={"email": "Email", "created_at": "Created"},
        stages={},
        stage_columns={"Stage": "Lead", "Deal Value": "Purchase"},
    )
    (lead, plain, unticked) = parsed(
        row(Email="a@example.com", Stage=True, Deal_Value=CREATED + 1),
        row(Email="b@example.com", Stage="FALSE", Deal_Value="yes"),
        row(Email="c@example.com", Stage=False),
        config=config,
    )
    assert lead is not None and plain is not None and unticked is not None
    assert [(s.event, s.stated_at) for s in lead.reached] == [
        ("Lead", None),
        ("Purchase", 1678881600 + 86400),
    ]
    assert [s.event for s in plain.reached] == ["Lead", "Purchase"]
    assert unticked.reached == ()


def test_missing_and_repeated_columns_are_named() -> None:
    layout = Layout.of(["Name", "Email", "Stage", "stage"])
    with pytest.raises(MissingColumns) as caught:
        resolve_columns(layout.with_columns(["Sync Key", "Sync Status"]), job())
    problems = caught.value.problems
    assert "jobs[sales].columns.phone: no column headed 'Phone' in the sheet" in problems
    assert any("columns C and D are both headed 'Stage'" in p for p in problems)
    assert (
        problems[-1]
        == "the header row has: 'Name', 'Email', 'Stage', 'stage', 'Sync Key', 'Sync Status'"
    )


def columns_of(config: JobConfig | None = None) -> ColumnMap:
    return resolve_columns(Layout.of(HEADER), config or job())


def test_columns_to_read_and_to_locate() -> None:
    columns = columns_of()
    assert columns.to_read() == list(range(1, 16))
    assert columns.to_locate() == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]


def test_scan_parses_only_what_changed() -> None:
    columns = columns_of()
    sheet = table(
        row(Email="a@example.com", Stage="New", Sync_Key="a"),
        row(Email="b@example.com", Stage="New", Sync_Key="b"),
        row(),
        row(Email="c@example.com", Stage="New"),
        row(Email="d@example.com", Stage="New", Sync_Key="d"),
        row(Email="d2@example.com", Stage="New", Sync_Key="d"),
    )
    first = scan(sheet, columns, {}, set())
    assert first.candidates == (2, 3, 5, 6, 7) and first.leads == 5 and first.taken == frozenset()
    assert set(first.hashes) == {"a", "b"}  # repeated and missing keys are always parsed
    again = scan(sheet, columns, first.hashes, {"b"})
    assert again.candidates == (3, 5, 6, 7) and again.taken == frozenset({"a"})
    digests = {key: stable_digest(r) for key, r in (("a", _row(sheet, columns, 2)),)}
    restarted = scan(sheet, columns, {}, set(), stored=digests)
    assert restarted.candidates == (3, 5, 6, 7)
    assert first.candidate_keys == {"a", "b", "d"}  # no new key may take one of them


def _row(sheet: Table, columns: ColumnMap, number: int) -> tuple[Scalar, ...]:
    return tuple(sheet.cell(column, number) for column in columns.to_read())


def test_identity_hash_and_digest() -> None:
    columns = columns_of()
    sheet = table(row(Email="a@example.com"), row(Stage="New"), row(Email="a@example.com"))
    assert identity_hash(sheet, columns, 2) == identity_hash(sheet, columns, 4) is not None
    assert identity_hash(sheet, columns, 3) is None  # nothing identifies the person
    assert stable_digest(("a", 1.0)) == stable_digest(("a", 1.0)) != stable_digest(("a", 1))


def lead_at(number: int, key: str, who: int | None) -> Lead:
    return Lead(number, key, (), None, (), None, None, None, (), who=who)


def test_rows_are_located_by_key_and_new_keys_by_who_they_are() -> None:
    columns = columns_of()
    moved = table(
        row(Email="new@example.com"),
        row(Email="b@example.com", Sync_Key="b"),
        row(Email="x@example.com"),
        row(Email="a@example.com", Sync_Key="a"),
        row(Email="a@example.com", Sync_Key="a"),  # a copy of a
    )
    who = {n: identity_hash(moved, columns, n) for n in range(2, 7)}
    new = lead_at(4, "n1", who[2])  # read at row 4, now at row 2
    copy = lead_at(6, "c1", who[6])
    gone = lead_at(3, "g1", hash("nobody"))
    decided = Plan((), (new, copy, gone), (), (), (), {}, {"c1": "a"})
    rows = locate_rows(
        moved,
        columns,
        decided.new_keys,
        decided.copied_from,
        lambda n: identity_hash(moved, columns, n),
    )
    assert rows == {"b": 3, "a": 5, "n1": 2, "c1": 6}


def test_a_change_planned_in_chunks_is_planned_as_if_whole() -> None:
    """The cycle takes a big change chunk by chunk (to bound memory): keys kept, keys given to
    keyless rows and copies, events and decisions are exactly those of one whole plan."""
    config = job(initial_sync="recent")
    rows = []
    for n in range(23):
        created = "2025-12-03 10:00" if n % 3 else "2025-01-01 10:00"  # recent, or long before
        key = {0: "", 1: f"k{n}", 2: "k4"}[n % 3]  # keyless rows, own keys, copies of k4
        rows.append(row(Email=f"p{n % 7}@example.com", Created=created, Stage="New", Sync_Key=key))
    sheet = table(*rows)
    columns = columns_of(config)
    now = 1_764_930_000  # 2025-12-05: "recent" rows are two days old
    recall = lambda keys: Memory(first_cycle=True)  # noqa: E731
    changed = scan(sheet, columns, {}, set())
    whole = decide_rows(sheet, columns, changed.candidates, changed, recall, config, now).plan
    claimed: set[str] = set()
    chunked: list[Plan] = []
    for start in range(0, len(changed.candidates), 5):
        rows_now = changed.candidates[start : start + 5]
        part = decide_rows(
            sheet, columns, rows_now, changed, recall, config, now, frozenset(claimed)
        )
        claimed |= {lead.key for lead in part.plan.leads}
        chunked.append(part.plan)
    assert [lead.key for lead in whole.leads] == [lead.key for p in chunked for lead in p.leads]
    assert [lead.key for lead in whole.new_keys] == [
        lead.key for p in chunked for lead in p.new_keys
    ]
    assert whole.events == tuple(e for p in chunked for e in p.events)
    assert whole.decisions == tuple(d for p in chunked for d in p.decisions)
    assert dict(whole.copied_from) == {k: v for p in chunked for k, v in p.copied_from.items()}
    assert whole.events and whole.decisions and whole.copied_from  # the case covers all three


@given(st.lists(st.sampled_from(IDENTITY_CELLS), min_size=6, max_size=6))
def test_a_row_seen_first_gets_the_fingerprint_a_full_parse_gives(cells: list[str]) -> None:
    """Rows there before sheetsync are read without their customer information; the key they get
    must be the one a full parse would give (a crash before the key is written gives it again)."""
    email, phone, lead_id, fbclid, country, name = cells
    sheet = table(
        row(Email=email, Phone=phone, Lead_ID=lead_id, fbclid=fbclid, Country=country, Name=name)
    )
    config = job()
    columns = columns_of(config)
    full = parse_row(sheet, 2, columns, config, funnel(config), timedelta())
    first_sight = parse_row(sheet, 2, columns, config, funnel(config), timedelta(), identify=False)
    assert (full is None) == (first_sight is None)
    if full is not None and first_sight is not None:
        assert first_sight.fingerprint == full.fingerprint
        assert (first_sight.lead_id, first_sight.fbc, first_sight.fbclid, first_sight.who) == (
            full.lead_id,
            full.fbc,
            full.fbclid,
            full.who,
        )
        assert set(first_sight.problems) <= set(full.problems)


def test_stage_columns_read_false_as_not_reached() -> None:
    config = job(
        columns={"email": "Email"},
        stages={},
        stage_columns={"Stage": "Lead", "Deal Value": "Purchase"},
    )
    leads = parsed(
        row(Email="a@example.com", Stage="false", Deal_Value=" FALSE "),
        row(Email="b@example.com", Stage="2023-03-15 12:00"),
        config=config,
    )
    assert [lead.reached for lead in leads if lead] == [
        (),
        (ReachedStage("Lead", "Stage", 1678881600, None),),
    ]


def test_who_a_lead_is_comes_from_its_strongest_identifier() -> None:
    by_email, by_click, ready = parsed(
        row(Email="a@example.com", Stage="New"),
        row(Email="a@example.com", fbclid="IwAR2xYzAbC", Stage="New"),
        row(fbclid="fb.1.1700000000000.IwAR2xYzAbC", Stage="New"),
    )
    assert by_email is not None and by_click is not None and ready is not None
    assert by_email.fingerprint == sha256(sha256("a@example.com"))[:16]
    assert by_click.fingerprint == sha256("IwAR2xYzAbC")[:16]
    assert (ready.fbc, ready.fbclid) == ("fb.1.1700000000000.IwAR2xYzAbC", None)
    assert ready.fingerprint == sha256("fb.1.1700000000000.IwAR2xYzAbC")[:16]


def test_a_birthday_in_the_future_is_not_hashed() -> None:
    from datetime import date

    config = job(columns={"email": "Email", "stage": "Stage", "date_of_birth": "City"})
    sheet = table(row(Email="a@example.com", Stage="New", City="2030-01-01"))
    columns = resolve_columns(Layout.of(sheet.header), config)
    lead = parse_row(sheet, 2, columns, config, funnel(config), timedelta(), date(2026, 12, 3))
    assert lead is not None and "db" not in dict(lead.user_data)
    assert lead.problems == ("date of birth '2030-01-01' is in the future; not sent",)


def test_a_new_key_goes_to_its_own_row_or_the_nearest_row_of_the_same_person() -> None:
    columns = columns_of()
    sheet = table(
        row(Email="twin@example.com"),  # 2
        row(Email="other@example.com"),  # 3
        row(Email="twin@example.com"),  # 4
        row(Email="twin@example.com"),  # 5
        row(Email="solo@example.com"),  # 6
    )

    def who(n: int) -> int | None:
        return identity_hash(sheet, columns, n)

    stayed = lead_at(3, "s1", who(3))  # still on its row
    moved = lead_at(6, "m1", who(4))  # read at 6, its person now stands at 2, 4 and 5: nearest 5
    second = lead_at(6, "m2", who(4))  # the same person again: the next nearest free row, 4
    stranger = lead_at(2, "x1", hash("someone else"))  # its row now holds another person
    decided = Plan((), (stayed, moved, second, stranger), (), (), (), {}, {})
    rows = locate_rows(sheet, columns, decided.new_keys, decided.copied_from, who)
    assert rows == {"s1": 3, "m1": 5, "m2": 4}
