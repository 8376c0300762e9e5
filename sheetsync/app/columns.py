"""Reading the lead worksheet with the job's columns, learning the layout when it moves.

Shared by the cycle and the dry run: a dry run imagines the status columns that a real cycle
adds, and never writes them.
"""

from __future__ import annotations

from sheetsync.core.config import JobConfig
from sheetsync.core.errors import CycleError, MissingColumns
from sheetsync.core.leads import ColumnMap, resolve_columns
from sheetsync.core.ports import SheetPort
from sheetsync.core.table import Layout, Table


class ColumnReader:
    def __init__(self, job: JobConfig, sheet: SheetPort, *, imagine_headers: bool = False) -> None:
        self.job = job
        self.sheet = sheet
        self.imagine_headers = imagine_headers
        self.columns: ColumnMap | None = None
        self.layout: Layout | None = None

    def read(self, known_header: tuple[str, ...] | None = None) -> tuple[Table, ColumnMap, bool]:
        """The table of the job's columns; True when the layout was (re)learned this time.

        `known_header`: the header the last cycle read (kept in the store), so a new process reads
        the data at once; the header comes back with the data, and a moved column is caught
        there as in any cycle."""
        learned = False
        if self.columns is None:
            self._learn(known_header or self.sheet.read_header())
            learned = True
        assert self.columns is not None and self.layout is not None
        table = self.sheet.read(self.columns.to_read())
        now = Layout.of(table.header)
        if (now.positions, now.repeated) != (self.layout.positions, self.layout.repeated):
            # Someone moved or renamed columns since the last cycle: learn again, read again.
            self._learn(table.header)
            learned = True
            table = self.sheet.read(self.columns.to_read())
        return table, self.columns, learned

    def _learn(self, header: tuple[str, ...]) -> None:
        found = Layout.of(header)
        wanted = self.job.status_columns.headers()[1 if self.job.key_column else 0 :]
        if self.job.lead_ads:  # the columns new Lead Ads rows fill, added like the status ones
            wanted += [h for h in self.job.lead_ads.headers() if h not in wanted]
        # Check against the header as it will be once the status columns are added, and add them
        # only when every configured column is there: a failed cycle writes nothing.
        layout = found.with_columns(wanted)
        try:
            self.columns = resolve_columns(layout, self.job)
        except MissingColumns as missing:
            raise CycleError(
                "the sheet's header does not match the config: " + "; ".join(missing.problems)
            ) from None
        if not self.imagine_headers:
            self.sheet.ensure_headers(found, wanted)  # adds exactly `layout`'s new columns
        self.layout = layout
