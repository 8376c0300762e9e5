"""`sheetsync run` as a real process: systemd notify messages, signals, reload."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support import HEADER, TOKEN, config_dict, day, job_config, write_config

from sheetsync.emulator import Emulators

pytestmark = pytest.mark.slow


class NotifySocket:
    """A stand-in for systemd's notify socket: collects what the daemon says."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []

    def collect(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            for line in data.splitlines():
                self.messages.append((time.monotonic(), line))

    def wait_for(self, prefix: str, seconds: float = 20) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for _, line in self.messages if line.startswith(prefix)]
            if found:
                return found[-1]
            self.collect(0.2)
        raise AssertionError(f"no {prefix} within {seconds}s; got {self.messages}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify.sock")
    yield listener
    listener.close()


def one_second_config(emulators: Emulators, tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "c.yaml",
        config_dict(emulators, tmp_path / "state.db", [job_config(poll_interval="1s")]),
    )


@contextmanager
def daemon(
    config: Path, notify_path: Path, watchdog_usec: int = 1_000_000
) -> Iterator[subprocess.Popen[str]]:
    """`sheetsync run` as a process, killed at the end if a test left it running."""
    process = start(config, notify_path, watchdog_usec)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None and not process.stderr.closed:
            process.stderr.close()


def start(config: Path, notify_path: Path, watchdog_usec: int = 1_000_000) -> subprocess.Popen[str]:
    env = {
        **__import__("os").environ,
        "META_ACCESS_TOKEN": TOKEN,
        "NOTIFY_SOCKET": str(notify_path),
        "WATCHDOG_USEC": str(watchdog_usec),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=15)
    assert process.stderr is not None
    err = process.stderr.read()
    process.stderr.close()
    return code, err


