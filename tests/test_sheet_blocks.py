"""Status writes are merged into rectangles: one range per block, not per cell."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sheetsync.adapters.sheet import blocks
from sheetsync.core.table import CellWrite


def test_adjacent_cells_and_rows_merge() -> None:
    cells = [
        CellWrite(row, column, f"{row}{column}") for row in (2, 3, 4, 7) for column in (10, 11, 12)
    ]
    cells += [CellWrite(5, 10, "alone"), CellWrite(1, 1, "summary", worksheet="sheetsync")]
    got = [(b.worksheet, b.range(), b.values) for b in blocks(cells)]
    assert got == [
        (None, "J2:L4", [["210", "211", "212"], ["310", "311", "312"], ["410", "411", "412"]]),
        (None, "J5", [["alone"]]),
        (None, "J7:L7", [["710", "711", "712"]]),
        ("sheetsync", "A1", [["summary"]]),
    ]


cell_lists = st.lists(
    st.tuples(st.tuples(st.integers(1, 30), st.integers(1, 8)), st.text(max_size=3)), max_size=60
)


@given(cell_lists)
def test_blocks_write_exactly_the_given_cells(given: list[tuple[tuple[int, int], str]]) -> None:
    """Every cell once, in a rectangle; a cell given twice gets its later text."""
    cells = dict(given)
    written: dict[tuple[int, int], str] = {}
    for block in blocks([CellWrite(row, column, text) for (row, column), text in given]):
        assert len({len(values) for values in block.values}) == 1  # a rectangle
        for dy, values in enumerate(block.values):
            for dx, text in enumerate(values):
                assert (block.top + dy, block.left + dx) not in written
                written[(block.top + dy, block.left + dx)] = text
    assert written == cells


def test_column_letters_agree_with_gspread() -> None:
    from gspread.utils import rowcol_to_a1

    from sheetsync.core.table import column_letter

    for column in [*range(1, 800), 18278]:
        assert column_letter(column) == rowcol_to_a1(1, column)[:-1]
