"""The managers' summary tab: a job's health and figures as a small grid in its own worksheet.

Its own object, asked by the cycle for the cells that changed; they travel in the cycle's one
write. It changes only when something a manager cares about changes (the last-sync time is shown
to the hour), so a quiet sheet is not rewritten every cycle. Figures come from the store, so a
restarted daemon shows the same counts (row problems included) as the one before it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sheetsync.app.figures import job_status
from sheetsync.core import summary
from sheetsync.core.config import JobConfig
from sheetsync.core.ports import SheetPort, Store
from sheetsync.core.table import CellWrite


class SummaryTab:
    def __init__(self, job: JobConfig, sheet: SheetPort) -> None:
        self.job = job
        self.sheet = sheet
        self._shown: list[CellWrite] | None = None  # the cells as last written
        self._hour = -1
        self._charted: summary.ChartPlan | None = None  # the chart as this process last drew it

    def cells(
        self, store: Store, problems: Mapping[str, tuple[str, ...]], now: int, quiet: bool
    ) -> list[CellWrite]:
        """The grid's cells when it differs from what the tab shows. A quiet cycle only looks when
        the hour has turned, which spares a scan of the state.

        `problems` are the rows' problem kinds as this cycle leaves them (the store's, updated by
        this cycle's parse; they are saved with the row digests once the write has landed)."""
        title = self.job.summary_worksheet
        if not title or (quiet and self._hour == now // 3600):
            return []
        self._hour = now // 3600
        status = job_status(store, self.job, now, problems)
        cells = _cells(summary.render(status, now), 1, title)
        cells += _cells(summary.chart_table(status, now), summary.CHART_COLUMN, title)
        if cells == self._shown:
            return []
        width = summary.CHART_COLUMN + len(status.stages)
        self.sheet.ensure_worksheet(title, summary.HEIGHT, width)
        self._draw_chart(store, title, summary.chart_plan(status))
        return cells

    def _draw_chart(self, store: Store, title: str, plan: summary.ChartPlan) -> None:
        """The chart over the day-by-stage cells: made once, its spec kept current; it follows
        its cells, so new figures need no chart request."""
        if plan == self._charted:
            return
        known = store.chart_id(self.job.name)
        chart_id = self.sheet.ensure_chart(title, plan, known)
        if chart_id != known:
            store.save_chart_id(self.job.name, chart_id)
        self._charted = plan

    def written(self, cells: list[CellWrite]) -> None:
        """The cells reached the sheet: remember what they show."""
        if cells:
            self._shown = cells


def _cells(grid: list[list[str]], left: int, title: str) -> list[CellWrite]:
    return [
        CellWrite(row, column, text, worksheet=title)
        for row, values in enumerate(grid, start=1)
        for column, text in enumerate(values, start=left)
    ]
