"""A synthetic retailer: customers of distinct behaviours and their store, web and app transactions.

Pure and deterministic: the same (seed, customers, months, start month) gives the same customers and
the same request bodies, byte for byte, on any machine and any day (random.Random(seed), a calendar
fixed by the start month, no wall clock). The demo posts these bodies to the real API.

Behaviours (personas), with their share of the starting population:

- champion      frequent big spenders: ~3 visits a month, large baskets
- regular       steady: a visit or so a month, medium baskets
- occasional    a few visits a year, small to medium baskets
- drifting      start as regulars, then buy less every month (they slide down the segments)
- sleeper       regulars who go silent for 4-6 months, then come back
- churner       buy for a while, then stop for good (they end Dormant, then Lost)

New joiners arrive every month after the first (about 6% of the population a month), with a mix of
the behaviours above. About 4% of purchases are returned (fully or one line) 2-25 days later.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.domain.dates import add_months
from loyalty.money import parse_amount

CATEGORIES = ("beauty", "fashion", "home", "grocery", "electronics", "sports")
STORES = tuple(f"S{n:02d}" for n in range(1, 13))
CHANNEL_MIXES = {
    "store": {"store": 0.85, "web": 0.10, "app": 0.05},
    "digital": {"store": 0.15, "web": 0.45, "app": 0.40},
    "mixed": {"store": 0.50, "web": 0.30, "app": 0.20},
}
RETURN_RATE = 0.04


@dataclass(frozen=True)
class Persona:
    name: str
    share: float  # of the starting population
    visits: float  # expected purchases a month while active
    basket: float  # median basket, currency units
    spread: float  # lognormal sigma of the basket


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona("champion", 0.08, 3.0, 85.0, 0.45),
        Persona("regular", 0.27, 1.1, 42.0, 0.45),
        Persona("occasional", 0.30, 0.25, 35.0, 0.55),
        Persona("drifting", 0.13, 1.4, 45.0, 0.45),
        Persona("sleeper", 0.10, 1.2, 48.0, 0.45),
        Persona("churner", 0.12, 1.0, 40.0, 0.50),
    )
}
JOINER_MIX = {"champion": 0.06, "regular": 0.30, "occasional": 0.40, "drifting": 0.12, "churner": 0.12}
JOINERS_PER_MONTH = 0.06  # of the starting population


@dataclass(frozen=True)
class SimCustomer:
    customer_id: str
    persona: str
    join_month: int  # 0-based index into the simulated months
    channels: dict[str, float]
    categories: dict[str, float]
    home_store: str
    change_month: int  # drifting: starts declining; sleeper: falls asleep; churner: stops
    wake_month: int  # sleeper: comes back (others: unused)

    def rate(self, month: int) -> float:
        """Expected purchases in simulated month `month`."""
        if month < self.join_month:
            return 0.0
        base = PERSONAS[self.persona].visits
        if self.persona == "drifting" and month >= self.change_month:
            return base * 0.6 ** (month - self.change_month + 1)
        if self.persona == "sleeper" and self.change_month <= month < self.wake_month:
            return 0.0
        if self.persona == "churner" and month >= self.change_month:
            return 0.0
        return base


@dataclass
class Simulation:
    seed: int
    start_month: str
    months: list[str]  # 'YYYY-MM', programme zone
    customers: list[SimCustomer]
    # per simulated month: customer_id -> that customer's request bodies, in time order
    by_month: list[dict[str, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def transactions(self) -> int:
        return sum(len(bodies) for month in self.by_month for bodies in month.values())

    def bodies(self) -> Iterator[dict[str, Any]]:
        for month in self.by_month:
            for customer_id in sorted(month):
                yield from month[customer_id]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _customer(rng: random.Random, index: int, persona: str, join: int, months: int) -> SimCustomer:
    favourite = rng.choice(CATEGORIES)
    second = rng.choice([c for c in CATEGORIES if c != favourite])
    categories = {c: 0.05 for c in CATEGORIES}
    categories[favourite] = 0.6
    categories[second] = 0.2
    change = (
        rng.randint(join + 2, max(join + 2, months - 3))
        if persona != "churner"
        else rng.randint(join + 1, max(join + 1, months - 4))
    )
    return SimCustomer(
        customer_id=f"C{index:06d}",
        persona=persona,
        join_month=join,
        channels=CHANNEL_MIXES[_pick(rng, {"store": 0.55, "digital": 0.2, "mixed": 0.25})],
        categories=categories,
        home_store=rng.choice(STORES),
        change_month=change,
        wake_month=change + rng.randint(4, 6),
    )


def population(rng: random.Random, size: int, months: int) -> list[SimCustomer]:
    """`size` customers: the starting population, then joiners spread over the later months."""
    joiners_per_month = round(size * JOINERS_PER_MONTH) if months > 1 else 0
    joiners = min(size // 2, joiners_per_month * (months - 1))
    starting = size - joiners
    out: list[SimCustomer] = []
    shares = {name: p.share for name, p in PERSONAS.items()}
    for index in range(starting):
        out.append(_customer(rng, index + 1, _pick(rng, shares), 0, months))
    for j in range(joiners):
        join = 1 + j * (months - 1) // max(1, joiners)
        out.append(_customer(rng, starting + j + 1, _pick(rng, JOINER_MIX), join, months))
    return out


def _basket(rng: random.Random, persona: Persona) -> int:
    amount = persona.basket * math.exp(rng.gauss(0, persona.spread))
    return max(100, min(200_000, round(amount * 100)))


def _lines(rng: random.Random, customer: SimCustomer, amount: int, sku_base: str) -> list[dict[str, Any]]:
    count = 1 if amount < 1500 else rng.choice((1, 2, 2, 3))
    cuts = sorted(rng.sample(range(1, amount), count - 1)) if count > 1 and amount > count else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, amount], strict=True)]
    return [
        {
            "sku": f"{sku_base}-{n}",
            "category": _pick(rng, customer.categories),
            "quantity": 1,
            "unit_price": _money(part),
        }
        for n, part in enumerate(parts)
    ]


def simulate(
    seed: int = 7,
    customers: int = 1500,
    months: int = 13,
    start_month: str = "2025-01",
    timezone: str = "Europe/Paris",
    currency: str = "EUR",
) -> Simulation:
    if customers < 1 or months < 1:
        raise ValueError("customers and months must be at least 1")
    rng = random.Random(seed)
    zone = ZoneInfo(timezone)
    names = [add_months(start_month, i) for i in range(months)]
    people = population(rng, customers, months)
    first_day = datetime(int(start_month[:4]), int(start_month[5:7]), 1, tzinfo=zone)
    end = datetime.fromisoformat(add_months(names[-1], 1) + "-01").replace(tzinfo=zone)
    by_month: list[dict[str, list[tuple[datetime, dict[str, Any]]]]] = [{} for _ in names]

    def month_of(instant: datetime) -> int:
        local = instant.astimezone(zone)
        return (local.year - first_day.year) * 12 + local.month - first_day.month

    for customer in people:
        persona = PERSONAS[customer.persona]
        crng = random.Random(f"{seed}:{customer.customer_id}")  # one customer's story, independent
        seq = 0
        for m, name in enumerate(names):
            visits = _poisson(crng, customer.rate(m))
            if m == customer.join_month and visits == 0:
                visits = 1  # joining means a first purchase
            year, month = int(name[:4]), int(name[5:7])
            days = (datetime(year + month // 12, month % 12 + 1, 1) - datetime(year, month, 1)).days
            for _ in range(visits):
                seq += 1
                when = datetime(
                    year, month, crng.randint(1, days), crng.randint(9, 20), crng.randint(0, 59), tzinfo=zone
                )
                channel = _pick(crng, customer.channels)
                amount = _basket(crng, persona)
                txn_id = f"{customer.customer_id}-P{seq:04d}"
                lines = _lines(crng, customer, amount, txn_id)
                body = {
                    "transaction_id": txn_id,
                    "customer_id": customer.customer_id,
                    "store_id": customer.home_store if channel == "store" else channel.upper(),
                    "channel": channel,
                    "occurred_at": when.isoformat(),
                    "currency": currency,
                    "amount": _money(amount),
                    "lines": lines,
                }
                by_month[m].setdefault(customer.customer_id, []).append((when, body))
                if crng.random() < RETURN_RATE:
                    back = when + timedelta(days=crng.randint(2, 25), hours=crng.randint(0, 3))
                    if back >= end:
                        continue
                    full = len(lines) == 1 or crng.random() < 0.5
                    returned = lines if full else [crng.choice(lines)]
                    value = sum(parse_amount(line["unit_price"], currency) for line in returned)
                    ret = {
                        "transaction_id": f"{customer.customer_id}-R{seq:04d}",
                        "customer_id": customer.customer_id,
                        "store_id": body["store_id"],
                        "channel": channel,
                        "occurred_at": back.isoformat(),
                        "currency": currency,
                        "amount": _money(value),
                        "lines": returned,
                        "original_transaction_id": txn_id,
                    }
                    by_month[month_of(back)].setdefault(customer.customer_id, []).append((back, ret))
    ordered = [
        {cid: [body for _, body in sorted(items, key=lambda t: (t[0], t[1]["transaction_id"]))]
         for cid, items in sorted(month.items())}
        for month in by_month
    ]  # fmt: skip
    return Simulation(seed, start_month, names, people, ordered)
