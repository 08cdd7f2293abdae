"""The customer item's size by DynamoDB's rules (adapters/item_size.py): one write unit (1 KB) for a year
of weekly shopping, bounded in the worst cases (issue 19 owns the size budget; adapters/customer_form.py
the stored form)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from loyalty.adapters.item_size import item_size
from loyalty.adapters.items import profile_to_item
from loyalty.domain.earning import Purchase, apply_purchase
from loyalty.domain.profile import MAX_CATEGORIES_PER_MONTH, new_profile

from tests.helpers import default_programme

P = default_programme()
BOUND = 1800  # bytes: the documented bound in adapters/models.py (API caps category names at 32)
WRITE_UNIT = 1024  # bytes: one write request unit (WRU / WCU) per KB started


def size_of(profile):
    return item_size(profile_to_item(profile, 123456).serialize())


def shop(profile, days, categories, amount=123456):
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    for n, day in enumerate(days):
        cats = {categories[(n + k) % len(categories)]: amount // 3 for k in range(3)}
        purchase = Purchase(f"T{n}", profile.customer_id, start + timedelta(days=day), amount, cats)
        profile, _ = apply_purchase(profile, purchase, P)
    return profile


def classified(profile):
    """Every field the monthly run writes set (RFM scores and P(alive) are not stored any more)."""
    return replace(
        profile, segment="Dormant, worth winning back", favourite_category="drinks",
        classified_period="2026-12", tier_since="2026-12-01", overdue_for="2026-12-01",
        expiry_warned_through="2027-12-31",
    )  # fmt: skip


def test_a_year_of_weekly_shopping_fits_one_write_unit():
    # 53 purchases of 1,234.56 EUR in 3 of 4 categories, every classification field set: 1,381 bytes
    # in the old form (two write units), 648 now.
    profile = shop(
        new_profile("4970123456789012", "member"), range(0, 365, 7), ["food", "drinks", "home", "baby"]
    )
    size = size_of(classified(profile))
    print("a year of weekly shopping:", size)
    assert size <= WRITE_UNIT, size


def test_worst_case_is_bounded():
    # Every day for two years, many long category names, every classification field set.
    categories = [f"category-name-of-32-characters{i:02d}" for i in range(40)]
    profile = shop(new_profile("C" * 32, "member"), range(0, 730), categories)
    profile = replace(classified(profile), favourite_category=categories[0])
    assert all(len(m.categories) <= MAX_CATEGORIES_PER_MONTH for m in profile.months.values())
    size = size_of(profile)
    print("worst case, default expiry:", size)
    assert size < BOUND, size


def worst_member(profile):
    """A member with every bounded membership field at its largest (issue 16)."""
    from loyalty.domain.members import MAX_CONSENT_HISTORY, MAX_PREFERRED_CATEGORIES, record_interaction
    from loyalty.domain.profile import ConsentChange, Membership

    all_yes = {"email": True, "sms": True, "push": True}
    member = Membership(
        enrolled=True,
        enrolled_at="2026-12-01T10:15:00Z",
        enrolled_store_id="S" * 128,
        enrolled_channel="store",
        enrolment_hash="h" * 32,
        status="blocked",
        consents=all_yes,
        consent_history=tuple(
            ConsentChange("2026-12-01T10:15:00Z", "back_office", all_yes) for _ in range(MAX_CONSENT_HISTORY)
        ),
        categories=tuple(f"preferred-category-of-32-chars{i:02d}" for i in range(MAX_PREFERRED_CATEGORIES)),
        max_contacts_per_month=100,
        contacts_month="2026-12",
        contacts_sent=99_999,
    )
    profile = replace(profile, member=member)
    for month in range(30):  # more months than the window: the oldest are dropped
        year, month0 = divmod(2025 * 12 + month, 12)
        for _ in range(3):
            profile = record_interaction(profile, f"{year}-{month0 + 1:02d}", "2027-06-30T23:59:59Z")
    profile = replace(
        profile, member=replace(profile.member, interactions={m: 99_999 for m in profile.member.interactions})
    )
    return profile


# bytes: the documented bound with the membership (adapters/models.py), one read unit (4 KB).
MEMBER_BOUND = 3200


def test_worst_case_with_the_membership_is_bounded():
    categories = [f"category-name-of-32-characters{i:02d}" for i in range(40)]
    profile = shop(new_profile("C" * 128, "member"), range(0, 730), categories)
    profile = replace(classified(profile), favourite_category=categories[0])
    member = worst_member(profile)
    assert len(member.member.interactions) == 13
    size = size_of(member)
    print("worst case without / with the membership:", size_of(profile), size)
    assert size < MEMBER_BOUND, size


def test_an_enrolled_weekly_shopper_stays_under_one_read_unit():
    from loyalty.domain.members import record_interaction
    from loyalty.domain.profile import ConsentChange, Membership

    profile = shop(
        new_profile("4970123456789012", "member"), range(0, 365, 7), ["food", "drinks", "home", "baby"]
    )
    consents = {"email": True, "sms": False, "push": True}
    member = Membership(
        enrolled=True, enrolled_at="2025-01-01T09:00:00Z", enrolled_store_id="S1", enrolled_channel="store",
        enrolment_hash="h" * 32, consents=consents,
        consent_history=(ConsentChange("2025-01-01T09:00:00Z", "store", consents),) * 3,
        categories=("food", "baby"), max_contacts_per_month=4,
    )  # fmt: skip
    profile = replace(profile, member=member)
    for week in range(52):
        profile = record_interaction(profile, f"2025-{week // 5 + 1:02d}", "2025-12-30T10:00:00Z")
    size = size_of(profile)
    print("enrolled weekly shopper:", size)
    assert size < 1400, size


# -- the points lifecycle: lots and pending points (domain/lots.py) --------------------------------

LIFECYCLE_BOUND = 3200  # bytes: under 4 KB, so the card's strongly consistent GetItem stays 1 RCU


def lifecycle_programme(policy: dict, pending_days: int):
    import json

    from loyalty.programme import parse_programme

    from tests.helpers import DEFAULT_PROGRAMME

    base = json.loads(DEFAULT_PROGRAMME.read_text())
    return parse_programme(
        {**base, "earning": {**base["earning"], "pending_days": pending_days}, "expiry": policy}
    )


def shop_with_runs(programme, days, categories, every=1, amount=123456):
    """A purchase every `every` days (each written on its own day), the monthly run booking expired lots
    on the 1st; the largest item seen on the way, every classification field set."""
    from loyalty.domain.lots import expire

    profile = new_profile("C" * 32, "member")
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    largest = 0
    for n in range(0, days, every):
        when = start + timedelta(days=n)
        cats = {categories[(n + k) % len(categories)]: amount // 3 for k in range(3)}
        purchase = Purchase(f"T{n}", profile.customer_id, when, amount, cats)
        profile, _ = apply_purchase(profile, purchase, programme, when.date())
        for booked in (False, True):
            if booked and when.day == 1:
                profile, _ = expire(profile, programme, when.date())
            full = replace(classified(profile), favourite_category=categories[0])
            largest = max(largest, size_of(full))
    return profile, largest


def test_lots_and_pending_points_stay_bounded_at_the_largest_settings():
    from loyalty.programme import MAX_CALENDAR_YEARS, MAX_PENDING_DAYS, MAX_ROLLING_MONTHS

    categories = [f"category-name-of-32-characters{i:02d}" for i in range(40)]
    for policy in (
        {"policy": "rolling", "months": MAX_ROLLING_MONTHS},
        {"policy": "calendar", "years": MAX_CALENDAR_YEARS},
    ):
        programme = lifecycle_programme(policy, MAX_PENDING_DAYS)
        profile, largest = shop_with_runs(programme, 365 * 5, categories)
        assert len(profile.pending) <= MAX_PENDING_DAYS
        assert len(profile.lots) <= max(MAX_ROLLING_MONTHS + 1, 12 * (MAX_CALENDAR_YEARS + 1))
        print("worst case, lots and pending points:", policy, largest)
        assert largest < LIFECYCLE_BOUND, (policy, largest)


def test_a_year_of_weekly_shopping_with_a_return_window_is_small():
    programme = lifecycle_programme({"policy": "rolling", "months": 12}, 30)
    _, largest = shop_with_runs(programme, 365, ["food", "drinks", "home", "baby"], every=7)
    print("a year of weekly shopping, rolling 12 months, 30-day return window:", largest)
    assert largest <= WRITE_UNIT, largest


# The two grown together (issue 14's lots and pending points at their largest settings, issue 16's
# membership at its largest): past one 4 KB read unit, under two. Issue 19 owns the size budget.
COMBINED_BOUND = 4500


def test_lots_and_the_membership_together_stay_under_two_read_units():
    from loyalty.programme import MAX_CALENDAR_YEARS, MAX_PENDING_DAYS

    categories = [f"category-name-of-32-characters{i:02d}" for i in range(40)]
    programme = lifecycle_programme({"policy": "calendar", "years": MAX_CALENDAR_YEARS}, MAX_PENDING_DAYS)
    profile, _ = shop_with_runs(programme, 365 * 5, categories)
    profile = replace(profile, customer_id="C" * 128, segment="Dormant, worth winning back")
    size = size_of(worst_member(profile))
    print("worst case with lots and the membership:", size)
    assert size < COMBINED_BOUND, size
