"""The local stack at a real history's size (issue 19, item 6): `loyalty import` of a purchase log of N
customers x 3 purchases, then `loyalty reclassify`, both against the local stack's moto server (its own
process, with tools/loyalty_tools/moto_fast.py's patches, as `make local` runs it).

    python -m bench.local_stack                # 25,000 customers (75,000 rows)
    python -m bench.local_stack --customers 5000
    python -m bench.local_stack --profile /tmp/moto  # cProfile of the moto server: /tmp/moto-N.prof

Targets: import >= 1,000 rows/s at 3 rows per customer; the monthly run >= 150 customers/s.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import Row, judged

IMPORT_TARGET = 1_000.0  # rows/s
RECLASSIFY_TARGET = 150.0  # customers/s
ROWS_PER_CUSTOMER = 3
AS_OF = date(2026, 3, 1)
ZONE = ZoneInfo("Europe/Paris")


def purchase_log(path: Path, customers: int, seed: int = 7) -> int:
    """A retailer's purchase log: `customers` customers with 3 purchases each over 2025, in the
    importer's default columns. Returns the row count."""
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, 9, tzinfo=ZONE)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["transaction_id", "customer_id", "occurred_at", "amount", "store_id", "channel", "category"]
        )
        for index in range(customers):
            day = start + timedelta(days=rng.randint(0, 300), minutes=rng.randint(0, 600))
            for k in range(ROWS_PER_CUSTOMER):
                cents = rng.randint(500, 15_000)
                category = rng.choice(["beauty", "food", "home", "toys", "fashion"])
                out.writerow(
                    [f"L{index:07d}-{k}", f"C{index:07d}", day.isoformat(timespec="seconds"),
                     f"{cents // 100}.{cents % 100:02d}", "S001", "store", category]
                )  # fmt: skip
                rows += 1
                day += timedelta(days=rng.randint(3, 40))
    return rows


@contextmanager
def local_moto(profile: Path | None = None) -> Any:
    """The local stack's moto server (tables, bus, queue, bucket), the environment pointing at it; with
    `profile` (a path prefix), the server runs under cProfile (localstack.Profiled): PREFIX-0.prof
    holds the setup, and each `phase_done` after it one more file."""
    from loyalty.settings import Settings, get_settings
    from loyalty_tools.localstack import (
        FAKE_CREDENTIALS,
        PROFILE_ENV,
        MotoServer,
        create_resources,
        local_environment,
    )

    saved = dict(os.environ)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    if profile is not None:
        os.environ[PROFILE_ENV] = str(profile)
    settings = Settings.from_env()
    moto = MotoServer().start()
    try:
        os.environ.update(local_environment(moto.url, settings))
        get_settings.cache_clear()
        create_resources(settings, moto.url)
        if profile is not None:
            phase_done(moto)
        yield moto
    finally:
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def phase_done(moto: Any) -> None:
    """A profiled server writes what it recorded so far (SIGUSR1), then starts afresh."""
    os.kill(moto._process.pid, signal.SIGUSR1)
    time.sleep(0.5)  # the server handles the signal between requests; none is in flight here


def own_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc; 0 where there is none): the moto server's
    own work, which the machine's load does not inflate the way it inflates wall time."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class LocalResult:
    customers: int
    rows: int
    import_seconds: float
    reclassify_seconds: float
    imported: int
    classified: int
    import_server_cpu: float = 0.0  # the moto server's CPU seconds during the import
    reclassify_server_cpu: float = 0.0
    import_client_cpu: float = 0.0  # this process's (the CLI's code, boto3, the threads)
    reclassify_client_cpu: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.import_seconds

    @property
    def customers_per_second(self) -> float:
        return self.customers / self.reclassify_seconds


