"""The BG/NBD fit's time on this machine at 10,000 and 100,000 sampled customers (the merge step fits
on at most reservoir.DEFAULT_SIZE = 10,000; 100,000 shows how the time scales with the sample).

    .venv/bin/python -m bench.bgnbd_fit
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "loyalty" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loyalty.domain import bgnbd

from tests.unit.test_bgnbd import ACTIVE, CDNOW, simulate


def main() -> None:
    for name, truth in (("cdnow", CDNOW), ("active", ACTIVE)):
        for customers in (10_000, 100_000):
            sample = bgnbd.Sample(simulate(truth, customers, seed=2005))
            started = time.perf_counter()
            fit = bgnbd.fit(sample)
            seconds = time.perf_counter() - started
            p = fit.params
            print(
                f"{name} {customers:>7,} customers, {len(sample.rows):>6,} distinct rows: {seconds:6.2f} s, "
                f"{fit.evaluations} evaluations; r={p.r:.3f} alpha={p.alpha:.3f} a={p.a:.3f} b={p.b:.3f}"
            )


if __name__ == "__main__":
    main()
