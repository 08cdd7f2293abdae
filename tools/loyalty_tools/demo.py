"""`make demo` / `loyalty demo`: a synthetic retailer's year through the real API, with the monthly runs.

1. starts the local stack in this process (moto + the real handlers behind the gateway, own ports);
2. simulates the retailer month by month (tools/loyalty_tools/simulate.py, deterministic by --seed);
3. posts every transaction through the HTTP API, concurrently (a thread pool, one keep-alive
   requests.Session per thread; one customer's transactions in order, customers in parallel), and
   turns points into vouchers now and then (POST .../redemptions) like customers at a till;
4. at each month's end runs the monthly reclassification through the schedule's own entry point
   (reclassify_local.run_reclassification, as of the first day of the next month);
5. consumes the bus like a marketing tool (the SQS queue subscribed to it), counting by detail-type;
6. prints segment and tier shares by month and the last migration matrix, and writes demo-report/
   (PNG charts and index.html).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests
from rich.console import Console

from loyalty_tools.local import state_dir
from loyalty_tools.progress import make_console, progress_bar
from loyalty_tools.report import ReportData, add_profiles, new_report, print_tables
from loyalty_tools.simulate import PERSONAS, Simulation, simulate

REDEEM_CHANCE = {"champion": 0.5, "regular": 0.35, "sleeper": 0.35, "drifting": 0.3, "churner": 0.2}
RETRY_STATUSES = {429, 502, 503, 504}


@dataclass
class PostStats:
    posted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    redeemed: Counter[str] = field(default_factory=Counter)  # month -> points redeemed
    redemptions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Poster:
    """Posts one month of the simulation: customers in parallel, each customer's bodies in order."""

    def __init__(self, api_url: str, api_key: str, threads: int, seed: int, block_points: int) -> None:
        self.api_url = api_url
        self.headers = {"x-api-key": api_key, "content-type": "application/json"}
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="post")
        self.stats = PostStats()
        self.seed = seed
        self.block = block_points
        self.redeem = True

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=1)
            session.mount("http://", adapter)
        return session

    def _send(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body, separators=(",", ":"))
        for attempt in range(6):
            try:
                response = self.session().post(
                    self.api_url + path, data=data, headers=self.headers, timeout=60
                )
            except requests.RequestException:
                if attempt == 5:
                    raise
                time.sleep(0.05 * 2**attempt)
                continue
            if response.status_code in RETRY_STATUSES and attempt < 5:
                time.sleep(0.05 * 2**attempt)
                continue  # same body again: the API is idempotent by id
            try:
                payload = response.json()
            except ValueError:
                payload = {"raw": response.text[:200]}
            return response.status_code, payload
        raise AssertionError("unreachable")

    def _customer(self, month: str, persona: str, bodies: list[dict[str, Any]], advance: Any) -> None:
        rng = random.Random(f"{self.seed}:{bodies[0]['customer_id']}:{month}:redeem")
        redemptions = 0
        for body in bodies:
            status, answer = self._send("/v1/transactions", body)
            with self.stats.lock:
                self.stats.posted += 1
                self.stats.statuses[status] += 1
                if status != 201:
                    self.stats.failures.append(f"{body['transaction_id']}: {status} {answer}")
            advance(1)
            balance = answer.get("points_balance", 0) if status == 201 else 0
            if (
                self.redeem
                and body.get("original_transaction_id") is None
                and balance >= self.block
                and rng.random() < REDEEM_CHANCE.get(persona, 0.0)
            ):
                redemptions += 1
                customer = body["customer_id"]
                request = {"redemption_id": f"{customer}-{month}-V{redemptions}", "points": self.block}
                status, answer = self._send(f"/v1/customers/{customer}/redemptions", request)
                with self.stats.lock:
                    if status == 201:
                        self.stats.redeemed[month] += int(answer.get("points_redeemed", self.block))
                        self.stats.redemptions += 1
                    elif status == 404:
                        self.redeem = False  # a stack without the redemptions route
                    elif status != 409:  # 409: the balance no longer covers it (a return came first)
                        self.stats.failures.append(
                            f"redemption {request['redemption_id']}: {status} {answer}"
                        )

    def post_month(
        self, month: str, plan: dict[str, list[dict[str, Any]]], personas: dict[str, str], advance: Any
    ) -> None:
        futures = [
            self.pool.submit(self._customer, month, personas[cid], bodies, advance)
            for cid, bodies in plan.items()
            if bodies
        ]
        for future in futures:
            future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class MarketingConsumer:
    """What a CRM would do: read the queue subscribed to the bus, drop duplicates by event_id, count."""

    def __init__(self, moto_url: str, queue_url: str) -> None:
        import boto3

        self.sqs = boto3.client("sqs", endpoint_url=moto_url)
        self.queue_url = queue_url
        self.counts: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.duplicates = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="marketing", daemon=True)

    def start(self) -> MarketingConsumer:
        self._thread.start()
        return self

    def poll(self) -> int:
        # No long polling: moto serves one request at a time, and a waiting receive would hold it.
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            detail = event.get("detail") or {}
            key = detail.get("event_id") or event.get("id")
            if key in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(key)
            self.counts[event.get("detail-type", "?")] += 1
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # Gently: moto serves one request at a time, and the API and the monthly run need it.
                self._stop.wait(0.05 if self.poll() else 0.5)
            except Exception:  # the stack is going away; drain() reports what was read
                self._stop.wait(0.5)

    def drain(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        empty = 0
        while empty < 2:
            empty = empty + 1 if not self.poll() else 0


@dataclass
class DemoResult:
    simulation: Simulation
    data: ReportData
    stats: PostStats
    events: dict[str, int]
    seconds: float
    written: dict[str, Path]

    @property
    def ok(self) -> bool:
        return not self.stats.failures


def run_demo(
    customers: int = 400,
    months: int = 13,
    seed: int = 7,
    start_month: str = "2025-01",
    out_dir: str = "demo-report",
    threads: int = 12,
    workers: int = 3,
    console: Console | None = None,
    segments: int = 1,
) -> DemoResult:
    from loyalty.programme import load_programme
    from loyalty.settings import Settings

    from loyalty_tools.charts import write_report
    from loyalty_tools.export import scan_profiles
    from loyalty_tools.local import local_stack

    console = console or make_console()
    started = time.monotonic()
    programme = load_programme(Settings.from_env().programme_file)
    simulation = simulate(seed, customers, months, start_month, programme.timezone, programme.currency)
    personas = {c.customer_id: c.persona for c in simulation.customers}
    console.print(
        f"[bold]Demo[/bold]: {len(simulation.customers):,} customers "
        f"({', '.join(f'{n} {p}' for p, n in Counter(personas.values()).most_common())}), "
        f"{simulation.transactions:,} transactions over {months} months from {start_month}, seed {seed}"
    )
    try:
        from loyalty_tools.reclassify_local import handler_output, run_reclassification
    except ModuleNotFoundError as exc:  # the monthly run is not in this tree: post traffic, skip the runs
        if exc.name != "loyalty_tools.reclassify_local":
            raise  # it is there but broken: say so, do not hide it
        run_reclassification = None  # type: ignore[assignment]
        console.print(
            "[yellow]reclassify_local.run_reclassification not found: monthly runs skipped[/yellow]"
        )

    log_dir = state_dir() / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    data = new_report(f"Loyalty demo: {customers:,} customers, {months} months, seed {seed}", programme)
    with local_stack(port=0, workers=workers) as stack:
        console.print(f"Local stack up in {time.monotonic() - started:.1f}s: API {stack.api_url}")
        consumer = MarketingConsumer(stack.moto_url, stack.resources["queue_url"]).start()
        poster = Poster(stack.api_url, stack.api_key, threads, seed, programme.vouchers.block_points)
        post_seconds = run_seconds = 0.0
        with progress_bar(console) as progress:
            traffic = progress.add_task("transactions", total=simulation.transactions, unit="transactions")
            runs = progress.add_task("monthly runs", total=months, unit="runs")

            def advance(n: int) -> None:
                progress.advance(traffic, n)

            for index, month in enumerate(simulation.months):
                progress.update(traffic, description=f"transactions ({month})")
                t0 = time.monotonic()
                poster.post_month(month, simulation.by_month[index], personas, advance)
                post_seconds += time.monotonic() - t0
                if run_reclassification is not None:
                    t1 = time.monotonic()
                    progress.update(runs, description=f"monthly runs ({month})")
                    nxt = simulation.months[index + 1] if index + 1 < months else _next(month)
                    with handler_output(log_dir / "demo-reclassification.log"):  # its EMF metrics lines
                        result = run_reclassification(
                            as_of=date(int(nxt[:4]), int(nxt[5:7]), 1),
                            run_id=f"demo-{seed}-{month}",
                            total_segments=segments,
                        )
                    data.add_summary(result["summary"])
                    run_seconds += time.monotonic() - t1
                progress.advance(runs)
        poster.close()
        consumer.drain()
        add_profiles(data, scan_profiles(4), snapshot=run_reclassification is None)
    data.points_redeemed = {m: poster.stats.redeemed.get(m, 0) for m in simulation.months}
    data.events = dict(consumer.counts)
    seconds = time.monotonic() - started
    data.facts.update(
        {
            "transactions posted": f"{poster.stats.posted:,} ({answers_in_words(poster.stats.statuses)})",
            "redemptions": poster.stats.redemptions,
            "events consumed": f"{sum(consumer.counts.values()):,} ({consumer.duplicates} duplicates)",
            "wall time": f"{seconds:.0f}s (posting {post_seconds:.0f}s, monthly runs {run_seconds:.0f}s)",
            "seed": seed,
            "personas": ", ".join(f"{p}: {PERSONAS[p].visits}/month" for p in PERSONAS),
        }
    )
    print_tables(data, console)
    written = write_report(data, out_dir)
    rate = poster.stats.posted / max(post_seconds, 1e-9)
    console.print(
        f"Posted {poster.stats.posted:,} transactions ({rate:.0f}/s), "
        f"{poster.stats.redemptions:,} redemptions, {months} monthly runs; "
        f"{sum(consumer.counts.values()):,} events consumed. Wall time {seconds:.0f}s."
    )
    console.print(f"Pictures: {Path(out_dir).resolve() / 'index.html'}")
    if poster.stats.failures:
        console.print(
            f"[red]{len(poster.stats.failures)} requests failed[/red], first: {poster.stats.failures[:3]}"
        )
    return DemoResult(simulation, data, poster.stats, dict(consumer.counts), seconds, written)


def answers_in_words(statuses: Counter[int]) -> str:
    """{201: 3552} -> "every one answered 201"; {201: 50, 502: 2} -> "50 answered 201, 2 answered 502"."""
    if len(statuses) == 1:
        return f"every one answered {next(iter(statuses))}"
    return ", ".join(f"{count:,} answered {status}" for status, count in sorted(statuses.items()))


def _next(month: str) -> str:
    from loyalty.domain.dates import add_months

    return add_months(month, 1)
