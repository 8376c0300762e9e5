"""Shared fixtures: the network guard, both emulators, clients pointed at them."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

NETGUARD_DIR = Path(__file__).parent / "netguard"
sys.path.insert(0, str(NETGUARD_DIR))
import sitecustomize as netguard  # noqa: E402  (the guard must be installed before any client)

netguard.install()
os.environ["SHEETSYNC_NET_GUARD"] = "1"  # children started by tests install it too
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(NETGUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
)
os.environ["NO_GCE_CHECK"] = "true"  # ADC must not probe the metadata server

from sheetsync.adapters.sheet import connect  # noqa: E402
from sheetsync.core.config import GoogleConfig  # noqa: E402
from sheetsync.emulator import Emulators  # noqa: E402


@pytest.fixture(autouse=True)
def _close_runtimes() -> Iterator[None]:
    yield
    from support import close_runtimes

    close_runtimes()


@pytest.fixture
def emulators() -> Iterator[Emulators]:
    with Emulators() as running:
        yield running


@pytest.fixture
def gspread_client(emulators: Emulators):  # type: ignore[no-untyped-def]
    return connect(GoogleConfig(api_base_url=emulators.sheets_url, anonymous=True, timeout=5))


@pytest.fixture
def service_account_file(tmp_path: Path, emulators: Emulators) -> Path:
    """A real service-account key whose token_uri is the emulator's token endpoint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "sheetsync-test",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": "sheetsync@sheetsync-test.iam.gserviceaccount.com",
        "client_id": "100000000000000000000",
        "token_uri": f"{emulators.sheets_url}/token",
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info))
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A real PostgreSQL server for the session (Debian's package). In CI one that cannot start
    is a failure; on a developer's machine without it, the PostgreSQL tests are skipped."""
    from postgres_server import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as why:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must run in CI: {why}")
        pytest.skip(f"no PostgreSQL here: {why}")
    yield server
    server.stop()
