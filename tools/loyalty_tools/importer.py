"""`loyalty import FILE.csv`: backfill a retailer's history with the API's own rules, in batches.

Not one HTTP call per row: rows are validated, grouped by customer and sorted by time; then, for
each customer (customers in parallel), the profile is read once, every row is applied with the
domain's apply_purchase / apply_return (the same functions the ingest Lambda runs), and the result
is written atomically in TransactWriteItems of at most 100 operations: the chunk's transactions
(each conditioned on its id not existing), the `returned` updates of earlier purchases, and the
profile (conditioned on the version read). A crash between chunks leaves the profile consistent
with the transactions stored; a rerun skips what is stored and goes on.

Idempotent: ids already stored with the same content are skipped (the file imported twice changes
nothing); an id stored with other content is rejected. Rows without a transaction id get a
deterministic one: a hash of the normalized row content plus the occurrence count of identical
rows, so re-sorting the file does not change the ids.

Every row ends in exactly one count: imported, already present, or rejected (with its reason in
the rejects CSV). No events are published for historical transactions: the next monthly run
classifies the imported customers and publishes what changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.api.schemas import ID_PATTERN as API_ID_PATTERN
from loyalty.domain.dates import iso_utc
from loyalty.domain.profile import Profile, new_profile
from loyalty.errors import ApiError
from loyalty.money import AmountError, format_amount, parse_amount
from loyalty.ports import (
    ChunkWrite,
    CustomerStore,
    DuplicateTransaction,
    ReturnedUpdate,
    StoredTransaction,
    Throttled,
    TransactionStore,
    VersionConflict,
)
from loyalty.programme import Programme
from loyalty.service.retry import attempts
from loyalty.service.transactions import (
    Transaction,
    TransactionRequest,
    apply,
    same_content,
    validate,
)

ID_PATTERN = re.compile(API_ID_PATTERN)  # the API's: an imported id must be readable and erasable too
RETURN_TYPES = {"return", "refund", "r"}
PURCHASE_TYPES = {"purchase", "sale", "p", ""}
MAX_OPS = 100  # DynamoDB TransactWriteItems limit: 99 operations (transactions, their ledger entries,
# returned updates) + the profile
MAX_ATTEMPTS = 8
BATCH_CUSTOMERS = 100  # customers read in one BatchGetItem (its limit), their writes packed together


@dataclass(frozen=True)
class Columns:
    customer_id: str = "customer_id"
    occurred_at: str = "occurred_at"
    amount: str = "amount"
    transaction_id: str = "transaction_id"
    store_id: str = "store_id"
    channel: str = "channel"
    category: str = "category"
    type: str = "type"
    original_transaction_id: str = "original_transaction_id"

    REQUIRED = ("customer_id", "occurred_at", "amount")


@dataclass(frozen=True)
class Row:
    """A valid row: the transaction it holds (validated by the API's rules) and where it came from."""

    line: int
    transaction: Transaction
    category: str | None
    content: str  # normalized row content (the derived ids' input; same id + same content = the same row)
    raw: dict[str, str] = field(compare=False, repr=False, default_factory=dict)

    @property
    def transaction_id(self) -> str:
        return self.transaction.request.transaction_id

    @property
    def customer_id(self) -> str:
        return self.transaction.request.customer_id

    @property
    def occurred_at(self) -> datetime:  # aware
        return self.transaction.request.occurred_at

    @property
    def amount(self) -> int:  # minor units, > 0
        return self.transaction.amount

    @property
    def kind(self) -> str:  # purchase | return
        return self.transaction.request.kind

    @property
    def original_transaction_id(self) -> str | None:
        return self.transaction.request.original_transaction_id

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (iso_utc(self.occurred_at), 0 if self.kind == "purchase" else 1, self.transaction_id)


class Reject(ValueError):
    pass


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    customers: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    rejects_path: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def failed(self) -> bool:
        return self.rows != self.imported + self.already_present + self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------------------------------------
# Parsing: one CSV row -> a validated Row, or a Reject with the reason


@dataclass
class RowParser:
    columns: Columns
    programme: Programme
    date_format: str | None = None
    decimal_comma: bool = False
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _occurrences: Counter[str] = field(default_factory=Counter)

    def parse(self, line: int, raw: dict[str, str]) -> Row:
        c = self.columns

        def get(name: str) -> str:
            return (raw.get(name) or "").strip()

        customer = get(c.customer_id)
        if not customer:
            raise Reject(f"{c.customer_id}: missing")
        if not ID_PATTERN.match(customer):
            raise Reject(f"{c.customer_id}: not a valid id (letters, digits, ._:@- up to 128)")
        occurred = self._when(get(c.occurred_at))
        amount_text = get(c.amount)
        negative = amount_text.startswith("-")
        amount = self._amount(amount_text.lstrip("-+").strip())
        kind_text = get(c.type).lower()
        if kind_text and kind_text not in RETURN_TYPES | PURCHASE_TYPES:
            raise Reject(f"{c.type}: {kind_text!r} is neither a purchase nor a return")
        kind = "return" if negative or kind_text in RETURN_TYPES else "purchase"
        original = get(c.original_transaction_id) or None
        if kind == "return" and not original:
            raise Reject(
                f"return without {c.original_transaction_id}: cannot tell which purchase it takes back"
            )
        if kind == "purchase" and original:
            original = None  # a purchase ignores the column
        if original and not ID_PATTERN.match(original):
            raise Reject(f"{c.original_transaction_id}: not a valid id")
        channel = get(c.channel).lower() or "store"
        store = get(c.store_id) or "import"
        if not ID_PATTERN.match(store):
            raise Reject(f"{c.store_id}: not a valid id")
        category = get(c.category)[:32] or None
        content = json.dumps(
            [customer, iso_utc(occurred), amount, kind, original, store, channel, category],
            separators=(",", ":"),
        )
        txn_id = get(c.transaction_id)
        if not txn_id:
            # Identical rows are distinct transactions (two coffees at the same second): the n-th
            # occurrence of a content gets its own id, whatever the order of the other rows.
            self._occurrences[content] += 1
            digest = hashlib.sha256(f"{content}#{self._occurrences[content]}".encode()).hexdigest()
            txn_id = f"imp-{digest[:32]}"
        elif not ID_PATTERN.match(txn_id):
            raise Reject(f"{c.transaction_id}: not a valid id")
        if original == txn_id:
            raise Reject(f"{c.original_transaction_id}: cannot be the row's own transaction id")
        amount_text = format_amount(amount, self.programme.currency)
        request = TransactionRequest(
            transaction_id=txn_id,
            customer_id=customer,
            store_id=store,
            channel=channel,
            occurred_at=occurred,
            currency=self.programme.currency,
            amount=amount_text,
            lines=[{"category": category, "quantity": 1, "unit_price": amount_text}] if category else [],
            original_transaction_id=original,
        )
        try:  # the API's own checks (future skew, channel, currency), without the age bound
            transaction = validate(request, self.programme, self.now(), history=True)
        except ApiError as exc:
            raise Reject(self._reason(exc)) from None
        return Row(line, transaction, category, content, raw)

    def _reason(self, error: ApiError) -> str:
        """The API's refusal in the file's words: its field named as the file's column."""
        detail = (error.details or [{}])[0]
        name = detail.get("field")
        if not name:
            return error.message
        return f"{getattr(self.columns, name, name)}: {detail['message']}"

    def _when(self, text: str) -> datetime:
        name = self.columns.occurred_at
        if not text:
            raise Reject(f"{name}: missing")
        try:
            if self.date_format:
                value = datetime.strptime(text, self.date_format)
            else:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            if "out of range" in str(exc):  # the right shape, but no such day: 31/02/2025, 2025-04-31
                raise Reject(f"{name}: {text!r} does not exist (no such day in the calendar)") from None
            expected = self.date_format or "ISO 8601, e.g. 2026-03-01T10:15:00+01:00"
            raise Reject(f"{name}: {text!r} does not match {expected}") from None
        if value.tzinfo is None or value.utcoffset() is None:
            value = local_time(value, self.programme.zone, name, text)  # naive: the programme's zone
        return value

    def _amount(self, text: str) -> int:
        name = self.columns.amount
        if self.decimal_comma:  # 1 234,50 / 1.234,50 (spaces as a spreadsheet writes them, too)
            for separator in (" ", "\u00a0", "\u202f", "."):
                text = text.replace(separator, "")
            text = text.replace(",", ".")
        try:
            return parse_amount(text, self.programme.currency)
        except AmountError as exc:
            raise Reject(f"{name}: {exc}") from None


def local_time(naive: datetime, zone: ZoneInfo, column: str, text: str) -> datetime:
    """A wall-clock time in the programme's zone, refused when the clocks skip it (spring forward) or
    show it twice (fall back): the file cannot say which instant it means, and guessing would move a
    purchase by an hour (or into another month at a month's end). With an offset in the file (ISO
    8601, or %z in --date-format) the row is taken as written."""
    first = naive.replace(tzinfo=zone, fold=0)
    shift = abs(naive.replace(tzinfo=zone, fold=1).utcoffset() - first.utcoffset())  # type: ignore[operator]
    if not _exists(naive, zone):
        start = naive
        while not _exists(start - timedelta(minutes=1), zone):
            start -= timedelta(minutes=1)
        raise Reject(
            f"{column}: {text!r} does not exist in {zone.key}: the clocks go forward from "
            f"{_wall(start)} to {_wall(start + shift)} that night (daylight saving)"
        )
    if shift:
        end = naive
        while _ambiguous(end, zone):
            end += timedelta(minutes=1)
        raise Reject(
            f"{column}: {text!r} is ambiguous in {zone.key}: the clocks go back from {_wall(end)} to "
            f"{_wall(end - shift)} that night, so it happens twice (daylight saving); give the offset, "
            f"e.g. {first.isoformat()} or {naive.replace(tzinfo=zone, fold=1).isoformat()}"
        )
    return first


def _exists(naive: datetime, zone: ZoneInfo) -> bool:
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _ambiguous(naive: datetime, zone: ZoneInfo) -> bool:
    return naive.replace(tzinfo=zone, fold=0).utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset()


def _wall(value: datetime) -> str:
    return value.strftime("%H:%M")


# ---------------------------------------------------------------------------------------------
# Applying one customer's rows: pure planning, then chunked atomic writes


@dataclass
class Chunk:
    transactions: list[StoredTransaction]
    returned: dict[str, tuple[int, int]]  # purchase id outside the chunk -> (expected, new)
    profile: Profile
    rows: list[Row]

    @property
    def moves(self) -> list[ReturnedUpdate]:
        return [ReturnedUpdate(txn_id, expected, new) for txn_id, (expected, new) in self.returned.items()]


def import_hash(row: Row) -> str:
    """The hash imports stored before the content hash: such rows are still found already present."""
    return hashlib.sha256(("import:" + row.content).encode()).hexdigest()


def plan_customer(
    profile: Profile | None,
    rows: list[Row],
    programme: Programme,
    stored: dict[str, StoredTransaction],
    originals: Callable[[str], StoredTransaction | None],
) -> tuple[list[Chunk], list[tuple[Row, str]], int]:
    """Apply one customer's new rows in time order with the API's rules (service/transactions.py).
    `stored`: this customer's rows already in the table (by id). Returns (chunks to write, rejected
    rows with reasons, rows already present)."""
    current = profile or new_profile(rows[0].customer_id, programme.base_tier.name)
    rejected: list[tuple[Row, str]] = []
    present = 0
    purchases: dict[str, StoredTransaction] = {}  # purchases known in this import (file or table)
    chunks: list[Chunk] = []
    chunk = Chunk([], {}, current, [])
    in_chunk: dict[str, int] = {}  # transaction id -> index in chunk.transactions

    def close() -> None:
        nonlocal chunk, in_chunk
        if chunk.transactions:
            chunks.append(chunk)
        chunk = Chunk([], {}, current, [])
        in_chunk = {}

    for row in sorted(rows, key=lambda r: r.sort_key):
        existing = stored.get(row.transaction_id)
        if existing is not None:
            if same_content(existing, row.transaction, import_hash(row)):
                present += 1
            else:
                rejected.append((row, "transaction_id already stored with other content"))
            continue
        original = None
        if row.original_transaction_id is not None:
            original = purchases.get(row.original_transaction_id) or originals(row.original_transaction_id)
        try:
            applied = apply(current, row.transaction, programme, original)
        except ApiError as exc:
            rejected.append((row, exc.message))
            continue
        ops = 2  # the transaction and its ledger entry (domain/ledger.py)
        moved = applied.original
        if (
            moved is not None
            and moved.transaction_id not in in_chunk
            and moved.transaction_id not in chunk.returned
        ):
            ops += 1
        if 2 * len(chunk.transactions) + len(chunk.returned) + ops > MAX_OPS - 1:
            close()
        in_chunk[row.transaction_id] = len(chunk.transactions)
        chunk.transactions.append(applied.stored)
        chunk.rows.append(row)
        if moved is None:
            purchases[row.transaction_id] = applied.stored
        else:
            purchases[moved.transaction_id] = moved
            if moved.transaction_id in in_chunk:  # the purchase is written by this chunk: final value
                index = in_chunk[moved.transaction_id]
                chunk.transactions[index] = replace(chunk.transactions[index], returned=moved.returned)
            else:
                assert applied.returned is not None
                expected = chunk.returned.get(moved.transaction_id, (applied.returned.expected, 0))[0]
                chunk.returned[moved.transaction_id] = (expected, moved.returned)
        current = applied.profile
        chunk.profile = current
    close()
    return chunks, rejected, present


def import_customer(
    rows: list[Row],
    programme: Programme,
    customers: CustomerStore,
    transactions: TransactionStore,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, int, list[tuple[Row, str]]]:
    """(imported, already present, rejected) for one customer's rows. Retries on conflicts."""
    rejected: list[tuple[Row, str]] = []
    written = 0  # rows written by earlier attempts: found stored by the next one, still ours
    for attempt in attempts(MAX_ATTEMPTS, sleep):
        profile = customers.get(rows[0].customer_id)
        # A new customer has no stored transactions of its own; otherwise look them up in one batch.
        fresh = profile is None and attempt == 0
        stored = {} if fresh else transactions.get_many(r.transaction_id for r in rows)
        chunks, rejected, present = plan_customer(profile, rows, programme, stored, transactions.get)
        version = profile.version if profile is not None else None
        try:
            for chunk in chunks:
                transactions.record_chunk(chunk.transactions, chunk.profile, version, chunk.moves)
                written += len(chunk.transactions)
                version = (version or 0) + 1
        except (VersionConflict, DuplicateTransaction, Throttled):
            continue  # another writer, or an id stored meanwhile: re-read and plan again
        return written, present - (written - sum(len(c.transactions) for c in chunks)), rejected
    reason = "could not write after repeated conflicts (the customer was being updated); import again"
    return 0, 0, [(row, reason) for row in rows]


def import_batch(
    groups: list[list[Row]],
    programme: Programme,
    customers: CustomerStore,
    transactions: TransactionStore,
    sleep: Callable[[float], None] = time.sleep,
) -> list[tuple[int, int, list[tuple[Row, str]]]]:
    """import_customer for several customers (each group one customer's rows), with their reads and
    writes batched across customers: one BatchGetItem for the profiles (and one for the rows of those
    already known), then each customer's single chunk packed with others' into TransactWriteItems of
    at most MAX_OPS items, through the same store write (record_chunks: the same items, conditions and
    ledger entries as record_chunk). A customer whose rows need several chunks, and every customer of
    a packed write that failed (a conflict, a duplicate, throttling: nothing of it was written), go
    through import_customer, which re-reads and retries. Results in the order of `groups`."""
    profiles = customers.get_profiles(rows[0].customer_id for rows in groups)
    known = [row.transaction_id for rows in groups if rows[0].customer_id in profiles for row in rows]
    stored_all = transactions.get_many(known) if known else {}
    results: dict[str, tuple[int, int, list[tuple[Row, str]]]] = {}
    alone: list[list[Row]] = []
    planned: list[tuple[list[Row], ChunkWrite, int, list[tuple[Row, str]]]] = []
    for rows in groups:
        profile = profiles.get(rows[0].customer_id)
        stored = {i: stored_all[i] for i in (r.transaction_id for r in rows) if i in stored_all}
        chunks, rejected, present = plan_customer(profile, rows, programme, stored, transactions.get)
        if len(chunks) > 1:
            alone.append(rows)
        elif not chunks:
            results[rows[0].customer_id] = (0, present, rejected)
        else:
            [chunk] = chunks
            version = profile.version if profile is not None else None
            write = ChunkWrite(chunk.transactions, chunk.profile, version, chunk.moves)
            planned.append((rows, write, present, rejected))
    packed: list[list[tuple[list[Row], ChunkWrite, int, list[tuple[Row, str]]]]] = []
    for entry in planned:
        if not packed or sum(e[1].operations for e in packed[-1]) + entry[1].operations > MAX_OPS:
            packed.append([])
        packed[-1].append(entry)
    for pack in packed:
        try:
            transactions.record_chunks([write for _, write, _, _ in pack])
        except (VersionConflict, DuplicateTransaction, Throttled):
            alone.extend(rows for rows, _, _, _ in pack)  # nothing of the pack was written
            continue
        for rows, write, present, rejected in pack:
            results[rows[0].customer_id] = (len(write.transactions), present, rejected)
    for rows in alone:
        results[rows[0].customer_id] = import_customer(rows, programme, customers, transactions, sleep)
    return [results[rows[0].customer_id] for rows in groups]


# ---------------------------------------------------------------------------------------------
# The command


def read_rows(
    path: Path, parser: RowParser, delimiter: str
) -> tuple[list[str], list[Row], list[tuple[int, dict[str, str], str]]]:
    rows: list[Row] = []
    rejected: list[tuple[int, dict[str, str], str]] = []
    seen: dict[str, Row] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = list(reader.fieldnames or [])
        missing = [
            getattr(parser.columns, n) for n in Columns.REQUIRED if getattr(parser.columns, n) not in header
        ]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (header: {', '.join(header)})")
        for raw in reader:
            line = reader.line_num
            if None in raw:
                rejected.append((line, raw, "more fields than the header"))
                continue
            try:
                row = parser.parse(line, raw)
            except Reject as exc:
                rejected.append((line, raw, str(exc)))
                continue
            first = seen.get(row.transaction_id)
            if first is not None:
                same = first.content == row.content
                reason = (
                    f"duplicate of line {first.line} (same transaction)"
                    if same
                    else f"transaction_id already used on line {first.line} with other content"
                )
                rejected.append((line, raw, reason))
                continue
            seen[row.transaction_id] = row
            rows.append(row)
    return header, rows, rejected


def run_import(
    file: str,
    columns: Columns,
    date_format: str | None,
    delimiter: str,
    decimal_comma: bool,
    rejects: str | None,
    workers: int,
    target_kind: str,
    stack_name: str,
    console: Any = None,
) -> ImportResult:
    """`console`: where the progress and the summary go (default: the terminal's)."""
    from loyalty.programme import load_programme

    from loyalty_tools.progress import make_console, progress_bar
    from loyalty_tools.target import resolve_target

    console = console or make_console()
    target = resolve_target(target_kind, stack_name)
    settings = target.activate()
    programme = load_programme(settings.programme_file)
    path = Path(file)
    started = time.monotonic()
    parser = RowParser(columns, programme, date_format, decimal_comma)
    header, rows, early_rejects = read_rows(path, parser, delimiter)
    result = ImportResult(rows=len(rows) + len(early_rejects))
    by_customer: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_customer[row.customer_id].append(row)
    result.customers = len(by_customer)
    console.print(
        f"Importing {result.rows:,} rows ({len(rows):,} valid, {len(by_customer):,} customers) "
        f"into {target.description}"
    )
    rejects_out: list[tuple[int, dict[str, str], str]] = list(early_rejects)
    from loyalty.bootstrap import build_services

    wired = build_services(settings, programme).ingest  # the API's own stores, on the same tables
    customers, transactions = wired.customers, wired.transactions
    with progress_bar(console) as progress, ThreadPoolExecutor(workers) as pool:
        task = progress.add_task("import", total=result.rows, unit="rows")
        progress.advance(task, len(early_rejects))

        def batch(groups: list[list[Row]]) -> None:
            outcomes = import_batch(groups, programme, customers, transactions)
            with result.lock:
                for imported, present, rejected in outcomes:
                    result.imported += imported
                    result.already_present += present
                    rejects_out.extend((r.line, r.raw, reason) for r, reason in rejected)
            progress.advance(task, sum(len(rows_) for rows_ in groups))

        groups = list(by_customer.values())
        batches = [groups[i : i + BATCH_CUSTOMERS] for i in range(0, len(groups), BATCH_CUSTOMERS)]
        for future in [pool.submit(batch, b) for b in batches]:
            future.result()
    result.rejected = len(rejects_out)
    result.reasons = Counter(_reason_kind(reason) for _, _, reason in rejects_out)
    result.seconds = time.monotonic() - started
    if rejects_out:
        out = Path(rejects) if rejects else path.with_suffix(".rejects.csv")
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(["line", *header, "reason"])
            for line, raw, reason in sorted(rejects_out, key=lambda t: t[0]):
                writer.writerow([line, *(raw.get(h, "") for h in header), reason])
        result.rejects_path = str(out)
    console.print(
        f"rows {result.rows:,}: imported {result.imported:,}, already present {result.already_present:,}, "
        f"rejected {result.rejected:,} | {result.customers:,} customers in {result.seconds:.1f}s "
        f"({result.rows_per_second:,.0f} rows/s)"
    )
    if result.rejected:
        console.print(f"rejects (with the reason per row): {result.rejects_path}", markup=False)
        for reason, count in result.reasons.most_common():  # every reason, the most common first
            console.print(f"  {count:,} x {reason}", markup=False, highlight=False)
    if result.failed:
        console.print("[red]row counts do not add up: some rows were neither imported nor rejected[/red]")
    return result


def _reason_kind(reason: str) -> str:
    """A reason without the row's own values, so that rows rejected for the same cause count together:
    "occurred_at: '31/02/2025' does not exist (...)" -> "occurred_at: ... does not exist"."""
    kind = re.sub(r"'[^']*'", "...", reason)
    kind = re.sub(r"\bline \d+", "line N", kind)
    kind = re.sub(r": the clocks go (forward|back) .*$", "", kind)  # the zone stays, the hours go
    return re.sub(r" \([^()]*\)$", "", kind)
