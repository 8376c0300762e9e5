"""`sheetsync demo` runs start to finish as a process, with no network and no credentials."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_to_its_summary() -> None:
    env = {key: value for key, value in os.environ.items() if key != "META_ACCESS_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "sheetsync", "demo", "--seconds", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Summary: Meta received" in result.stdout
    assert re.search(r"(?<!\d)0 duplicates", result.stdout), result.stdout
    assert "✓ Purchase sent" in result.stdout
    assert "✗ lead id 1.20245E+15 lost digits" in result.stdout
    assert "Traceback" not in result.stderr
    # A lead arrives from a Lead Ads form: sheetsync adds its row, lead id intact, and syncs it.
    assert "Ivy fills in the form of a Facebook ad" in result.stdout
    assert re.search(r"Ivy Nash\s+Won\s+✓ Purchase sent .*keys: lead_id", result.stdout)
