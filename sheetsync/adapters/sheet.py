"""The Google Sheets boundary: gspread + google-auth in, sheetsync's own types out.

Only this module touches gspread. It reads the header and the mapped columns
in one `values:batchGet`, grows the grid and adds sheetsync's status headers
when they are missing, and writes status cells in one `values:batchUpdate`
(RAW, so text stays text). Every call has a timeout and bounded, jittered
retries; failures come out as `SheetError` with a sentence a person can act on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gspread
import requests
from google import auth as google_auth  # the module: `google` below names the config section
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account
from gspread.http_client import HTTPClient
from gspread.utils import absolute_range_name, rowcol_to_a1

from sheetsync.core.config import GOOGLE_SHEETS_URL, GoogleConfig, is_loopback_url
from sheetsync.core.errors import SheetError, SheetUnavailable
from sheetsync.core.summary import ChartPlan
from sheetsync.core.table import CellWrite, Layout, Scalar, Table, column_letter
from sheetsync.core.text import clipped
from sheetsync.support.metrics import API_CALLS
from sheetsync.support.retry import RetryPolicy, call_with_retries

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
_PROJECT = re.compile(r"project (\d+)")
_MARKUP = re.compile(r"<[^>]*>")
CONNECT_TIMEOUT = 5.0


def _rebase(url: str, base_url: str, all_google_hosts: bool) -> str:
    if url.startswith(GOOGLE_SHEETS_URL):
        return base_url.rstrip("/") + url[len(GOOGLE_SHEETS_URL) :]
    if all_google_hosts and url.startswith("https://") and ".googleapis.com/" in url:
        # google-auth's background lookups (iamcredentials) must not leave a loopback setup.
        path = url.split(".googleapis.com", 1)[1]
        return base_url.rstrip("/") + path
    return url


class _RebasingSession(requests.Session):
    def __init__(self, base_url: str, all_google_hosts: bool) -> None:
        super().__init__()
        self._base_url = base_url
        self._all_google_hosts = all_google_hosts

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        text = url.decode() if isinstance(url, bytes) else url
        return super().request(
            method, _rebase(text, self._base_url, self._all_google_hosts), *args, **kwargs
        )


class _RebasingAuthorizedSession(AuthorizedSession):
    def __init__(self, credentials: Credentials, base_url: str, all_google_hosts: bool) -> None:
        super().__init__(
            credentials, auth_request=AuthRequest(_RebasingSession(base_url, all_google_hosts))
        )
        self._base_url = base_url
        self._all_google_hosts = all_google_hosts

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        return super().request(
            method, _rebase(str(url), self._base_url, self._all_google_hosts), *args, **kwargs
        )


def credentials_for(google: GoogleConfig) -> Credentials:
    """Anonymous (emulator only), a service-account key file, or Application Default Credentials."""
    if google.anonymous:
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    try:
        if google.credentials_file is not None:
            return service_account.Credentials.from_service_account_file(  # type: ignore[no-any-return]
                str(google.credentials_file), scopes=SCOPES
            )
        found, _project = google_auth.default(scopes=SCOPES)  # type: ignore[no-untyped-call]
        return found  # type: ignore[no-any-return]
    except FileNotFoundError as error:
        raise SheetError(
            f"google.credentials_file: no such file {google.credentials_file}"
        ) from error
    except (ValueError, GoogleAuthError) as error:
        where = (
            f"google.credentials_file ({google.credentials_file})"
            if google.credentials_file
            else ("Application Default Credentials")
        )
        raise SheetError(
            f"{where} could not be used: {error}. Give a service-account key file "
            "in google.credentials_file."
        ) from error


def connect(google: GoogleConfig, credentials: Credentials | None = None) -> gspread.Client:
    """A gspread client that talks to `google.api_base_url`, always with a timeout."""
    base_url = google.api_base_url
    session = _RebasingAuthorizedSession(
        credentials or credentials_for(google), base_url, all_google_hosts=is_loopback_url(base_url)
    )
    client = gspread.Client(auth=None, session=session, http_client=HTTPClient)  # type: ignore[arg-type]
    client.set_timeout((CONNECT_TIMEOUT, google.timeout))
    return client


def _plain(message: str) -> str:
    """Google's message in one short line: an HTML error page is reduced to its words."""
    if "<" in message and ">" in message:
        message = _MARKUP.sub(" ", message)
    return clipped(message, 200)


