"""The customer item stays well under 4 KB (one read capacity unit), whatever the customer does."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from loyalty.adapters.item_size import item_size
from loyalty.adapters.items import profile_to_item
from loyalty.domain.earning import Purchase, apply_purchase
from loyalty.domain.profile import MAX_CATEGORIES_PER_MONTH, new_profile

from tests.helpers import default_programme

P = default_programme()
BOUND = 3200  # bytes: the documented bound in adapters/models.py (API caps category names at 32)


def size_of(profile):
    return item_size(profile_to_item(profile, 123456).serialize())


def shop(profile, days, categories, amount=123456):
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    for n, day in enumerate(days):
        cats = {categories[(n + k) % len(categories)]: amount // 3 for k in range(3)}
        purchase = Purchase(f"T{n}", profile.customer_id, start + timedelta(days=day), amount, cats)
        profile, _ = apply_purchase(profile, purchase, P)
    return profile


def test_a_year_of_weekly_shopping_is_small():
    profile = shop(
        new_profile("4970123456789012", "member"), range(0, 365, 7), ["food", "drinks", "home", "baby"]
    )
    assert size_of(profile) < 1600


def test_worst_case_is_bounded():
    # Every day for two years, many long category names, every classification field set.
    categories = [f"category-name-of-32-characters{i:02d}" for i in range(40)]
    profile = shop(new_profile("C" * 32, "member"), range(0, 730), categories)
    profile = replace(
        profile,
        segment="Potential loyalists",
        rfm="5-5-5",
        favourite_category=categories[0],
        classified_period="2026-12",
        tier_since="2026-12-01",
    )
    assert all(len(m.categories) <= MAX_CATEGORIES_PER_MONTH for m in profile.months.values())
    size = size_of(profile)
    assert size < BOUND, size
