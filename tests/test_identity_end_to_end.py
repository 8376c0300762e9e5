"""Messy rows through the whole pipeline: exactly the right hashed keys reach Meta."""

from __future__ import annotations

from pathlib import Path

from support import Clock, at, day, job_config, runtime, sheet_rows

from sheetsync.app.figures import job_status
from sheetsync.core.identity import sha256
from sheetsync.emulator import Emulators, GraphFault

NOW = at("2026-11-22T12:00:00")
HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Country",
    "City",
    "State",
    "Zip",
    "Birthday",
    "Gender",
    "Customer ID",
    "Lead ID",
    "Click",
    "Created",
    "Stage",
]
COLUMNS = {
    "first_name": "First Name",
    "last_name": "Last Name",
    "email": "Email",
    "phone": "Phone",
    "country": "Country",
    "city": "City",
    "state": "State",
    "zip": "Zip",
    "date_of_birth": "Birthday",
    "gender": "Gender",
    "external_id": "Customer ID",
    "lead_id": "Lead ID",
    "fbclid": "Click",
    "created_at": "Created",
    "stage": "Stage",
}


def test_messy_rows_reach_meta_as_exactly_the_right_keys(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    created = day(NOW - 7200)
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            [
                "  Zoë-Anne ",
                "O'Brien",
                " Zoe@Example.COM , zoe.work@example.com",
                "020 7946 0958",
                "United Kingdom",
                "London",
                "",
                "SW1A 1AA",
                "16/02/1997",
                "Female",
                "CRM-7",
                "'l:120245117458290",
                "https://shop.example.com/?fbclid=IwAR2xYz_AbC-123&utm=1",
                created,
                "New",
            ],
            [
                "José",
                "Núñez",
                "",
                "(650) 555-1212 ext 4",
                "USA",
                "San José",
                "California",
                "95112-3301",
                "",
                "M",
                "",
                "1202451174582901",
                "",
                created,
                "New",
            ],
            [
                "Ann",
                "",
                "ann@@example.com",
                "555",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "1.2E+15",
                "",
                created,
                "New",
            ],
        ],
    )
    job = job_config(
        columns=COLUMNS, default_country="US", date_order="dmy", stages={"New": "Lead"}
    )
    runtime(emulators, tmp_path, clock, jobs=[job]).run_once()

    events = {e["user_data"].get("fn", ["-"])[0]: e["user_data"] for e in emulators.graph.events()}
    zoe = events[sha256("zoëanne")]
    assert zoe == {
        "lead_id": 120245117458290,
        "fbc": f"fb.1.{int(NOW - 7200) * 1000}.IwAR2xYz_AbC-123",
        "em": [sha256("zoe@example.com"), sha256("zoe.work@example.com")],
        "ph": [sha256("442079460958")],
        "fn": [sha256("zoëanne")],
        "ln": [sha256("obrien")],
        "country": [sha256("gb")],
        "ct": [sha256("london")],
        "zp": [sha256("sw1a1aa")],
        "db": [sha256("19970216")],
        "ge": [sha256("f")],
        "external_id": [sha256("CRM-7")],
    }
    jose = events[sha256("josé")]
    assert "lead_id" not in jose  # rounded by Sheets: never sent
    assert jose["ph"] == [sha256("16505551212")]
    assert jose["st"] == [sha256("ca")]
    assert jose["zp"] == [sha256("95112")]
    assert jose["ct"] == [sha256("sanjosé")]
    assert jose["country"] == [sha256("us")]
    assert len(emulators.graph.events()) == 2  # Ann has nothing Meta can match

    zoe_row, jose_row, ann_row = sheet_rows(emulators)
    assert zoe_row["Sync Status"].endswith(
        "keys: lead_id, fbc, country, ct, db, em, external_id, fn, ge, ln, ph, zp"
    )
    assert (
        "lead id 1.20245E+15 lost digits because Sheets stored it as a number"
        in jose_row["Sync Status"]
    )
    assert "format the Lead ID column as plain text" in jose_row["Sync Status"]
    assert "email is not a valid address (it needs exactly one @)" in ann_row["Sync Status"]
    assert "phone has too few digits (3 digits)" in ann_row["Sync Status"]
    assert "lead id 1.2E+15 lost digits" in ann_row["Sync Status"]  # typed, so stored as a number
    for row in (
        zoe_row,
        jose_row,
        ann_row,
    ):  # problems name the column, never echo the person's data
        assert "@example" not in row["Sync Status"]


