"""The Sheets emulator, driven through gspread itself over HTTP."""

from __future__ import annotations

from pathlib import Path

import gspread
import pytest
import requests
from gspread.utils import ValueInputOption, ValueRenderOption

from sheetsync.adapters.sheet import connect
from sheetsync.core.config import GoogleConfig
from sheetsync.emulator import Emulators, Fault
from sheetsync.emulator.sheets import SheetsEmulator

ROWS = [
    ["Name", "Email", "Lead ID", "Value", "Created", "Won"],
    ["Ann", "ann@example.com", "1234567890123456", "1200.5", "2026-11-20", "TRUE"],
    ["Bob", "bob@example.com", "'1234567890123456", "", "11/21/2026", "FALSE"],
]


@pytest.fixture
def book(emulators: Emulators, gspread_client: gspread.Client) -> gspread.Spreadsheet:
    emulators.sheets.seed("book1", "Leads", ROWS)
    return gspread_client.open_by_key("book1")


def test_metadata_and_worksheet_lookup(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    assert sheet.row_count == 1000
    assert sheet.col_count == 26
    assert book.locale == "en_US"


def test_formatted_values_show_what_a_person_sees(book: gspread.Spreadsheet) -> None:
    values = book.worksheet("Leads").get_all_values()
    assert values[1] == ["Ann", "ann@example.com", "1.23457E+15", "1200.5", "2026-11-20", "TRUE"]
    assert values[2] == ["Bob", "bob@example.com", "1234567890123456", "", "11/21/2026", "FALSE"]


def test_unformatted_values_keep_types_and_sheets_precision(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    row = sheet.get("A2:F2", value_render_option=ValueRenderOption.unformatted)[0]
    # a 16-digit number keeps 15 significant digits, exactly as Sheets does
    assert row[2] == 1234567890123450
    assert row[3] == 1200.5
    assert row[4] == 46346  # 2026-11-20 as a serial day number
    assert row[5] is True


def test_dates_as_formatted_strings_when_asked(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    row = sheet.get(
        "E2:E3",
        value_render_option=ValueRenderOption.unformatted,
        date_time_render_option="FORMATTED_STRING",
    )
    assert row == [["2026-11-20"], ["11/21/2026"]]


def test_trailing_blanks_are_trimmed_and_empty_range_has_no_values(
    emulators: Emulators, gspread_client: gspread.Client
) -> None:
    emulators.sheets.seed("trim", "Leads", [["a", "", ""], ["", "", ""], ["b"], [], []])
    client = gspread_client.http_client
    response = client.values_get("trim", "'Leads'!A1:C10")
    assert response["values"] == [["a"], [], ["b"]]
    assert response["range"] == "Leads!A1:C10"
    assert response["majorDimension"] == "ROWS"
    empty = client.values_get("trim", "'Leads'!D1:D5")
    assert "values" not in empty
    assert empty["range"] == "Leads!D1:D5"


@pytest.mark.parametrize(
    ("title", "sent", "returned"),
    [
        ("Leads", "A2:C", "Leads!A2:C1000"),
        ("Leads", "A:A", "Leads!A1:A1000"),
        ("Leads", "2:2", "Leads!A2:Z2"),
        ("My Leads", "B1:B3", "'My Leads'!B1:B3"),
        ("Q4/2026 leads", "A1", "'Q4/2026 leads'!A1"),
        ("Bob's sheet", "A1:B2", "'Bob''s sheet'!A1:B2"),
    ],
)
def test_a1_ranges_as_gspread_sends_them(
    emulators: Emulators, gspread_client: gspread.Client, title: str, sent: str, returned: str
) -> None:
    emulators.sheets.seed("titles", title, [["x", "y"]])
    sheet = gspread_client.open_by_key("titles").worksheet(title)
    response = gspread_client.http_client.values_get(
        "titles", gspread.utils.absolute_range_name(title, sent)
    )
    assert response["range"] == returned
    assert sheet.acell("A1").value == "x"


def test_columns_past_z(emulators: Emulators, gspread_client: gspread.Client) -> None:
    emulators.sheets.seed("wide", "Leads", [["h"] * 800], rows=10, columns=18278)
    sheet = gspread_client.open_by_key("wide").worksheet("Leads")
    sheet.update([["far"]], "ZZZ3", value_input_option=ValueInputOption.raw)
    sheet.update([["aa"]], "AA2", value_input_option=ValueInputOption.raw)
    assert sheet.acell("ZZZ3").value == "far"
    assert sheet.acell("AA2").value == "aa"
    assert emulators.sheets.worksheet("wide", "Leads").get(3, 18278) == "far"


def test_batch_get_and_batch_update(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    got = sheet.batch_get(["A1:B1", "D2:D3"])
    assert [list(r) for r in got] == [[["Name", "Email"]], [["1200.5"]]]
    sheet.batch_update(
        [{"range": "G1:H1", "values": [["Status", "=1+1"]]}, {"range": "G2", "values": [["ok"]]}],
        value_input_option=ValueInputOption.raw,
    )
    assert sheet.get("G1:H2") == [["Status", "=1+1"], ["ok"]]


def test_null_skips_a_cell_and_empty_string_clears_it(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    book.values_batch_update(
        {
            "valueInputOption": "RAW",
            "data": [{"range": "'Leads'!A2:C2", "values": [[None, "", "kept"]]}],
        }
    )
    assert sheet.get("A2:C2") == [["Ann", "", "kept"]]


def test_user_entered_parses_like_a_person_typed(
    book: gspread.Spreadsheet, emulators: Emulators
) -> None:
    sheet = book.worksheet("Leads")
    sheet.update(
        [["42", "TRUE", "'007"]], "A5:C5", value_input_option=ValueInputOption.user_entered
    )
    stored = emulators.sheets.worksheet("book1", "Leads")
    assert stored.get(5, 1) == 42.0
    assert stored.get(5, 2) is True
    assert stored.get(5, 3) == "007"


def test_raw_input_keeps_text(book: gspread.Spreadsheet, emulators: Emulators) -> None:
    book.worksheet("Leads").update(
        [["42", "TRUE"]], "A6:B6", value_input_option=ValueInputOption.raw
    )
    stored = emulators.sheets.worksheet("book1", "Leads")
    assert stored.get(6, 1) == "42"
    assert stored.get(6, 2) == "TRUE"


def test_write_past_grid_fails_like_google(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    with pytest.raises(gspread.exceptions.APIError) as caught:
        sheet.update([["x"]], "AA1", value_input_option=ValueInputOption.raw)
    assert caught.value.code == 400
    assert "exceeds grid limits" in caught.value.error["message"]
    assert caught.value.error["status"] == "INVALID_ARGUMENT"


def test_grid_grows_with_update_sheet_properties(book: gspread.Spreadsheet) -> None:
    sheet = book.worksheet("Leads")
    sheet.resize(cols=30)
    sheet.update([["x"]], "AD1", value_input_option=ValueInputOption.raw)
    assert book.worksheet("Leads").col_count == 30


def test_ten_million_cell_limit(book: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError, match="above the limit of 10000000 cells"):
        book.worksheet("Leads").resize(rows=400_000, cols=26)


def test_unknown_spreadsheet_is_not_found(gspread_client: gspread.Client) -> None:
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gspread_client.open_by_key("missing")


def test_unknown_worksheet_is_a_parse_error(book: gspread.Spreadsheet) -> None:
    with pytest.raises(gspread.exceptions.APIError, match="Unable to parse range"):
        book.values_get("'Nope'!A1:B2")


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (403, "PERMISSION_DENIED"),
        (429, "RESOURCE_EXHAUSTED"),
        (503, "UNAVAILABLE"),
        (500, "INTERNAL"),
    ],
)
def test_injected_faults_have_googles_shape(
    book: gspread.Spreadsheet, emulators: Emulators, status: int, name: str
) -> None:
    emulators.sheets.inject(Fault("read", status=status))
    with pytest.raises(gspread.exceptions.APIError) as caught:
        book.values_get("'Leads'!A1")
    assert caught.value.code == status
    assert caught.value.error["status"] == name
    assert book.values_get("'Leads'!A1")["values"] == [["Name"]]  # only the next one failed


def test_permission_denied_on_open(emulators: Emulators, gspread_client: gspread.Client) -> None:
    emulators.sheets.seed("private", "Leads", [["a"]])
    emulators.sheets.inject(Fault("metadata", status=403))
    with pytest.raises(PermissionError):
        gspread_client.open_by_key("private")


def test_a_hang_past_the_client_timeout(emulators: Emulators) -> None:
    emulators.sheets.seed("slow", "Leads", [["a"]])
    client = connect(GoogleConfig(api_base_url=emulators.sheets_url, anonymous=True, timeout=0.3))
    emulators.sheets.inject(Fault("read", status=503, delay=2))
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.http_client.values_get("slow", "'Leads'!A1")


def test_requests_are_counted_by_kind(book: gspread.Spreadsheet, emulators: Emulators) -> None:
    emulators.sheets.reset_counts()
    sheet = book.worksheet("Leads")  # one metadata read
    sheet.get("A1")
    sheet.batch_get(["A1", "B1"])
    sheet.update([["x"]], "A9", value_input_option=ValueInputOption.raw)
    assert dict(emulators.sheets.counts) == {"metadata": 1, "read": 2, "write": 1}


def test_a_person_edits_between_two_requests(
    book: gspread.Spreadsheet, emulators: Emulators
) -> None:
    sheet = book.worksheet("Leads")
    before = sheet.col_values(1)

    def insert_row_above(emulator: SheetsEmulator) -> None:
        emulator.worksheet("book1", "Leads").insert_row(2, ["Zed", "zed@example.com"])

    emulators.sheets.before_next("read", insert_row_above)
    after = sheet.col_values(1)
    assert before == ["Name", "Ann", "Bob"]
    assert after == ["Name", "Zed", "Ann", "Bob"]


def test_sort_and_delete_like_a_person(emulators: Emulators) -> None:
    sheet = emulators.sheets.seed("s", "Leads", [["Name"], ["Cy"], ["Al"], ["Bo"]])
    sheet.sort_rows(1)
    assert [row[0] for row in sheet.rows] == ["Name", "Al", "Bo", "Cy"]
    sheet.delete_row(3)
    assert [row[0] for row in sheet.rows] == ["Name", "Al", "Cy"]


def test_service_account_key_gets_a_token_from_the_emulator(
    emulators: Emulators, service_account_file: Path
) -> None:
    emulators.sheets.seed("sa", "Leads", [["a"]])
    client = connect(
        GoogleConfig(api_base_url=emulators.sheets_url, credentials_file=service_account_file)
    )
    assert client.open_by_key("sa").worksheet("Leads").acell("A1").value == "a"
    assert emulators.sheets.counts["token"] == 1


def test_http_control_api(emulators: Emulators) -> None:
    base = emulators.sheets_url
    requests.post(
        f"{base}/_emulator/seed",
        json={"spreadsheet": "c", "worksheet": "Leads", "rows": [["Name", "Stage"], ["Al", "New"]]},
        timeout=5,
    )
    requests.post(
        f"{base}/_emulator/edit",
        json={
            "spreadsheet": "c",
            "worksheet": "Leads",
            "op": "type",
            "row": 2,
            "column": "Stage",
            "text": "Won",
        },
        timeout=5,
    )
    cells = requests.get(f"{base}/_emulator/cells?spreadsheet=c&worksheet=Leads", timeout=5).json()
    assert cells["values"] == [["Name", "Stage"], ["Al", "Won"]]


def test_a_number_too_large_for_a_double_stays_text(emulators: Emulators) -> None:
    sheet = emulators.sheets.seed("s", "Leads", [["Value"], ["1E400"], ["1E300"]])
    assert sheet.displayed() == [["Value"], ["1E400"], ["1E+300"]]


def test_typed_percents_amounts_and_formulas_read_as_sheets_computes_them(
    emulators: Emulators,
    gspread_client,  # type: ignore[no-untyped-def]
) -> None:
    emulators.sheets.seed(
        "s",
        "Leads",
        [
            ["Typed"],
            ["50%"],
            ["$1,200"],
            ["-$5.50"],
            ["=2*600"],
            ["=VLOOKUP(A1,B:C,2)"],
            ["12.5 %"],
        ],
        time_zone="Europe/Paris",
    )
    sheet = gspread_client.open_by_key("s").worksheet("Leads")
    assert sheet.get("A2:A7", value_render_option="UNFORMATTED_VALUE") == [
        [0.5], [1200], [-5.5], [1200], ["#NAME?"], [0.125],
    ]  # fmt: skip
    assert sheet.get("A2:A7") == [["50%"], ["$1,200"], ["-$5.50"], ["1200"], ["#NAME?"], ["12.5 %"]]
    metadata = gspread_client.http_client.fetch_sheet_metadata("s")
    assert metadata["properties"]["timeZone"] == "Europe/Paris"
