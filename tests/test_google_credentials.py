"""Google credentials: a key file, Application Default Credentials, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheetsync.adapters.sheet import LeadSheet, SheetError, connect, credentials_for
from sheetsync.core.config import GoogleConfig
from sheetsync.emulator import Emulators


def test_application_default_credentials_are_used_without_a_key_file(
    emulators: Emulators, service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    emulators.sheets.seed("adc", "Leads", [["Name"], ["Ann"]])
    client = connect(GoogleConfig(api_base_url=emulators.sheets_url))
    assert LeadSheet(client, "adc", "Leads").read_header() == ("Name",)
    assert emulators.sheets.counts["token"] == 1


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match=r"google\.credentials_file: no such file"):
        credentials_for(GoogleConfig(credentials_file=tmp_path / "nope.json"))


def test_a_broken_key_file_says_what_to_do(tmp_path: Path) -> None:
    broken = tmp_path / "key.json"
    broken.write_text('{"type": "service_account"}')
    with pytest.raises(SheetError, match=r"google.credentials_file .* could not be used"):
        credentials_for(GoogleConfig(credentials_file=broken))
