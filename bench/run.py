"""sheetsync benchmark: cost per cycle in API calls and time, against the emulators on loopback.

    .venv/bin/python bench/run.py                 # 100,000 rows × 15 columns, every scenario
    .venv/bin/python bench/run.py --rows 5000 --skip-latency

Scenarios (issue "Performance"): the bare gspread read of the sheet; the steady-state cycle
(sheetsync's own time = cycle time minus its values reads); a burst of 10,000 stage changes;
peak memory of the process running the cycles; latency from an edit to Meta's receipt with
poll_interval 15s. The emulators run in their own process (`sheetsync emulator`), so their
work is not counted as sheetsync's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

STAGES = ["New", "Qualified", "Meeting Booked", "Won"]
HEADER = [
    "Name",
    "Email",
    "Phone",
    "Lead ID",
    "fbclid",
    "Created",
    "Stage",
    "Deal Value",
    "Company",
    "City",
    "Owner",
    "Source",
    "Notes",
    "Campaign",
    "Priority",
]
TOKEN = "bench-token"


def build_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    created = datetime.fromtimestamp(time.time() - 3 * 86400, UTC).strftime("%Y-%m-%d %H:%M")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [
                    f"Lead {n}",
                    f"lead{n}@example.com",
                    f"+1 650 555 {n % 10000:04d}",
                    f"'{120245117458290 + n}",
                    f"IwAR{n:08d}xyz",
                    created,
                    rng.choice(STAGES[:2]),
                    str(rng.randrange(100, 5000)),
                    f"Company {n % 997}",
                    "San Francisco",
                    f"rep{n % 17}",
                    "lead form",
                    "called twice, wants a demo",
                    f"spring-{n % 7}",
                    rng.choice(["high", "low"]),
                ]
            )


@contextmanager
def emulator_process(csv_path: Path) -> Iterator[dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "emulator", "--seed-csv", str(csv_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        found = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(4))
        yield found
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def config_file(
    directory: Path, urls: dict[str, str], poll: str = "60s", state_url: str | None = None
) -> Path:
    import yaml

    from sheetsync.app.example import example_job

    state: dict[str, Any] = (
        {"state_url": state_url, "lease_seconds": 300}  # outlasts two sends at a 30 s timeout
        if state_url
        else {"state_path": str(directory / "state.db")}
    )
    data = {
        **state,
        "google": {"api_base_url": urls["sheets"], "anonymous": True, "timeout": 120},
        "meta": {"graph_base_url": urls["graph"], "timeout": 30},
        "jobs": [example_job(name="bench", poll_interval=poll, initial_sync="none")],
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))  # stage order is funnel order
    return path


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def summary(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def counts(urls: dict[str, str]) -> dict[str, int]:
    return dict(requests.get(f"{urls['sheets']}/_emulator/counts", timeout=60).json())


def reset_counts(urls: dict[str, str]) -> None:
    requests.post(f"{urls['sheets']}/_emulator/reset-counts", timeout=60)


def meta_requests(urls: dict[str, str]) -> int:
    return int(requests.get(f"{urls['graph']}/_emulator/requests", timeout=120).json()["requests"])


# --- the worker: runs sheetsync cycles in a process of its own, so its peak memory is its own --------
def worker(config_path: Path, urls: dict[str, str], repeats: int, burst: int) -> dict[str, Any]:
    from sheetsync.adapters import sheet as sheet_module
    from sheetsync.app.config_file import load as load_config
    from sheetsync.app.runtime import build

    os.environ["META_ACCESS_TOKEN"] = TOKEN
    read_seconds = [0.0]
    original_read = sheet_module.LeadSheet.read

    def measured_read(self: Any, columns: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_read(self, columns)
        finally:
            read_seconds[0] += time.perf_counter() - started

    sheet_module.LeadSheet.read = measured_read  # type: ignore[method-assign]
    runtime = build(load_config(config_path))
    results: dict[str, Any] = {}
    # Adopting the sheet: every row read, given its key and its first-cycle status, in one cycle.
    seconds, reports = timed(runtime.run_once)
    results["adoption_seconds"] = round(seconds, 3)
    results["adoption_peak_rss_mb"] = peak_rss_mb(reset=True)
    results["adoption"] = reports[0].summary()
    settle, reports = timed(runtime.run_once)  # reads back what the last adoption cycle wrote
    results["settle_cycle_seconds"] = round(settle, 3)
    peak_rss_mb(reset=True)
    steady_total, steady_own, steady_calls = [], [], []
    for _ in range(repeats):
        reset_counts(urls)
        meta_before = meta_requests(urls)
        read_seconds[0] = 0.0
        seconds, reports = timed(runtime.run_once)
        assert reports[0].ok, reports[0].error
        steady_total.append(seconds)
        steady_own.append(seconds - read_seconds[0])
        steady_calls.append({**counts(urls), "meta": meta_requests(urls) - meta_before})
    results["steady_cycle_seconds"] = summary(steady_total)
    results["steady_own_seconds"] = summary(steady_own)
    results["steady_api_calls"] = steady_calls[-1]
    results["steady_peak_rss_mb"] = peak_rss_mb(reset=True)

    if burst:
        # Each of the first `burst` leads moves one stage on: one new event per change.
        move_stages_on(urls, burst)
        reset_counts(urls)
        meta_before = meta_requests(urls)
        peak_rss_mb(reset=True)  # the burst's own peak, not the preparation's
        seconds, reports = timed(runtime.run_once)
        results["burst_peak_rss_mb"] = peak_rss_mb(reset=True)  # before the counts fetch the events
        results["burst_seconds"] = round(seconds, 3)
        results["burst"] = reports[0].summary()
        results["burst_api_calls"] = {**counts(urls), "meta": meta_requests(urls) - meta_before}
    runtime.close()
    if not runtime.config.state_url:
        results["state_file_mb"] = round(Path(runtime.config.state_path).stat().st_size / 1e6, 2)
    return results


def move_stages_on(urls: dict[str, str], rows: int) -> None:
    """A person moves each of the first `rows` leads one stage on: one new event per change."""
    shown = requests.get(
        f"{urls['sheets']}/_emulator/cells?spreadsheet=demo&worksheet=Leads&limit={rows + 1}",
        timeout=300,
    )
    stages = [row[6] for row in shown.json()["values"][1 : rows + 1]]
    edits = [
        {"op": "type", "row": row, "column": 7, "text": STAGES[STAGES.index(stage) + 1]}
        for row, stage in enumerate(stages, start=2)
    ]
    requests.post(
        f"{urls['sheets']}/_emulator/edit",
        json={"spreadsheet": "demo", "worksheet": "Leads", "edits": edits},
        timeout=300,
    )


# --- whole processes: `sheetsync once` as a user or a cron job meets it ---------------------------
def once_process(config_path: Path) -> tuple[float, float, str]:
    """Wall time (Python start-up included), peak RSS in MB, and the last line it printed."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "once", "--config", str(config_path)],
        env={**os.environ, "META_ACCESS_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)  # this process's own peak, not the largest child's
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    lines = output.strip().splitlines()
    return seconds, round(usage.ru_maxrss / 1024, 1), lines[-1] if lines else ""


def processes(directory: Path, csv_path: Path, repeats: int, burst: int) -> dict[str, Any]:
    """A fresh state on the untouched sheet: adoption, quiet runs and a burst, each one `once`
    process, with the bare read of the same emulator beside them."""
    results: dict[str, Any] = {}
    with emulator_process(csv_path) as urls:
        results["bare_gspread_get_all_values_seconds"] = summary(bare_gspread_read(urls, repeats))
        config_path = config_file(directory, urls)
        seconds, peak, line = once_process(config_path)
        results["adoption"] = {"seconds": round(seconds, 3), "peak_rss_mb": peak, "line": line}
        quiet = []
        for _ in range(repeats):
            reset_counts(urls)
            quiet.append(once_process(config_path))
        results["quiet_seconds"] = summary([seconds for seconds, _, _ in quiet])
        results["quiet_peak_rss_mb"] = max(peak for _, peak, _ in quiet)
        results["quiet_api_calls"] = counts(urls)
        if burst:
            move_stages_on(urls, burst)
            reset_counts(urls)
            meta_before = meta_requests(urls)
            seconds, peak, line = once_process(config_path)
            results["burst"] = {
                "seconds": round(seconds, 3),
                "peak_rss_mb": peak,
                "line": line,
                "api_calls": {**counts(urls), "meta": meta_requests(urls) - meta_before},
            }
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sheetsync.app.cli"], check=True)
    results["python_start_and_imports_seconds"] = round(time.perf_counter() - started, 3)
    return results


def peak_rss_mb(reset: bool) -> float:
    """This process's peak resident memory since the last reset (Linux: VmHWM, reset via clear_refs)."""
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    return round(peak / 1024, 1)


def bare_gspread_read(urls: dict[str, str], repeats: int) -> list[float]:
    from sheetsync.adapters.sheet import connect
    from sheetsync.core.config import GoogleConfig

    client = connect(GoogleConfig(api_base_url=urls["sheets"], anonymous=True, timeout=120))
    worksheet = client.open_by_key("demo").worksheet("Leads")
    return [timed(worksheet.get_all_values)[0] for _ in range(repeats)]


def latency(directory: Path, urls: dict[str, str], edits: int, rows: int) -> dict[str, Any]:
    """The daemon with poll_interval 15s; a person edits a stage now and then; how long until Meta has it?"""
    config_path = config_file(directory, urls, poll="15s")
    env = {**os.environ, "META_ACCESS_TOKEN": TOKEN}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "run", "--config", str(config_path)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(9)
    try:
        time.sleep(20)  # first cycle done
        already = len(
            requests.get(f"{urls['graph']}/_emulator/events", timeout=120).json()["events"]
        )
        edited: dict[int, float] = {}
        candidates = rng.sample(range(rows - edits, rows), edits)  # rows the burst did not touch
        for row_index in candidates:
            time.sleep(rng.uniform(0.2, 1.3))
            edited[row_index] = time.time()
            requests.post(
                f"{urls['sheets']}/_emulator/edit",
                json={
                    "spreadsheet": "demo",
                    "worksheet": "Leads",
                    "op": "type",
                    "row": row_index + 2,
                    "column": 7,
                    "text": "Meeting Booked",
                },
                timeout=60,
            )
        deadline = time.time() + 60
        while time.time() < deadline:
            events = requests.get(f"{urls['graph']}/_emulator/events", timeout=120).json()[
                "events"
            ][already:]
            got = {
                e["user_data"]["em"][0]: e["_received_at"]
                for e in events
                if e["event_name"] == "Schedule"
            }
            if len(got) >= edits:
                break
            time.sleep(1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
    from sheetsync.core.identity import sha256

    delays = sorted(
        got[sha256(f"lead{row}@example.com")] - at
        for row, at in edited.items()
        if sha256(f"lead{row}@example.com") in got
    )
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
    return {
        "edits": edits,
        "received": len(delays),
        "p50_seconds": round(statistics.median(delays), 2),
        "p95_seconds": round(p95, 2),
        "max_seconds": round(delays[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--latency-edits", type=int, default=200)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-processes", action="store_true")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also run the daemon scenarios on a PostgreSQL state (Debian's server, started here)",
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        config_path, urls_json = args.worker
        print(
            json.dumps(worker(Path(config_path), json.loads(urls_json), args.repeats, args.burst))
        )
        return 0

    directory = Path(tempfile.mkdtemp(prefix="sheetsync-bench-"))
    csv_path = directory / "leads.csv"
    build_csv(csv_path, args.rows)
    report: dict[str, Any] = {"rows": args.rows, "columns": len(HEADER), "machine": machine()}
    if not args.skip_processes:
        processes_dir = directory / "processes"
        processes_dir.mkdir()
        report["once_processes"] = processes(processes_dir, csv_path, args.repeats, args.burst)
        once = report["once_processes"]
        bare_median = once["bare_gspread_get_all_values_seconds"]["median"]
        once["quiet_vs_bare_read"] = round(once["quiet_seconds"]["median"] / bare_median, 2)
        once["adoption_vs_bare_read"] = round(once["adoption"]["seconds"] / bare_median, 2)
    with emulator_process(csv_path) as urls:
        bare = bare_gspread_read(urls, args.repeats)
        report["bare_gspread_get_all_values_seconds"] = summary(bare)
        config_path = config_file(directory, urls)
        worker_run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--repeats",
                str(args.repeats),
                "--burst",
                str(args.burst),
                "--worker",
                str(config_path),
                json.dumps(urls),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report.update(json.loads(worker_run.stdout.strip().splitlines()[-1]))
        report["adoption_vs_bare_read"] = round(
            report["adoption_seconds"] / report["bare_gspread_get_all_values_seconds"]["median"], 2
        )
        report["own_time_vs_bare_read"] = round(
            report["steady_own_seconds"]["median"]
            / report["bare_gspread_get_all_values_seconds"]["median"],
            3,
        )
        if not args.skip_latency:
            report["latency_poll_15s"] = latency(directory, urls, args.latency_edits, args.rows)
    if args.postgres:
        report["postgres"] = on_postgres(directory, csv_path, args)
    print(json.dumps(report, indent=2))
    return 0


def on_postgres(directory: Path, csv_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The daemon scenarios again, the state on PostgreSQL (on this machine, over loopback)."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    from postgres_server import PostgresServer

    server = PostgresServer().start()
    try:
        with emulator_process(csv_path) as urls:
            bare = bare_gspread_read(urls, args.repeats)
            place = directory / "postgres"
            place.mkdir()
            config_path = config_file(place, urls, state_url=server.new_database())
            worker_run = subprocess.run(
                [
                    sys.executable, __file__, "--repeats", str(args.repeats), "--burst",
                    str(args.burst), "--worker", str(config_path), json.dumps(urls),
                ],
                capture_output=True,
                text=True,
                check=False,
            )  # fmt: skip
            if worker_run.returncode != 0:
                raise SystemExit(f"the PostgreSQL worker failed:\n{worker_run.stderr[-3000:]}")
            result: dict[str, Any] = json.loads(worker_run.stdout.strip().splitlines()[-1])
            result.pop("state_file_mb", None)
            result["bare_gspread_get_all_values_seconds"] = summary(bare)
            return result
    finally:
        server.stop()


def machine() -> str:
    cpu = "unknown cpu"
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    sys.exit(main())