def test_run_notifies_systemd_and_stops_cleanly(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER, ["Ann", "ann@example.com", "", "", "", day(time.time() - 60), "New", ""]],
    )
    config = one_second_config(emulators, tmp_path)
    with daemon(config, notify_socket.path) as process:
        notify_socket.wait_for("READY=1")
        status = notify_socket.wait_for("STATUS=1/1 jobs ok")
        assert "1 events sent today" in status
        notify_socket.wait_for("WATCHDOG=1")
        # A person moves the lead on; the daemon picks it up on its own.
        emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Qualified")
        deadline = time.monotonic() + 15
        while len(emulators.graph.events()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [e["event_name"] for e in emulators.graph.events()] == ["Lead", "QualifiedLead"]
        started = time.monotonic()
        code, err = stop(process)
        assert code == 0
        assert time.monotonic() - started < 10
        notify_socket.collect(0.5)
        assert any(line == "STOPPING=1" for _, line in notify_socket.messages)
        assert "job sales: 1 leads, 1 sent" in err


def test_a_failing_daemon_stops_feeding_the_watchdog(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    emulators.sheets.seed(
        "sheet1", "Elsewhere", [HEADER]
    )  # the configured worksheet does not exist
    config = one_second_config(emulators, tmp_path)
    with daemon(config, notify_socket.path, watchdog_usec=500_000) as process:
        notify_socket.wait_for("READY=1")
        ready_at = time.monotonic()
        notify_socket.collect(6)
        late = [
            line
            for at, line in notify_socket.messages
            if line == "WATCHDOG=1" and at > ready_at + 4.5
        ]
        assert late == []  # only the start-up grace period (3 poll intervals) was fed
        assert any(line.startswith("STATUS=0/1 jobs ok") for _, line in notify_socket.messages)
        code, err = stop(process)
        assert code == 0
        assert "has no worksheet 'Leads'" in err
        assert "failed cycle(s) in a row" in err


def test_sighup_with_a_bad_config_keeps_the_old_one(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    emulators.sheets.seed("sheet1", "Leads", [HEADER])
    config = one_second_config(emulators, tmp_path)
    with daemon(config, notify_socket.path) as process:
        notify_socket.wait_for("READY=1")
        config.write_text("jobs: [oops\n")
        process.send_signal(signal.SIGHUP)
        notify_socket.wait_for("RELOADING=1")
        time.sleep(1.5)
        assert process.poll() is None
        code, err = stop(process)
        assert code == 0
        assert "config reload refused, keeping the running config" in err


@pytest.mark.parametrize("breakage", ["token variable", "key file", "state location"])
def test_sighup_with_a_config_that_cannot_be_built_keeps_the_old_one(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket, breakage: str
) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER, ["Ann", "ann@example.com", "", "", "", day(time.time() - 60), "New", ""]],
    )
    config = one_second_config(emulators, tmp_path)
    with daemon(config, notify_socket.path) as process:
        notify_socket.wait_for("READY=1")
        notify_socket.wait_for("STATUS=1/1 jobs ok")
        data = config_dict(emulators, tmp_path / "state.db", [job_config(poll_interval="1s")])
        if breakage == "token variable":
            data["meta"]["access_token_env"] = "NO_SUCH_TOKEN_VARIABLE"
        elif breakage == "key file":
            data["google"] = {"credentials_file": str(tmp_path / "missing-key.json")}
        else:
            (tmp_path / "not-a-dir").write_text("a file where a directory should be")
            data["state_path"] = str(tmp_path / "not-a-dir" / "state.db")
        write_config(config, data)
        process.send_signal(signal.SIGHUP)
        notify_socket.wait_for("RELOADING=1")
        notify_socket.wait_for("READY=1")
        # The old config goes on working: a lead moved after the reload is still sent.
        emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Qualified")
        deadline = time.monotonic() + 15
        while len(emulators.graph.events()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [e["event_name"] for e in emulators.graph.events()] == ["Lead", "QualifiedLead"]
        assert process.poll() is None
        code, err = stop(process)
        assert code == 0
        assert "config reload refused, keeping the running config" in err
        assert "stopping so systemd can restart" not in err


def test_a_second_daemon_on_the_same_state_file_is_refused(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    emulators.sheets.seed("sheet1", "Leads", [HEADER])
    config = one_second_config(emulators, tmp_path)
    with daemon(config, notify_socket.path) as first:
        notify_socket.wait_for("READY=1")
        second = subprocess.run(
            [sys.executable, "-m", "sheetsync", "once", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**__import__("os").environ, "META_ACCESS_TOKEN": TOKEN},
        )
        assert second.returncode == 1
        assert f"is in use by sheetsync pid {first.pid}" in second.stderr
        assert stop(first)[0] == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_metrics_json_logs_and_no_secrets_in_any_output(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    import json
    import re

    import requests

    raw_values = [
        "ann.secret@example.com",
        "+1 650 555 0142",
        "16505550142",
        "bob.private@example.com",
    ]
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            ["Ann", raw_values[0], raw_values[1], "", "", day(time.time() - 60), "Won", "12"],
            [
                "Bob",
                "bob.private@@example.com",
                "555",
                "",
                "",
                day(time.time() - 60),
                "Qualifed",
                "",
            ],
            ["Cy", raw_values[3], "", "", "", day(time.time() - 60), "New", ""],
        ],
    )
    emulators.graph.reject_events(
        lambda event: event["event_name"] == "Schedule", 2804050, "not enough"
    )
    port = _free_port()
    data = config_dict(emulators, tmp_path / "state.db", [job_config(poll_interval="1s")])
    data["metrics_port"] = port
    config = write_config(tmp_path / "c.yaml", data)
    env = {
        **__import__("os").environ,
        "META_ACCESS_TOKEN": TOKEN,
        "NOTIFY_SOCKET": str(notify_socket.path),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sheetsync",
            "--log-format",
            "json",
            "--verbose",
            "run",
            "--config",
            str(config),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        notify_socket.wait_for("STATUS=1/1 jobs ok")
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'sheetsync_events_total{event="Purchase",job="sales",outcome="sent"} 1' in metrics
        assert 'sheetsync_events_total{event="Schedule",job="sales",outcome="failed"} 1' in metrics
        assert 'sheetsync_cycles_total{job="sales",result="ok"}' in metrics
        assert 'sheetsync_api_calls_total{api="sheets",kind="read"}' in metrics
        assert 'sheetsync_api_calls_total{api="meta",kind="events"}' in metrics
        assert 'sheetsync_last_success_timestamp_seconds{job="sales"}' in metrics
        # Every series the Grafana dashboard queries is one this daemon exports.
        dashboard = (Path(__file__).parent.parent / "docs" / "grafana-dashboard.json").read_text()
        queried = set(re.findall(r"\bsheetsync_\w+", dashboard))
        exported = set(re.findall(r"^(sheetsync_\w+)", metrics, re.MULTILINE))
        assert queried and queried <= exported, queried - exported
        assert 'sheetsync_cycle_seconds_bucket{job="sales",le="' in metrics
        code, err = stop(process)
        assert code == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line["message"].startswith("job sales: 3 leads") for line in lines)
    everything = err + metrics + "".join(line for _, line in notify_socket.messages)
    everything += (tmp_path / "state.db").read_bytes().decode("latin-1")
    for secret in [TOKEN, *raw_values, "bob.private@@example.com"]:
        assert secret not in everything, secret


def test_when_even_the_running_config_cannot_be_rebuilt_the_daemon_exits_non_zero(
    emulators: Emulators, tmp_path: Path, notify_socket: NotifySocket
) -> None:
    """systemd's Restart=on-failure only restarts a service that failed: never exit 0 on an error."""
    emulators.sheets.seed("sheet1", "Leads", [HEADER])
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    data = config_dict(emulators, tmp_path / "state.db", [job_config(poll_interval="1s")])
    data["meta"]["access_token_file"] = str(token_file)
    config = write_config(tmp_path / "c.yaml", data)
    with daemon(config, notify_socket.path) as process:
        notify_socket.wait_for("READY=1")
        token_file.unlink()  # the credential vanished under the running service
        broken = {**data, "google": {"credentials_file": str(tmp_path / "missing-key.json")}}
        write_config(config, broken)
        process.send_signal(signal.SIGHUP)
        code = process.wait(timeout=20)
        assert process.stderr is not None
        err = process.stderr.read()
        assert code == 1, err
        assert "the running config cannot be restored" in err
