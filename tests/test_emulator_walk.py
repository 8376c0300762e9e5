"""The README's "Try it on the emulator" walk, as a newcomer does it: `sheetsync emulator --demo`
in one process, its printed config saved to a file, then check, dry-run, once and status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow


@pytest.fixture
def printed() -> Iterator[tuple[list[str], str]]:
    """The emulator's printed lines up to the end of its config advice, and its Sheets URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "emulator", "--demo"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not (lines and lines[-1].startswith("export META_PAGE_TOKEN=")):
            line = process.stdout.readline()
            assert line, "the emulator stopped before printing its config"
            lines.append(line.rstrip("\n"))
        yield lines, lines[0].split(" ", 1)[1]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()


def test_the_printed_config_lines_work_as_printed(
    printed: tuple[list[str], str], tmp_path: Path
) -> None:
    lines, sheets_url = printed
    config = lines[lines.index("# --- config ---") + 1 : lines.index("# --- end ---")]
    (tmp_path / "emulator.yaml").write_text("\n".join(config) + "\n")
    env = dict(os.environ)
    for export in (line for line in lines if line.startswith("export ")):
        name, value = export.removeprefix("export ").split("=", 1)
        env[name] = value

    def sheetsync(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sheetsync", *args, "--config", "emulator.yaml"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    checked = sheetsync("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().endswith("ready")
    assert "Page token works; 1 form(s): Spring offer" in checked.stdout

    planned = sheetsync("dry-run")
    assert planned.returncode == 0, planned.stderr
    decisions = [json.loads(line) for line in planned.stdout.splitlines()]
    assert any("event" in line for line in decisions) and any("cell" in line for line in decisions)

    once = sheetsync("once")
    assert once.returncode == 0, once.stderr
    assert "job sales: 8 leads" in once.stderr

    status = sheetsync("status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("1/1 jobs ok · ")
    cells = requests.get(
        f"{sheets_url}/_emulator/cells?spreadsheet=demo&worksheet=Leads", timeout=5
    ).json()["values"]
    assert "Sync Status" in cells[0]  # the status columns were added and filled
