"""Several instances on one PostgreSQL state (issue #15): real daemons against the emulators and
a real PostgreSQL, short leases. kill -9 of an instance mid-send, SIGSTOP past the lease then
SIGCONT, SIGTERM: each job keeps running somewhere, every event reaches Meta, no event id ever
arrives with two payloads, and every row's status ends right."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import HEADER, TOKEN, config_dict, day, job_config, sheet_rows, write_config

from sheetsync.emulator import Emulators

pytestmark = pytest.mark.slow
STAGES = ["New", "Qualified", "Meeting Booked", "Won"]
EVENTS = ["Lead", "QualifiedLead", "Schedule", "Purchase"]
SHEETS = ["sheet1", "sheet2", "sheet3"]
LEADS = 4
LEASE = 5


def seed_sheets(emulators: Emulators) -> None:
    """Three sheets (three jobs) of LEADS new leads each."""
    for sheet in SHEETS:
        rows = [
            [f"L{n}", f"l{n}@{sheet}.example.com", "", "", "", day(time.time() - 600), "New", "100"]
            for n in range(LEADS)
        ]
        emulators.sheets.seed(sheet, "Leads", [HEADER, *rows])


def assert_one_sender_per_job_at_a_time(emulators: Emulators) -> None:
    """No two instances' requests to Meta for the same job (sheet) overlap in time."""
    from sheetsync.core.identity import sha256

    sheet_of = {
        sha256(f"l{n}@{sheet}.example.com"): sheet for sheet in SHEETS for n in range(LEADS)
    }
    spans: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for agent, start, end, params in emulators.graph.windows:
        data = params["data"]
        events = json.loads(data) if isinstance(data, str) else data
        for sheet in {sheet_of[e["user_data"]["em"][0]] for e in events}:
            spans[sheet].append((agent, start, end))
    assert spans, "no request was recorded"
    for sheet, windows in spans.items():
        for agent, start, end in windows:
            for other, other_start, other_end in windows:
                overlapping = start < other_end and other_start < end
                assert agent == other or not overlapping, f"{agent} and {other} both sent {sheet}"
    agents = {agent for windows in spans.values() for agent, _, _ in windows}
    assert all(agent.startswith("sheetsync (") for agent in agents), agents


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, done: Callable[[], bool], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.3)
    raise AssertionError(f"waited {seconds} s for {what}")


