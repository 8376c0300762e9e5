"""A loopback emulator of the Google Sheets v4 API, as gspread 6.x uses it.

Facts it reproduces are in docs/SHEETS_API.md. Besides the API it has a
control surface for tests and the demo (Python methods, and the same over
HTTP under /_emulator/): seed a sheet, read cells back, count requests by
kind, inject faults, and edit the sheet between two client requests the way
a person would.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sheetsync.emulator import cells
from sheetsync.emulator.a1 import GridRange, column_letter, format_range, parse_range
from sheetsync.emulator.cells import CellValue
from sheetsync.emulator.http import Reply, Request

CELL_LIMIT = 10_000_000
MAX_CELL_CHARACTERS = 50_000  # Google refuses a longer cell, failing the whole request
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_FAULT_MESSAGES = {
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute "
    "per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
KINDS = ("metadata", "read", "write", "append", "token")


class SheetsError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def reply(self) -> Reply:
        return error_reply(self.status, self.message)


def _html_error_page(status: int) -> str:
    """What Google's front end sends for some 502/503s: a page for browsers, not the API's JSON."""
    return (
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
        f"  <title>Error {status} (Server Error)!!1</title>\n"
        "  <style>*{margin:0;padding:0}html,code{font:15px/22px arial,sans-serif}</style>\n"
        f"  <p><b>{status}.</b> <ins>That’s an error.</ins>\n"
        "  <p>The server encountered a temporary error and could not complete your request."
        "<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>\n"
    )


SERVICE_DISABLED_MESSAGE = (
    "Google Sheets API has not been used in project 123456789012 before or it is disabled. "
    "Enable it by visiting https://console.developers.google.com/apis/api/sheets.googleapis.com/"
    "overview?project=123456789012 then retry. If you enabled this API recently, wait a few "
    "minutes for the action to propagate to our systems and retry."
)


def error_reply(status: int, message: str) -> Reply:
    body = {
        "error": {
            "code": status,
            "message": message,
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }
    return Reply(status, body)


@dataclass
class Worksheet:
    sheet_id: int
    title: str
    index: int
    row_count: int = 1000
    column_count: int = 26
    rows: list[list[CellValue]] = field(default_factory=list)
    # Embedded charts: {"chartId", "spec", "position"}, as Google keeps them on a sheet.
    charts: list[dict[str, Any]] = field(default_factory=list)

    # --- cell access -----------------------------------------------------
    def get(self, row: int, column: int) -> CellValue:
        if row > len(self.rows):
            return None
        values = self.rows[row - 1]
        return values[column - 1] if column <= len(values) else None

    def set(self, row: int, column: int, value: CellValue) -> None:
        while len(self.rows) < row:
            self.rows.append([])
        values = self.rows[row - 1]
        if column > len(values):
            if value is None:
                return
            values.extend([None] * (column - len(values)))
        values[column - 1] = value

    def displayed(self) -> list[list[str]]:
        """Every row as a person sees it (formatted), trailing blanks trimmed."""
        shown = [[cells.formatted(value) for value in row] for row in self.rows]
        return [_trim(row, "") for row in _trim_rows(shown)]

    # --- edits a person makes ------------------------------------------------
    def insert_row(self, at: int, typed_values: Sequence[str] = ()) -> None:
        while len(self.rows) < at - 1:
            self.rows.append([])
        self.rows.insert(at - 1, [cells.typed(text) for text in typed_values])
        self.row_count += 1

    def delete_row(self, row: int) -> None:
        if row <= len(self.rows):
            del self.rows[row - 1]
        self.row_count -= 1

    def sort_rows(self, column: int, descending: bool = False, header_rows: int = 1) -> None:
        head, body = self.rows[:header_rows], self.rows[header_rows:]

        def key(row: list[CellValue]) -> str:
            value = row[column - 1] if column <= len(row) else None
            return cells.formatted(value)

        body.sort(key=key, reverse=descending)
        self.rows = head + body

    def type_cell(self, row: int, column: int, text: str) -> None:
        self.set(row, column, cells.typed(text))

    def find_column(self, header: str) -> int:
        for index, value in enumerate(self.rows[0] if self.rows else [], start=1):
            if cells.formatted(value).strip().lower() == header.strip().lower():
                return index
        raise KeyError(f"no column headed {header!r}")


def _trim(row: list[Any], blank: object) -> list[Any]:
    end = len(row)
    while end and (row[end - 1] == blank or row[end - 1] is None):
        end -= 1
    return row[:end]


def _trim_rows(rows: list[list[Any]]) -> list[list[Any]]:
    end = len(rows)
    while end and not any(value not in ("", None) for value in rows[end - 1]):
        end -= 1
    return rows[:end]


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str
    sheets: list[Worksheet] = field(default_factory=list)
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"

    def worksheet(self, title: str) -> Worksheet:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise SheetsError(400, f"Unable to parse range: {title}")

    def add_worksheet(self, title: str, rows: int = 1000, columns: int = 26) -> Worksheet:
        sheet = Worksheet(
            len(self.sheets) * 1000 + 1 if self.sheets else 0, title, len(self.sheets)
        )
        sheet.row_count, sheet.column_count = rows, columns
        self.sheets.append(sheet)
        return sheet

    def cell_count(self) -> int:
        return sum(sheet.row_count * sheet.column_count for sheet in self.sheets)


@dataclass
class Fault:
    kind: str  # a request kind, or "any"
    status: int = 503
    count: int = 1
    delay: float = 0.0  # answer late (a hang when longer than the client's timeout)
    drop: bool = False  # close the connection without answering
    html: bool = False  # answer with Google front end's HTML error page instead of JSON
    message: str | None = None  # the error's message (default: Google's usual one for the status)


class SheetsEmulator:
    """The Google Sheets v4 API on loopback, with a control surface for tests."""

    def __init__(self) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []
        self.lock = threading.RLock()
        self._faults: list[Fault] = []
        self._edits: list[tuple[str, Callable[[SheetsEmulator], None]]] = []
        self.tokens: set[str] = set()
        self.latency: dict[str, float] = {}  # seconds per request kind, applied before answering
        self.chart_requests: Counter[str] = Counter()  # addChart / updateChartSpec received
        self._next_chart_id = 1_000_000

    # --- control surface -------------------------------------------------
    def seed(
        self,
        spreadsheet_id: str,
        worksheet: str,
        typed_rows: Iterable[Sequence[str]],
        *,
        rows: int | None = None,
        columns: int | None = None,
        time_zone: str | None = None,
    ) -> Worksheet:
        """Fill a worksheet as if a person had typed each cell; `time_zone` is the spreadsheet's
        (File → Settings), in which typed dates are read."""
        with self.lock:
            book = self.spreadsheets.setdefault(
                spreadsheet_id, Spreadsheet(spreadsheet_id, f"Leads {spreadsheet_id}")
            )
            if time_zone is not None:
                book.time_zone = time_zone
            book.sheets = [sheet for sheet in book.sheets if sheet.title != worksheet]
            typed_rows = list(typed_rows)
            width = max((len(row) for row in typed_rows), default=0)
            sheet = book.add_worksheet(
                worksheet,
                rows=rows or max(1000, len(typed_rows) + 100),
                columns=columns or max(26, width),
            )
            sheet.rows = [[cells.typed(str(text)) for text in row] for row in typed_rows]
            return sheet

    def worksheet(self, spreadsheet_id: str, title: str) -> Worksheet:
        return self.spreadsheets[spreadsheet_id].worksheet(title)

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def before_next(self, kind: str, edit: Callable[[SheetsEmulator], None]) -> None:
        """Run `edit` just before the next request of `kind` is answered."""
        with self.lock:
            self._edits.append((kind, edit))

    def clear_edits(self) -> None:
        with self.lock:
            self._edits.clear()

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.log.clear()

    # --- the API -----------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        if request.raw_path.startswith("/_emulator/"):
            return self._control(request)
        kind = _kind_of(request)
        if self.latency.get(kind):
            time.sleep(self.latency[kind])
        with self.lock:
            self.counts[kind] += 1
            self.log.append((kind, request.method, request.raw_path))
            for index, (edit_kind, edit) in enumerate(self._edits):
                if edit_kind in (kind, "any"):
                    del self._edits[index]
                    edit(self)
                    break
            fault = self._take_fault(kind)
        if fault is not None:
            message = fault.message or _FAULT_MESSAGES.get(fault.status, "Error")
            reply = (
                Reply(fault.status, _html_error_page(fault.status))
                if fault.html
                else error_reply(fault.status, message)
            )
            reply.delay, reply.drop = fault.delay, fault.drop
            return reply
        try:
            with self.lock:
                return self._route(request)
        except SheetsError as error:
            return error.reply()
        except (ValueError, KeyError, TypeError) as error:
            return error_reply(400, f"Invalid request: {error}")

    def _take_fault(self, kind: str) -> Fault | None:
        for fault in self._faults:
            if fault.kind in (kind, "any"):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _route(self, request: Request) -> Reply:
        path = request.raw_path
        if path == "/token":
            token = "ya29.emulated-" + secrets.token_hex(8)
            self.tokens.add(token)
            return Reply(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
        prefix = "/v4/spreadsheets/"
        if not path.startswith(prefix):
            return error_reply(404, "Requested entity was not found.")
        parts = path[len(prefix) :].split("/")
        head = parts[0]
        if len(parts) == 1 and head.endswith(":batchUpdate"):
            return self._batch_update(self._book(head.removesuffix(":batchUpdate")), request)
        book = self._book(head)
        if len(parts) == 1 and request.method == "GET":
            return Reply(200, _metadata(book))
        if len(parts) == 2 and parts[1] == "values:batchGet":
            ranges = request.query.get("ranges", [])
            return Reply(
                200,
                {
                    "spreadsheetId": book.spreadsheet_id,
                    "valueRanges": [self._read(book, r, request.query) for r in ranges],
                },
            )
        if len(parts) == 2 and parts[1] == "values:batchUpdate":
            return Reply(200, self._write_many(book, request.json()))
        if len(parts) == 3 and parts[1] == "values" and parts[2].endswith(":append"):
            return Reply(
                200, self._append(book, unquote(parts[2].removesuffix(":append")), request)
            )
        if len(parts) == 3 and parts[1] == "values":
            range_text = unquote(parts[2])
            if request.method == "GET":
                return Reply(200, self._read(book, range_text, request.query))
            if request.method == "PUT":
                option = _first(request.query, "valueInputOption", "RAW")
                body = request.json()
                assert isinstance(body, dict)
                response = self._write(
                    book,
                    range_text,
                    body.get("values", []),
                    option,
                    body.get("majorDimension", "ROWS"),
                )
                return Reply(200, response)
        return error_reply(404, "Requested entity was not found.")

    def _book(self, spreadsheet_id: str) -> Spreadsheet:
        book = self.spreadsheets.get(unquote(spreadsheet_id))
        if book is None:
            raise SheetsError(404, "Requested entity was not found.")
        return book

    # --- values ------------------------------------------------------------
    def _resolve(self, book: Spreadsheet, text: str) -> tuple[Worksheet, int, int, int, int]:
        try:
            grid: GridRange = parse_range(text)
        except ValueError as error:
            raise SheetsError(400, str(error)) from error
        sheet = book.worksheet(grid.title) if grid.title is not None else book.sheets[0]
        start_row = grid.start_row or 1
        start_column = grid.start_column or 1
        end_row = grid.end_row or sheet.row_count
        end_column = grid.end_column or sheet.column_count
        if grid.start_row is not None and grid.end_row is None and grid.start_column is None:
            end_row = sheet.row_count
        if end_row < start_row:
            start_row, end_row = end_row, start_row
        if end_column < start_column:
            start_column, end_column = end_column, start_column
        if end_row > sheet.row_count or end_column > sheet.column_count:
            raise SheetsError(
                400,
                f"Range ({format_range(sheet.title, start_row, start_column, end_row, end_column)}) "
                f"exceeds grid limits. Max rows: {sheet.row_count}, max columns: "
                f"{sheet.column_count}",
            )
        return sheet, start_row, start_column, end_row, end_column

    def _read(self, book: Spreadsheet, text: str, query: dict[str, list[str]]) -> dict[str, Any]:
        sheet, top, left, bottom, right = self._resolve(book, text)
        render = _first(query, "valueRenderOption", "FORMATTED_VALUE")
        dates_as_text = _first(query, "dateTimeRenderOption", "SERIAL_NUMBER") == "FORMATTED_STRING"
        dimension = _first(query, "majorDimension", "ROWS")

        def show(value: CellValue) -> object:
            if render == "FORMATTED_VALUE":
                return cells.formatted(value)
            return cells.unformatted(value, dates_as_text)

        rows = sheet.rows[top - 1 : min(bottom, len(sheet.rows))]
        values: list[list[object]]
        if dimension == "COLUMNS":  # built column by column: no row-major detour on a tall sheet
            values = [
                _trim([show(row[column - 1]) if column <= len(row) else "" for row in rows], "")
                for column in range(left, right + 1)
            ]
        else:
            values = [_trim([show(value) for value in row[left - 1 : right]], "") for row in rows]
        values = _trim_rows(values)
        result: dict[str, Any] = {
            "range": format_range(sheet.title, top, left, bottom, right),
            "majorDimension": dimension,
        }
        if values:
            result["values"] = values
        return result

    def _write(
        self,
        book: Spreadsheet,
        text: str,
        values: list[list[object]],
        option: str,
        dimension: str = "ROWS",
    ) -> dict[str, Any]:
        if option not in ("RAW", "USER_ENTERED"):
            raise SheetsError(400, f"Invalid valueInputOption: {option}")
        _refuse_oversized(values)
        if dimension == "COLUMNS":
            width = max((len(column) for column in values), default=0)
            values = [[col[i] if i < len(col) else None for col in values] for i in range(width)]
        grid = parse_range(text)
        height = len(values)
        width = max((len(row) for row in values), default=0)
        sheet = book.worksheet(grid.title) if grid.title is not None else book.sheets[0]
        top, left = grid.start_row or 1, grid.start_column or 1
        bottom, right = top + max(height, 1) - 1, left + max(width, 1) - 1
        if bottom > sheet.row_count or right > sheet.column_count:
            raise SheetsError(
                400,
                f"Range ({format_range(sheet.title, top, left, bottom, right)}) exceeds grid "
                f"limits. Max rows: {sheet.row_count}, max columns: {sheet.column_count}",
            )
        updated = 0
        for row_offset, row in enumerate(values):
            for column_offset, value in enumerate(row):
                if value is None:
                    continue  # null skips the cell
                stored = cells.typed(str(value)) if option == "USER_ENTERED" else cells.raw(value)
                sheet.set(top + row_offset, left + column_offset, stored)
                updated += 1
        return {
            "spreadsheetId": book.spreadsheet_id,
            "updatedRange": format_range(sheet.title, top, left, bottom, right),
            "updatedRows": height,
            "updatedColumns": width,
            "updatedCells": updated,
        }

    def _append(self, book: Spreadsheet, text: str, request: Request) -> dict[str, Any]:
        """`values:append`: the rows go after the table's last non-empty row (INSERT_ROWS inserts
        new rows there, so nothing below is overwritten), as Google does for a range like 'Leads'!A1."""
        if _first(request.query, "insertDataOption", "OVERWRITE") != "INSERT_ROWS":
            raise SheetsError(400, "the emulator supports insertDataOption=INSERT_ROWS only")
        option = _first(request.query, "valueInputOption", "")
        body = request.json()
        assert isinstance(body, dict)
        values = body.get("values", [])
        grid = parse_range(text)
        sheet = book.worksheet(grid.title) if grid.title is not None else book.sheets[0]
        last = max(
            (
                n
                for n, row in enumerate(sheet.rows, start=1)
                if any(value not in (None, "") for value in row)
            ),
            default=0,
        )
        for offset in range(len(values)):
            sheet.insert_row(last + 1 + offset)
        width = max((len(row) for row in values), default=0)
        if width > sheet.column_count:
            raise SheetsError(400, f"Range exceeds grid limits. Max columns: {sheet.column_count}")
        response = self._write(
            book,
            format_range(sheet.title, last + 1, 1, last + len(values), max(width, 1)),
            values,
            option,
        )
        return {
            "spreadsheetId": book.spreadsheet_id,
            "tableRange": format_range(sheet.title, 1, 1, max(last, 1), sheet.column_count),
            "updates": response,
        }

    def _write_many(self, book: Spreadsheet, body: object) -> dict[str, Any]:
        assert isinstance(body, dict)
        option = body.get("valueInputOption", "")
        for item in body.get(
            "data", []
        ):  # one oversized cell fails the whole request, as Google does
            _refuse_oversized(item.get("values", []))
        responses = [
            self._write(
                book,
                item["range"],
                item.get("values", []),
                option,
                item.get("majorDimension", "ROWS"),
            )
            for item in body.get("data", [])
        ]
        return {
            "spreadsheetId": book.spreadsheet_id,
            "totalUpdatedRows": sum(r["updatedRows"] for r in responses),
            "totalUpdatedColumns": sum(r["updatedColumns"] for r in responses),
            "totalUpdatedCells": sum(r["updatedCells"] for r in responses),
            "totalUpdatedSheets": len({r["updatedRange"].split("!")[0] for r in responses}),
            "responses": responses,
        }

    # --- structure ---------------------------------------------------------
    def _add_chart(self, book: Spreadsheet, request: dict[str, Any]) -> dict[str, Any]:
        chart = request["chart"]
        anchor = chart.get("position", {}).get("overlayPosition", {}).get("anchorCell", {})
        sheet = _sheet_by_id(book, anchor.get("sheetId", book.sheets[0].sheet_id))
        for series in _chart_sources(chart.get("spec", {})):
            _sheet_by_id(book, series["sheetId"])  # a range on no sheet is refused, as Google does
        self._next_chart_id += 1
        added = {
            "chartId": self._next_chart_id,
            "spec": chart["spec"],
            "position": chart["position"],
        }
        sheet.charts.append(added)
        self.chart_requests["addChart"] += 1
        return added

    def charts(self, spreadsheet_id: str) -> list[dict[str, Any]]:
        """Every chart of the spreadsheet, with the title of the sheet it stands on."""
        with self.lock:
            return [
                {"sheet": sheet.title, **chart}
                for sheet in self.spreadsheets[spreadsheet_id].sheets
                for chart in sheet.charts
            ]

    def _batch_update(self, book: Spreadsheet, request: Request) -> Reply:
        body = request.json()
        assert isinstance(body, dict)
        replies: list[dict[str, Any]] = []
        for item in body.get("requests", []):
            if "updateSheetProperties" in item:
                properties = item["updateSheetProperties"]["properties"]
                sheet = _sheet_by_id(book, properties["sheetId"])
                grid = properties.get("gridProperties", {})
                fields = item["updateSheetProperties"].get("fields", "")
                new_rows = (
                    grid.get("rowCount", sheet.row_count)
                    if "rowCount" in fields
                    else sheet.row_count
                )
                new_columns = (
                    grid.get("columnCount", sheet.column_count)
                    if "columnCount" in fields or fields in ("*", "gridProperties")
                    else sheet.column_count
                )
                self._resize(book, sheet, new_rows, new_columns)
                if "title" in fields and "title" in properties:
                    sheet.title = properties["title"]
            elif "appendDimension" in item:
                spec = item["appendDimension"]
                sheet = _sheet_by_id(book, spec["sheetId"])
                if spec["dimension"] == "ROWS":
                    self._resize(book, sheet, sheet.row_count + spec["length"], sheet.column_count)
                else:
                    self._resize(book, sheet, sheet.row_count, sheet.column_count + spec["length"])
            elif "addSheet" in item:
                title = (
                    item["addSheet"]
                    .get("properties", {})
                    .get("title", f"Sheet{len(book.sheets) + 1}")
                )
                if any(sheet.title == title for sheet in book.sheets):
                    raise SheetsError(
                        400,
                        f'A sheet with the name "{title}" already exists. '
                        "Please enter another name.",
                    )
                grid = item["addSheet"].get("properties", {}).get("gridProperties", {})
                sheet = book.add_worksheet(
                    title, grid.get("rowCount", 1000), grid.get("columnCount", 26)
                )
                replies.append({"addSheet": {"properties": _sheet_properties(sheet)}})
                continue
            elif "addChart" in item:
                replies.append({"addChart": {"chart": self._add_chart(book, item["addChart"])}})
                continue
            elif "updateChartSpec" in item:
                chart = _chart(book, item["updateChartSpec"]["chartId"])
                chart["spec"] = item["updateChartSpec"]["spec"]
                self.chart_requests["updateChartSpec"] += 1
            elif "updateEmbeddedObjectPosition" in item:  # a person moves or resizes a chart
                move = item["updateEmbeddedObjectPosition"]
                _chart(book, move["objectId"])["position"] = move["newPosition"]
            elif "deleteEmbeddedObject" in item:
                chart_id = item["deleteEmbeddedObject"]["objectId"]
                for sheet in book.sheets:
                    sheet.charts = [c for c in sheet.charts if c["chartId"] != chart_id]
            else:
                raise SheetsError(400, f"Unsupported request: {sorted(item)}")
            replies.append({})
        return Reply(200, {"spreadsheetId": book.spreadsheet_id, "replies": replies})

    def _resize(self, book: Spreadsheet, sheet: Worksheet, rows: int, columns: int) -> None:
        growth = rows * columns - sheet.row_count * sheet.column_count
        if book.cell_count() + growth > CELL_LIMIT:
            raise SheetsError(
                400,
                "This action would increase the number of cells in the workbook above the "
                f"limit of {CELL_LIMIT} cells.",
            )
        sheet.row_count, sheet.column_count = rows, columns
        sheet.rows = sheet.rows[:rows]
        sheet.rows = [row[:columns] for row in sheet.rows]

    # --- control over HTTP ---------------------------------------------------
    def _control(self, request: Request) -> Reply:
        action = request.raw_path.removeprefix("/_emulator/")
        body = request.json() if request.body else {}
        assert isinstance(body, dict)
        if action == "counts":
            with self.lock:
                return Reply(200, dict(self.counts))
        if action == "cells":
            book_id = _first(request.query, "spreadsheet", "demo")
            title = _first(request.query, "worksheet", "Leads")
            limit = int(_first(request.query, "limit", "0")) or None  # the first N rows only
            with self.lock:
                sheet = self.worksheet(book_id, title)
                shown = (
                    Worksheet(0, title, 0, rows=sheet.rows[:limit]).displayed()
                    if limit
                    else sheet.displayed()
                )
                return Reply(200, {"values": shown})
        if action == "seed":
            self.seed(
                body["spreadsheet"],
                body["worksheet"],
                body["rows"],
                time_zone=body.get("time_zone"),
            )
            return Reply(200, {})
        if action == "fault":
            self.inject(
                Fault(
                    body.get("kind", "any"),
                    int(body.get("status", 503)),
                    int(body.get("count", 1)),
                    float(body.get("delay", 0)),
                    html=bool(body.get("html", False)),
                    message=body.get("message"),
                )
            )
            return Reply(200, {})
        if action == "edit":
            with self.lock:
                sheet = self.worksheet(body["spreadsheet"], body["worksheet"])
                for edit in body.get("edits", [body]):  # one edit, or many at once
                    apply_edit(sheet, edit)
            return Reply(200, {})
        if action == "charts":
            book_id = _first(request.query, "spreadsheet", "demo")
            return Reply(
                200, {"charts": self.charts(book_id), "requests": dict(self.chart_requests)}
            )
        if action == "reset-counts":
            self.reset_counts()
            return Reply(200, {})
        return error_reply(404, f"no control action {action!r}")


def _refuse_oversized(values: list[list[object]]) -> None:
    for row in values:
        for value in row:
            if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
                raise SheetsError(
                    400,
                    f"Your input contains more than the maximum of {MAX_CELL_CHARACTERS} "
                    "characters in a single cell.",
                )


def apply_edit(sheet: Worksheet, edit: dict[str, Any]) -> None:
    """A person's edit, described as data (used by the HTTP control API and the demo)."""
    op = edit["op"]
    if op == "type":
        sheet.type_cell(int(edit["row"]), _column_of(sheet, edit["column"]), str(edit["text"]))
    elif op == "insert_row":
        sheet.insert_row(int(edit["row"]), edit.get("values", []))
    elif op == "delete_row":
        sheet.delete_row(int(edit["row"]))
    elif op == "sort":
        sheet.sort_rows(_column_of(sheet, edit["column"]), bool(edit.get("descending", False)))
    else:
        raise ValueError(f"unknown edit {op!r}")