def http_status(error: gspread.exceptions.APIError) -> int:
    """The HTTP status Google answered with. gspread reads it from the JSON body, which Google's
    front end sometimes replaces with an HTML page (gspread then says -1): the status line is
    the truth."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else error.code


def _is_transient(error: Exception) -> bool:
    if isinstance(error, gspread.exceptions.APIError):
        return http_status(error) in (429, 500, 502, 503, 504)
    return isinstance(error, requests.ConnectionError | requests.Timeout)


def _wait_hint(error: Exception) -> float | None:
    if isinstance(error, gspread.exceptions.APIError) and http_status(error) == 429:
        return 10.0  # a per-minute quota: a short wait rarely helps, a longer one does
    return None


@dataclass(slots=True)
class Block:
    """A rectangle of cells to write as one range: far smaller than one range per cell."""

    worksheet: str | None
    top: int
    left: int
    values: list[list[str]]

    def range(self) -> str:
        bottom, right = self.top + len(self.values) - 1, self.left + len(self.values[0]) - 1
        first, last = rowcol_to_a1(self.top, self.left), rowcol_to_a1(bottom, right)
        return first if first == last else f"{first}:{last}"


def blocks(cells: Sequence[CellWrite]) -> list[Block]:
    """Merge cells side by side in a row into runs, then runs of the same columns on consecutive
    rows. A cell given twice is written with its last text. One pass over the cells in order:
    a first cycle writes 300,000 cells, and a dict per row would cost more than the cells."""
    by_worksheet: dict[str, list[CellWrite]] = {}
    for cell in cells:
        by_worksheet.setdefault(cell.worksheet or "", []).append(cell)
    runs: list[Block] = []
    for _, sheet_cells in sorted(by_worksheet.items()):
        sheet_cells.sort(key=_place)  # stable: of a cell given twice, the later text stays last
        previous = None
        for cell in sheet_cells:
            last = runs[-1] if runs else None
            if previous is not None and _place(previous) == _place(cell):
                assert last is not None
                last.values[0][-1] = cell.text  # the same cell again: the later text wins
            elif (
                last is not None
                and last.worksheet == cell.worksheet
                and last.top == cell.row
                and last.left + len(last.values[0]) == cell.column
            ):
                last.values[0].append(cell.text)
            else:
                runs.append(Block(cell.worksheet, cell.row, cell.column, [[cell.text]]))
            previous = cell
    merged: list[Block] = []
    # (sheet, left, width) → the block growing down
    open_blocks: dict[tuple[str | None, int, int], Block] = {}
    for run in runs:
        shape = (run.worksheet, run.left, len(run.values[0]))
        growing = open_blocks.get(shape)
        if growing is not None and growing.top + len(growing.values) == run.top:
            growing.values.append(run.values[0])
        else:
            open_blocks[shape] = run
            merged.append(run)
    return merged


def _place(cell: CellWrite) -> int:
    """A cell's place within its worksheet, as one number that sorts rows, then columns."""
    return cell.row << 20 | cell.column  # Sheets has at most 18,278 columns