class Cluster:
    def __init__(self, emulators: Emulators, tmp_path: Path, url: str) -> None:
        self.emulators = emulators
        self.tmp_path = tmp_path
        self.url = url
        self.stage = {(sheet, n): 0 for sheet in SHEETS for n in range(LEADS)}
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self.logs: list[Any] = []
        self.ports: dict[str, int] = {}

    def config(self, instance: str) -> Path:
        jobs = [
            job_config(name=sheet, spreadsheet=sheet, poll_interval="1s", initial_sync="all")
            for sheet in SHEETS
        ]
        data: dict[str, Any] = config_dict(self.emulators, self.tmp_path / "unused.db", jobs)
        del data["state_path"]
        data.update(state_url=self.url, instance=instance, lease_seconds=LEASE)
        data["metrics_port"] = self.ports.setdefault(instance, _free_port())
        data["meta"]["timeout"] = 0.5  # a send needs 4 × 0.5 + 5 s of lease left
        return write_config(self.tmp_path / f"{instance}.yaml", data)

    def start(self, instance: str) -> None:
        log = (self.tmp_path / f"{instance}.log").open("a")
        self.logs.append(log)
        self.processes[instance] = subprocess.Popen(
            [sys.executable, "-m", "sheetsync", "run", "--config", str(self.config(instance))],
            stderr=log,
            env={**os.environ, "META_ACCESS_TOKEN": TOKEN},
            text=True,
        )

    def holders(self) -> dict[str, str]:
        from sheetsync.adapters.postgres import PostgresStore

        store = PostgresStore.open(self.url)
        try:
            return {job: holder for job, (holder, left) in store.leases().items() if left > 0}
        finally:
            store.close()

    def move_on(self, sheet: str, n: int) -> None:
        if self.stage[(sheet, n)] < 3:
            self.stage[(sheet, n)] += 1
            worksheet = self.emulators.sheets.worksheet(sheet, "Leads")
            with self.emulators.sheets.lock:
                row = next(i for i, r in enumerate(worksheet.rows, 1) if r and r[0] == f"L{n}")
                worksheet.type_cell(row, 7, STAGES[self.stage[(sheet, n)]])

    def settled(self) -> bool:
        for sheet in SHEETS:
            rows = sorted(sheet_rows(self.emulators, sheet), key=lambda r: r["Name"])
            for n, row in enumerate(rows):
                if row.get("Sent Events", "").split(", ")[-1] != EVENTS[self.stage[(sheet, n)]]:
                    return False
        return True

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def test_jobs_survive_kill_freeze_and_restart_of_instances(
    emulators: Emulators, tmp_path: Path, postgres: Any
) -> None:
    seed_sheets(emulators)
    cluster = Cluster(emulators, tmp_path, postgres.new_database())
    try:
        cluster.start("A")
        cluster.start("B")
        wait_for(
            "both instances to run jobs", lambda: set(cluster.holders().values()) == {"A", "B"}
        )
        wait_for("the first cycles", cluster.settled)
        held = list(cluster.holders().values())
        assert max(held.count("A"), held.count("B")) <= 2  # ⌈3 jobs / 2 instances⌉
        from support import run_cli

        shown = run_cli("status", "--config", str(cluster.config("A")))
        assert "instances alive: A, B" in shown.stdout, shown.stdout + shown.stderr
        assert re.search(r"runs on: [AB], lease until \d\d:\d\d:\d\d", shown.stdout)
        import requests

        scraped = requests.get(f"http://127.0.0.1:{cluster.ports['A']}/metrics", timeout=5).text
        assert 'sheetsync_instance_info{instance="A"} 1.0' in scraped
        assert f'sheetsync_leases_held{{instance="A"}} {held.count("A")}.0' in scraped

        # kill -9 of A while its sends are in flight; B takes its jobs within lease + interval.
        emulators.graph.latency = 0.3
        for sheet in SHEETS:
            cluster.move_on(sheet, 0)
        time.sleep(1.2)
        cluster.processes["A"].send_signal(signal.SIGKILL)
        cluster.processes["A"].wait()
        killed_at = time.monotonic()
        wait_for("B to hold every job", lambda: set(cluster.holders().values()) == {"B"})
        assert time.monotonic() - killed_at <= LEASE + 1 + 5  # lease + a poll interval + slack
        wait_for("the moves made before the kill", cluster.settled)

        # A comes back; then it freezes (SIGSTOP) longer than its lease, then wakes up.
        cluster.start("A2")
        wait_for("the jobs to spread again", lambda: "A2" in cluster.holders().values())
        cluster.processes["A2"].send_signal(signal.SIGSTOP)
        for sheet in SHEETS:
            cluster.move_on(sheet, 1)
        wait_for(
            "B to take the frozen instance's jobs", lambda: set(cluster.holders().values()) == {"B"}
        )
        wait_for("the moves made during the freeze", cluster.settled)
        cluster.processes["A2"].send_signal(signal.SIGCONT)
        for sheet in SHEETS:
            cluster.move_on(sheet, 2)
        wait_for("the moves made after the wake-up", cluster.settled)

        # SIGTERM releases the leases at once: a rolling restart waits for no lease.
        cluster.processes["B"].send_signal(signal.SIGTERM)
        assert cluster.processes["B"].wait(timeout=30) == 0
        stopped_at = time.monotonic()
        wait_for("A2 to hold every job", lambda: set(cluster.holders().values()) == {"A2"}, 10)
        assert time.monotonic() - stopped_at < LEASE  # sooner than any lease could expire
        for sheet in SHEETS:
            cluster.move_on(sheet, 3)
        wait_for("the last moves", cluster.settled)
    finally:
        cluster.stop_all()

    received = emulators.graph.events()
    payloads: dict[str, set[str]] = defaultdict(set)
    for event in received:
        payloads[event["event_id"]].add(json.dumps(event, sort_keys=True))
    assert {i: p for i, p in payloads.items() if len(p) > 1} == {}, "an event id with two payloads"
    assert_one_sender_per_job_at_a_time(emulators)
    wanted = {
        (sheet, n, EVENTS[s])
        for (sheet, n), stage in cluster.stage.items()
        for s in range(stage + 1)
    }
    from sheetsync.core.identity import sha256

    got = {
        (sheet, n, e["event_name"])
        for e in received
        for sheet in SHEETS
        for n in range(LEADS)
        if e["user_data"]["em"][0] == sha256(f"l{n}@{sheet}.example.com")
    }
    assert got == wanted
    logs = "".join((tmp_path / f"{name}.log").read_text() for name in ("A", "B", "A2"))
    assert "arrives on instance B" in logs and "leaves instance" in logs
    assert TOKEN not in logs


