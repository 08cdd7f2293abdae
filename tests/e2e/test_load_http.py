"""20 concurrent store clients x 250 purchases over HTTP against the local stack: no 5xx, and every
customer's balance exact, as computed independently from the programme file (bench/load.py: Expected),
tier upgrades included. `make load` runs a bigger version and prints throughput and latency."""

from bench.load import Expected, run_load

CLIENTS, PER_CLIENT = 20, 250


def test_the_expectation_model_prices_the_upgrade_purchase_at_the_old_tier():
    expected = Expected.from_programme()
    assert [expected.purchase(c) for c in (24_999, 1, 100, 35_000, 100)] == [249, 0, 2, 700, 2]
    assert (expected.tier, expected.points, expected.spend) == ("gold", 953, 60_200)


def test_twenty_concurrent_clients_leave_exact_balances(stack):
    report = run_load(stack.api_url, stack.api_key, CLIENTS, PER_CLIENT)
    print(report.summary())
    statuses = report.statuses
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses == {201: CLIENTS * PER_CLIENT}
    assert report.problems() == []
    tiers = {card["tier"] for card in report.balances.values()}
    assert len(report.balances) == CLIENTS and tiers == {"gold"}  # every client crossed both thresholds