class LeadSheet:
    """One worksheet of one spreadsheet, as a job sees it."""

    def __init__(
        self,
        client: gspread.Client,
        spreadsheet_id: str,
        worksheet: str,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = client.http_client
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self._retry = retry
        self._sleep = sleep
        self._sheet_id: int | None = None
        self._grid_columns = 0
        self.time_zone = "UTC"
        self._titles: set[str] = set()
        self._sheet_ids: dict[str, int] = {}  # tab title → sheetId (charts name tabs by id)
        self._charts: dict[int, dict[str, Any]] = {}  # chart id → its spec, as the sheet has it
        self._tab_columns: dict[str, int] = {}  # tab title → its grid's column count
        self.service_account = getattr(
            getattr(self._http, "auth", None), "service_account_email", None
        )

    # --- calls ---------------------------------------------------------------
    def _call(self, kind: str, what: str, call: Callable[[], Any], *, retry: bool = True) -> Any:
        def counted() -> Any:
            API_CALLS.labels(api="sheets", kind=kind).inc()
            return call()

        policy = self._retry if retry else RetryPolicy(tries=1)
        try:
            return call_with_retries(counted, _is_transient, policy, self._sleep, _wait_hint)
        except gspread.exceptions.APIError as error:
            raise self._explain(what, error) from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise SheetUnavailable(
                f"Google Sheets did not answer while {what} ({type(error).__name__}); "
                "will try again next cycle"
            ) from None
        except GoogleAuthError as error:
            raise SheetError(
                f"Google refused sheetsync's credentials while {what}: {error}"
            ) from None

    def _explain(self, what: str, error: gspread.exceptions.APIError) -> SheetError:
        code = http_status(error)
        message = _plain(str(error.error.get("message", "")))
        if code == 404:
            return SheetError(
                f"spreadsheet {self.spreadsheet_id} was not found; check jobs[].spreadsheet"
            )
        if code == 403 and (
            "SERVICE_DISABLED" in message or "has not been used in project" in message
        ):
            project = _PROJECT.search(message)
            where = f" {project.group(1)}" if project else ""
            return SheetError(
                f"the Google Sheets API is disabled in the Cloud project{where} of sheetsync's "
                "credentials",
                "enable it (Google Cloud console → APIs & Services → Library → Google Sheets "
                "API → Enable), wait a few minutes, and run sheetsync check",
            )
        if code == 403:
            who = f" with {self.service_account}" if self.service_account else ""
            return SheetError(
                f"no permission to open spreadsheet {self.spreadsheet_id}; share it{who} "
                "as an editor"
            )
        if code == 401:
            return SheetError(f"Google rejected the credentials while {what}: {message}")
        if code == 429:
            return SheetUnavailable(
                f"Google Sheets quota exceeded while {what}; will try again next cycle"
            )
        if code >= 500:
            return SheetUnavailable(
                f"Google Sheets failed while {what} (HTTP {code}); will try again next cycle"
            )
        return SheetError(f"Google Sheets refused {what} (HTTP {code}): {message}")

    # --- metadata (once per process) ---------------------------------------------
    def open(self) -> None:
        if self._sheet_id is not None:
            return
        metadata = self._call(
            "metadata",
            "opening the spreadsheet",
            lambda: self._http.fetch_sheet_metadata(self.spreadsheet_id),
        )
        self.time_zone = metadata.get("properties", {}).get("timeZone", "UTC")
        self._titles = {sheet["properties"]["title"] for sheet in metadata.get("sheets", [])}
        self._sheet_ids = {
            sheet["properties"]["title"]: sheet["properties"]["sheetId"]
            for sheet in metadata.get("sheets", [])
        }
        self._tab_columns = {
            sheet["properties"]["title"]: sheet["properties"]["gridProperties"]["columnCount"]
            for sheet in metadata.get("sheets", [])
        }
        self._charts = {
            chart["chartId"]: chart.get("spec", {})
            for sheet in metadata.get("sheets", [])
            for chart in sheet.get("charts", [])
        }
        for sheet in metadata.get("sheets", []):
            properties = sheet["properties"]
            if properties["title"] == self.worksheet:
                self._sheet_id = properties["sheetId"]
                self._grid_columns = properties["gridProperties"]["columnCount"]
                return
        titles = ", ".join(repr(s["properties"]["title"]) for s in metadata.get("sheets", []))
        raise SheetError(
            f"spreadsheet {self.spreadsheet_id} has no worksheet {self.worksheet!r} "
            f"(it has {titles}); check jobs[].worksheet"
        )

    # --- reads -----------------------------------------------------------------
    def read(self, columns: Sequence[int]) -> Table:
        """The header row and the given columns (rows 2…), in one values:batchGet."""
        self.open()
        ranges = [absolute_range_name(self.worksheet, "1:1")]
        ranges += [
            absolute_range_name(self.worksheet, f"{column_letter(c)}2:{column_letter(c)}")
            for c in columns
        ]
        params = {
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "COLUMNS",
        }
        response = self._call(
            "read",
            "reading the sheet",
            lambda: self._http.values_batch_get(self.spreadsheet_id, ranges, dict(params)),
        )
        value_ranges = response.get("valueRanges", [])
        header_columns = value_ranges[0].get("values", []) if value_ranges else []
        header = tuple(str(column[0]) if column else "" for column in header_columns)
        read: dict[int, Sequence[Scalar]] = {}
        for column, value_range in zip(columns, value_ranges[1:], strict=False):
            values = value_range.get("values", [])
            read[column] = values[0] if values else []
        return Table(header, read, self.time_zone)

    def read_header(self) -> tuple[str, ...]:
        return self.read([]).header

    # --- writes ----------------------------------------------------------------
    def ensure_headers(self, layout: Layout, wanted: Sequence[str]) -> Layout:
        """Add missing headers at the right of the header row, growing the grid if needed."""
        missing = layout.missing(wanted)
        if not missing:
            return layout
        self.open()
        grown = layout.with_columns(missing)
        if grown.width > self._grid_columns:
            body = {
                "requests": [
                    {
                        "updateSheetProperties": {
                            "properties": {
                                "sheetId": self._sheet_id,
                                "gridProperties": {"columnCount": grown.width},
                            },
                            "fields": "gridProperties.columnCount",
                        }
                    }
                ]
            }
            self._call(
                "write",
                "adding columns",
                lambda: self._http.batch_update(self.spreadsheet_id, body),
            )
            self._grid_columns = grown.width
        self.write(
            [
                CellWrite(1, layout.width + offset, name)
                for offset, name in enumerate(missing, start=1)
            ]
        )
        return grown

    def ensure_worksheet(self, title: str, rows: int, columns: int) -> None:
        """Add a tab (the managers' summary) unless the spreadsheet has it; widen it when an
        older sheetsync made it narrower (the chart's cells stand right of the grid)."""
        self.open()
        if title in self._titles:
            if self._tab_columns.get(title, columns) < columns:
                self._widen(title, columns)
            return
        body = {
            "requests": [
                {
                    "addSheet": {
                        "properties": {
                            "title": title,
                            "gridProperties": {"rowCount": rows, "columnCount": columns},
                        }
                    }
                }
            ]
        }
        reply = self._call(
            "write",
            f"adding the {title!r} tab",
            lambda: self._http.batch_update(self.spreadsheet_id, body),
        )
        self._titles.add(title)
        added = (reply.get("replies") or [{}])[0].get("addSheet", {}).get("properties", {})
        if "sheetId" in added:
            self._sheet_ids[title] = added["sheetId"]
        self._tab_columns[title] = columns

    def _widen(self, title: str, columns: int) -> None:
        properties = {"sheetId": self._sheet_ids[title], "gridProperties": {"columnCount": columns}}
        body = {
            "requests": [
                {
                    "updateSheetProperties": {
                        "properties": properties,
                        "fields": "gridProperties.columnCount",
                    }
                }
            ]
        }
        self._call(
            "write",
            f"widening the {title!r} tab",
            lambda: self._http.batch_update(self.spreadsheet_id, body),
        )
        self._tab_columns[title] = columns

    def ensure_chart(self, title: str, plan: ChartPlan, chart_id: int | None) -> int:
        """See SheetPort.ensure_chart: one batchUpdate when the chart is new or its spec changed,
        none otherwise (a quiet cycle makes no request)."""
        self.open()
        sheet_id = self._sheet_ids[title]
        spec = chart_spec(sheet_id, plan)
        found = chart_id if chart_id in self._charts else None
        if found is None:  # not by id (a new state file): by title, so a restart never duplicates
            found = next((i for i, s in self._charts.items() if s.get("title") == plan.title), None)
        if found is not None and self._charts[found] == spec:
            return found
        if found is not None:
            request: dict[str, Any] = {"updateChartSpec": {"chartId": found, "spec": spec}}
        else:
            anchor = {
                "sheetId": sheet_id,
                "rowIndex": plan.bottom + 1,
                "columnIndex": plan.domain_column - 1,
            }
            position = {
                "overlayPosition": {"anchorCell": anchor, "widthPixels": 720, "heightPixels": 360}
            }
            request = {"addChart": {"chart": {"spec": spec, "position": position}}}
        reply = self._call(
            "write",
            "drawing the summary chart",
            lambda: self._http.batch_update(self.spreadsheet_id, {"requests": [request]}),
        )
        if found is None:
            found = int(reply["replies"][0]["addChart"]["chart"]["chartId"])
        self._charts[found] = spec
        return found

    def write(self, cells: Sequence[CellWrite]) -> None:
        """Write each cell's text as RAW (a leading `=` stays text), in one request."""
        if not cells:
            return
        data = [
            {
                "range": absolute_range_name(block.worksheet or self.worksheet, block.range()),
                "values": block.values,
            }
            for block in blocks(cells)
        ]
        body = {"valueInputOption": "RAW", "data": data}
        self._call(
            "write",
            "writing status cells",
            lambda: self._http.values_batch_update(self.spreadsheet_id, body),
        )

    def append(self, rows: Sequence[Sequence[str]]) -> None:
        """`values:append` with INSERT_ROWS and RAW: after the last row of the table, as text (a
        16-digit lead id keeps every digit). Sent once: retrying an append whose answer was lost
        could add the rows twice; the next cycle's read tells whether they landed."""
        if not rows:
            return
        self._call(
            "append",
            "adding new leads",
            lambda: self._http.values_append(
                self.spreadsheet_id,
                absolute_range_name(self.worksheet, "A1"),
                params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                body={"values": [list(row) for row in rows]},
            ),
            retry=False,
        )


def chart_spec(sheet_id: int, plan: ChartPlan) -> dict[str, Any]:
    """Google's spec for the managers' chart: stacked columns, a day per column, a colour per
    funnel stage, fed by the cells the plan names (sheetsync rewrites them; the chart follows)."""

    def cells(column: int) -> dict[str, Any]:
        source = {
            "sheetId": sheet_id,
            "startRowIndex": plan.top - 1,
            "endRowIndex": plan.bottom,
            "startColumnIndex": column - 1,
            "endColumnIndex": column,
        }
        return {"sourceRange": {"sources": [source]}}

    return {
        "title": plan.title,
        "basicChart": {
            "chartType": "COLUMN",
            "stackedType": "STACKED",
            "legendPosition": "BOTTOM_LEGEND",
            "headerCount": 1,
            "axis": [
                {"position": "BOTTOM_AXIS", "title": "Day (UTC)"},
                {"position": "LEFT_AXIS", "title": "Events sent"},
            ],
            "domains": [{"domain": cells(plan.domain_column)}],
            "series": [
                {"series": cells(column), "targetAxis": "LEFT_AXIS"}
                for column in plan.series_columns
            ],
        },
    }


def cell_ref(row: int, column: int) -> str:
    """(3, 28) → AB3."""
    return rowcol_to_a1(row, column)