def test_jobs_go_on_after_the_database_restarts(
    emulators: Emulators, tmp_path: Path, postgres: Any
) -> None:
    seed_sheets(emulators)
    cluster = Cluster(emulators, tmp_path, postgres.new_database())
    try:
        cluster.start("A")
        cluster.start("B")
        wait_for("the first cycles", cluster.settled)
        postgres.restart()  # every connection breaks; the cycles that meet it fail, visibly
        for sheet in SHEETS:
            cluster.move_on(sheet, 0)
        wait_for("the moves made across the restart", cluster.settled)
        assert all(process.poll() is None for process in cluster.processes.values())
    finally:
        cluster.stop_all()
    payloads: dict[str, set[str]] = defaultdict(set)
    for event in emulators.graph.events():
        payloads[event["event_id"]].add(json.dumps(event, sort_keys=True))
    assert {i: p for i, p in payloads.items() if len(p) > 1} == {}
    assert len(payloads) == len(SHEETS) * (LEADS + 1)  # every Lead, and each sheet's one move
    assert_one_sender_per_job_at_a_time(emulators)


class StallingProxy:
    """A TCP proxy between one instance and the database that can stop forwarding (a network
    partition: the connections stay open, the bytes stop), then forward again."""

    def __init__(self, target_port: int) -> None:
        import socket
        import threading

        self.target_port = target_port
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[Any] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self.closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: Any, sink: Any) -> None:
        while not self.closed.is_set():
            self.flowing.wait()
            try:
                data = source.recv(65536)
                while not self.flowing.is_set() and not self.closed.is_set():
                    time.sleep(0.05)  # partitioned: what was read waits, nothing goes through
                if not data:
                    return
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.closed.set()
        self.flowing.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


def test_an_instance_cut_off_from_the_database_loses_its_jobs_and_sends_nothing_twice(
    emulators: Emulators, tmp_path: Path, postgres: Any
) -> None:
    seed_sheets(emulators)
    url = postgres.new_database()
    proxy = StallingProxy(postgres.port)
    cluster = Cluster(emulators, tmp_path, url)
    try:
        cluster.url = url.replace(f":{postgres.port}/", f":{proxy.port}/")  # A goes through it
        cluster.start("A")
        cluster.url = url
        cluster.start("B")
        wait_for(
            "both instances to run jobs", lambda: set(cluster.holders().values()) == {"A", "B"}
        )
        wait_for("the first cycles", cluster.settled)
        proxy.flowing.clear()  # the partition
        for sheet in SHEETS:
            cluster.move_on(sheet, 0)
        wait_for("B to hold every job", lambda: set(cluster.holders().values()) == {"B"})
        wait_for("the moves made during the partition", cluster.settled)
        proxy.flowing.set()  # A is back: its leases are gone, it writes and sends nothing for them
        for sheet in SHEETS:
            cluster.move_on(sheet, 1)
        wait_for("the moves made after the partition", cluster.settled)
    finally:
        cluster.stop_all()
        proxy.close()
    payloads: dict[str, set[str]] = defaultdict(set)
    for event in emulators.graph.events():
        payloads[event["event_id"]].add(json.dumps(event, sort_keys=True))
    assert {i: p for i, p in payloads.items() if len(p) > 1} == {}
    assert len(payloads) == len(SHEETS) * (LEADS + 2)  # every Lead, and each sheet's two moves
    assert_one_sender_per_job_at_a_time(emulators)