def _column_of(sheet: Worksheet, column: object) -> int:
    return column if isinstance(column, int) else sheet.find_column(str(column))


def _sheet_by_id(book: Spreadsheet, sheet_id: int) -> Worksheet:
    for sheet in book.sheets:
        if sheet.sheet_id == sheet_id:
            return sheet
    raise SheetsError(400, f"No grid with id: {sheet_id}")


def _sheet_properties(sheet: Worksheet) -> dict[str, Any]:
    return {
        "sheetId": sheet.sheet_id,
        "title": sheet.title,
        "index": sheet.index,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": sheet.row_count, "columnCount": sheet.column_count},
    }


def _metadata(book: Spreadsheet) -> dict[str, Any]:
    return {
        "spreadsheetId": book.spreadsheet_id,
        "properties": {"title": book.title, "locale": book.locale, "timeZone": book.time_zone},
        "sheets": [
            {
                "properties": _sheet_properties(sheet),
                **({"charts": sheet.charts} if sheet.charts else {}),
            }
            for sheet in book.sheets
        ],
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.spreadsheet_id}/edit",
    }


def _chart(book: Spreadsheet, chart_id: int) -> dict[str, Any]:
    for sheet in book.sheets:
        for chart in sheet.charts:
            if chart["chartId"] == chart_id:
                return chart
    raise SheetsError(400, f"No chart with id: {chart_id}")


def _chart_sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    basic = spec.get("basicChart", {})
    parts = [d.get("domain", {}) for d in basic.get("domains", [])]
    parts += [s.get("series", {}) for s in basic.get("series", [])]
    return [source for part in parts for source in part.get("sourceRange", {}).get("sources", [])]


def _first(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[0] if values else default


def _kind_of(request: Request) -> str:
    path = request.raw_path
    if path == "/token":
        return "token"
    if path.endswith(":append"):
        return "append"
    if path.endswith(":batchUpdate") or request.method in ("PUT", "POST"):
        return "write"
    if "/values" in path:
        return "read"
    return "metadata"


__all__ = [
    "KINDS",
    "Fault",
    "SheetsEmulator",
    "Spreadsheet",
    "Worksheet",
    "apply_edit",
    "column_letter",
]