def test_fbc_is_byte_identical_across_resends_and_later_stages(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [["Email", "fbclid", "Stage"], ["a@example.com", "IwAR_Case_Sensitive-9", "New"]],
    )
    job = job_config(
        columns={"email": "Email", "fbclid": "fbclid", "stage": "Stage"},
        stages={"New": "Lead", "Qualified": "QualifiedLead"},
    )
    sync = runtime(emulators, tmp_path, clock, jobs=[job])
    emulators.graph.inject(GraphFault(status=503, count=3))  # every in-cycle try fails
    sync.run_once()
    assert emulators.graph.events() == []
    clock.advance(3600)  # Meta is back; the pending event is resent
    sync.run_once()
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 3, "Qualified")
    clock.advance(3600)
    sync.run_once()
    fbcs = [e["user_data"]["fbc"] for e in emulators.graph.events()]
    assert fbcs == [f"fb.1.{int(NOW) * 1000}.IwAR_Case_Sensitive-9"] * 2


def test_a_website_lead_reaches_meta_with_its_browser_keys_untouched(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
    header = [
        "Email",
        "Phone",
        "Click",
        "Created",
        "Stage",
        "Pixel Event",
        "FBP",
        "IP",
        "UA",
        "Page",
        "Deal Value",
    ]
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            header,
            ["'N/A", "'+1 (650) 555-1212 (mobile)",
             "https%3A%2F%2Fshop.example%2Fp%3Ffbclid%3DIwAR2xY-zAbC",
             day(NOW - 600), "Qualified", "'pixel-ev-123", "'fb.1.1700000000000.1234567890",
             "'2001:DB8::1", f"'{agent}", "https://shop.example/p"],
            ["MAILTO:Bad@Example..com", "", "'fb.1.1700000000.IwAR2xYzAbC", day(NOW - 600), "New",
             "", "'not-a-cookie", "'999.1.1.1", "", ""],
        ],
    )  # fmt: skip
    columns = {
        "email": "Email", "phone": "Phone", "fbclid": "Click", "created_at": "Created",
        "stage": "Stage", "event_id": "Pixel Event", "fbp": "FBP", "client_ip_address": "IP",
        "client_user_agent": "UA", "event_source_url": "Page",
    }  # fmt: skip
    job = job_config(columns=columns, first_event_action_source="website")
    sync = runtime(emulators, tmp_path, clock, jobs=[job])
    (report,) = sync.run_once()
    assert report.ok, report.error
    assert sync.store is not None
    shares = job_status(sync.store, sync.config.jobs[0], NOW).match_keys  # what `status` shows
    assert shares == {
        "client_ip_address": 0.667, "client_user_agent": 0.667, "fbc": 1.0, "fbp": 0.667,
        "ph": 0.667,
    }  # fmt: skip

    received = emulators.graph.events()
    assert not emulators.graph.rejected, emulators.graph.rejected
    assert [(e["event_name"], e["event_id"]) for e in received][:1] == [("Lead", "pixel-ev-123")], (
        received
    )
    lead = received[0]
    assert lead["event_id"] == "pixel-ev-123"  # the pixel's id, verbatim: Meta deduplicates
    assert lead["action_source"] == "website"
    assert lead["event_source_url"] == "https://shop.example/p"
    assert lead["user_data"] == {
        "fbc": f"fb.1.{(int(NOW) - 600) * 1000}.IwAR2xY-zAbC",
        "ph": [sha256("16505551212")],
        "fbp": "fb.1.1700000000000.1234567890",
        "client_ip_address": "2001:db8::1",
        "client_user_agent": agent,
    }
    (qualified,) = [e for e in emulators.graph.events() if e["event_name"] == "QualifiedLead"]
    assert qualified["action_source"] == "system_generated"  # later stages are CRM events
    assert "event_source_url" not in qualified and qualified["event_id"] != "pixel-ev-123"
    assert qualified["user_data"]["client_user_agent"] == agent

    (second,) = [e for e in emulators.graph.events() if e["event_name"] == "Lead" and e is not lead]
    assert second["user_data"] == {"fbc": "fb.1.1700000000.IwAR2xYzAbC"}  # seconds: kept as is
    assert second["action_source"] == "system_generated"
    problems = sheet_rows(emulators)[1]["Sync Status"]
    assert "email cannot receive mail (it has two dots in a row" in problems
    assert "fbp 'not-a-cookie' is not an _fbp cookie value" in problems
    assert "client IP '999.1.1.1' is not an IPv4 or IPv6 address" in problems
