"""The suite itself refuses to leave the machine."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import requests


def test_connection_to_a_public_address_fails() -> None:
    with pytest.raises(AssertionError, match="only loopback"):
        socket.create_connection(("93.184.215.14", 443), timeout=1)


def test_resolving_a_public_name_fails() -> None:
    with pytest.raises(AssertionError, match="only loopback"):
        requests.get("https://graph.facebook.com/v26.0/", timeout=1)


def test_child_processes_are_guarded_too() -> None:
    code = "import socket; socket.create_connection(('8.8.8.8', 53), timeout=1)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "only loopback" in result.stderr
