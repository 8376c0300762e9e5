"""A property over hostile sheets: whatever the cells hold, `once` (a real process, against the
emulators) ends well — exit 0, every lead row sent or explained, every status cell writable and
inert, no raw email or phone in the logs or the state file."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import HEADER, config_dict, day, job_config, run_cli, sheet_rows, write_config

from sheetsync.emulator import Emulators

pytestmark = pytest.mark.slow

hostile_text = st.one_of(
    st.text(max_size=40),  # any code points, surrogates and controls included
    st.text(st.sampled_from("\u200b\ufeff\u00a0\u2028\r\n\t\x00\x07\x7f=+-@'\"<>&"), max_size=12),
    st.builds(lambda n: "x" * n, st.integers(49_990, 60_000)),  # over Google's cell limit
    st.sampled_from(
        [
            "=HYPERLINK(\"http://evil\")", "+1", "-1", "@user", "=1+1", "N/A", "null", "?",
            "approx 5,000 (was 7,000)", "10k", "1e400", "-0", "NaN", "inf", "31/02/2024",
            "2099-01-01", "1899-12-30", "00/00/0000", "💥", "\ud800", "1.23457E+15",
        ]
    ),
    st.integers(-(10**18), 10**18).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)  # fmt: skip
stages = st.one_of(
    st.sampled_from(["New", "Qualified", "Meeting Booked", "Won", "Lost", ""]), hostile_text
)


@st.composite
def sheets(draw: st.DrawFn) -> list[list[str]]:
    now = time.time()
    rows = []
    for n in range(draw(st.integers(1, 6))):
        rows.append(
            [
                draw(hostile_text),  # Name (not mapped)
                draw(st.sampled_from([f"person{n}@example.com", ""]))
                + draw(st.sampled_from(["", " "])),
                draw(st.sampled_from([f"+1 650 555 {1000 + n}", "", "555"])),
                draw(st.one_of(st.just(""), hostile_text)),  # Lead ID
                draw(st.one_of(st.just(""), hostile_text)),  # fbclid
                draw(st.one_of(st.just(day(now - 600)), hostile_text)),  # Created
                draw(stages),
                draw(st.one_of(st.just("1200"), hostile_text)),  # Deal Value
            ]
        )
    return rows


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sheets())
def test_any_sheet_ends_as_sends_or_explanations(rows: list[list[str]]) -> None:
    with Emulators() as emulators, tempfile.TemporaryDirectory() as directory:
        emulators.sheets.seed("sheet1", "Leads", [HEADER, *rows])
        state = Path(directory) / "state.db"
        config = write_config(
            Path(directory) / "c.yaml", config_dict(emulators, state, [job_config()])
        )
        once = run_cli("once", "--config", str(config))
        assert once.returncode == 0, once.stderr
        assert "Traceback" not in once.stderr
        shown = sheet_rows(emulators)
        for typed, row in zip(rows, shown, strict=True):
            if typed[6].strip() in ("New", "Qualified", "Meeting Booked", "Won"):
                assert row["Sync Status"] or row["Sent Events"], row
            for column in ("Sync Status", "Sent Events", "Last Sync", "Sync Key"):
                assert len(row[column]) <= 50_000
                assert not row[column].startswith(("=", "+", "-", "@"))
        secrets = once.stderr + state.read_bytes().decode("utf-8", "replace")
        for n in range(len(rows)):
            assert f"person{n}@example.com" not in secrets
            assert f"555 {1000 + n}" not in secrets and f"650555{1000 + n}" not in secrets
