"""The unit files verify, and systemd rates their hardening well (where systemd is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parent.parent / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed on this machine"
)


def installed_copy(unit: str, tmp_path: Path) -> Path:
    """The unit as installed: ExecStart pointing at this environment's sheetsync (verify checks it exists)."""
    executable = Path(sys.executable).parent / "sheetsync"
    text = (UNITS / unit).read_text().replace("/opt/sheetsync/venv/bin/sheetsync", str(executable))
    name = unit.replace("@.", "@sales.")
    target = tmp_path / name
    target.write_text(text)
    return target


@needs_systemd
@pytest.mark.parametrize(
    "unit", ["sheetsync.service", "sheetsync@.service", "sheetsync-shared@.service"]
)
def test_units_verify(unit: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [ANALYZE or "", "verify", str(installed_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "sheetsync" not in result.stderr  # no warnings about our units


@needs_systemd
def test_hardening_is_rated_ok(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            ANALYZE or "",
            "security",
            "--offline=true",
            str(installed_copy("sheetsync.service", tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    exposure = re.search(r"Overall exposure level for .*: (\d+\.\d+)", result.stdout)
    assert exposure, result.stdout + result.stderr
    assert float(exposure.group(1)) <= 2.0


def test_units_say_what_the_daemon_expects() -> None:
    text = (UNITS / "sheetsync.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "StateDirectory=sheetsync",
        "LoadCredential=meta-token:",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
    ):
        assert line in text