def measure(customers: int, profile: Path | None = None) -> LocalResult:
    import io

    from loyalty_tools.importer import Columns, run_import
    from loyalty_tools.reclassify_local import run_reclassification
    from rich.console import Console

    folder = Path(tempfile.mkdtemp(prefix="local-stack-bench-"))
    try:
        log = folder / "purchases.csv"
        rows = purchase_log(log, customers)
        with local_moto(profile) as moto:
            pid = moto._process.pid  # type: ignore[union-attr]
            quiet = Console(file=io.StringIO())
            cpu, mine, started = cpu_seconds(pid), own_cpu(), time.perf_counter()
            result = run_import(str(log), Columns(), None, ",", False, None, 8, "env", "LoyaltyStack", quiet)
            import_seconds, import_cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
            import_mine = own_cpu() - mine
            if profile is not None:
                phase_done(moto)
            if result.imported != rows:
                raise RuntimeError(f"imported {result.imported} of {rows} rows: {dict(result.reasons)}")
            cpu, mine, started = cpu_seconds(pid), own_cpu(), time.perf_counter()
            run = run_reclassification(AS_OF)
            reclassify_seconds, reclassify_cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
            reclassify_mine = own_cpu() - mine
        return LocalResult(
            customers, rows, import_seconds, reclassify_seconds, result.imported,
            run["summary"]["customers"], import_cpu, reclassify_cpu, import_mine, reclassify_mine,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cpu_bound(client: float, server: float, count: int) -> float:
    """What the CPU figures allow per second when the CLI and the moto server each have a core of
    their own (they run side by side; the machine's other load is what the wall rate pays for)."""
    return count / max(client, server, 1e-9)


def rows(quick: bool) -> list[Row]:
    n = 2_000 if quick else 5_000  # the 25,000 of the target: python -m bench.local_stack (docs/bench.md)
    r = measure(n)
    return [
        judged(
            "local stack: import rows/s at 3 rows per customer",
            r.rows_per_second / IMPORT_TARGET,
            ">= 1.0",
            f"{r.rows_per_second:,.0f} rows/s vs target {IMPORT_TARGET:,.0f}: {r.rows:,} rows of "
            f"{r.customers:,} customers in {r.import_seconds:.1f} s, measured at {r.customers:,} (target "
            f"stated at 25,000); CPU a row: moto server {1e3 * r.import_server_cpu / r.rows:.2f} ms, CLI "
            f"{1e3 * r.import_client_cpu / r.rows:.2f} ms (at most "
            f"{cpu_bound(r.import_client_cpu, r.import_server_cpu, r.rows):,.0f} rows/s on two free cores)",
        ),
        judged(
            "local stack: monthly run customers/s",
            r.customers_per_second / RECLASSIFY_TARGET,
            ">= 1.0",
            f"{r.customers_per_second:,.0f} customers/s vs target {RECLASSIFY_TARGET:,.0f}: "
            f"{r.classified:,} customers in {r.reclassify_seconds:.1f} s, measured at {r.customers:,} "
            f"(target stated at 25,000); CPU a customer: moto server "
            f"{1e3 * r.reclassify_server_cpu / r.customers:.2f} ms, CLI "
            f"{1e3 * r.reclassify_client_cpu / r.customers:.2f} ms (at most "
            f"{cpu_bound(r.reclassify_client_cpu, r.reclassify_server_cpu, r.customers):,.0f} customers/s "
            f"on two free cores)",
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument(
        "--profile", type=Path, help="cProfile of the moto server: PREFIX-1.prof (import), -2 (run)"
    )
    args = parser.parse_args(argv)
    r = measure(args.customers, args.profile)
    print(
        f"import: {r.rows:,} rows ({r.customers:,} customers) in {r.import_seconds:.1f} s = "
        f"{r.rows_per_second:,.0f} rows/s (target {IMPORT_TARGET:,.0f}); moto server CPU "
        f"{r.import_server_cpu:.1f} s = {1e3 * r.import_server_cpu / r.rows:.2f} ms a row, CLI CPU "
        f"{r.import_client_cpu:.1f} s\n"
        f"reclassify: {r.classified:,} customers in {r.reclassify_seconds:.1f} s = "
        f"{r.customers_per_second:,.0f} customers/s (target {RECLASSIFY_TARGET:,.0f}); moto server CPU "
        f"{r.reclassify_server_cpu:.1f} s = {1e3 * r.reclassify_server_cpu / r.customers:.2f} ms a customer, "
        f"CLI CPU {r.reclassify_client_cpu:.1f} s\n"
        f"bound by CPU alone (CLI and server on a core each): import "
        f"{cpu_bound(r.import_client_cpu, r.import_server_cpu, r.rows):,.0f} rows/s, reclassify "
        f"{cpu_bound(r.reclassify_client_cpu, r.reclassify_server_cpu, r.customers):,.0f} customers/s"
    )


if __name__ == "__main__":
    main()
