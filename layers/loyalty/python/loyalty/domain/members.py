"""Members: enrolment, status, consents and preferences, interactions and relational activity (pure).

A member is a profile (domain/profile.py) with its Membership. A card first seen on a purchase is a
member that never enrolled (enrolled false, no consent); enrolling it later keeps its points. Consent
changes are kept as proof (time, source, consents after), the last MAX_CONSENT_HISTORY of them.
Interactions (an app opened, a review, a newsletter click...) earn nothing; they are counted per
programme month in buckets bounded like the purchase buckets (HISTORY_MONTHS), and make a customer
"relationally active" when the last one is within the programme's segments.relational.active_days.
`contactable` is what a marketing tool may do with a customer event: per channel, consent and not
blocked and fewer customer events sent this month than max_contacts_per_month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from loyalty.domain.content_hash import content_hash
from loyalty.domain.profile import (
    CONTACT_CHANNELS,
    HISTORY_MONTHS,
    ConsentChange,
    Membership,
    Profile,
    month_index,
)

MAX_CONSENT_HISTORY = 20  # the proof of consent kept per member: the last 20 changes
MAX_PREFERRED_CATEGORIES = 5  # bounds the item like the purchase buckets' categories
MAX_CONTACTS_PER_MONTH = 100
STATUSES = ("active", "blocked")
ACTIVE, BLOCKED = STATUSES
CONSENT_SOURCES = ("store", "web", "app", "back_office")
ENROLMENT_CHANNELS = ("store", "web", "app")
INTERACTION_KINDS = ("app_open", "review", "newsletter_click", "survey", "store_visit", "other")
INTERACTION_CHANNELS = ("store", "web", "app", "email", "sms", "push")
RELATIONAL_WINDOW_MONTHS = 12  # relational frequency: interactions in the 12 months of the period


def is_blocked(profile: Profile | None) -> bool:
    return profile is not None and profile.member.status == BLOCKED


@dataclass(frozen=True)
class Enrolment:
    """A validated enrolment: what POST /v1/customers stores, and replays when sent again."""

    customer_id: str
    enrolled_at: str  # UTC ISO instant
    store_id: str | None
    channel: str  # store | web | app (store when only store_id is given)
    consents: Mapping[str, bool]
    categories: tuple[str, ...]
    max_contacts_per_month: int | None

    @property
    def content_hash(self) -> str:
        content = [
            self.customer_id, self.enrolled_at, self.store_id, self.channel, sorted(self.consents.items()),
            list(self.categories), self.max_contacts_per_month,
        ]  # fmt: skip
        return content_hash(content)[:32]


def full_consents(consents: Mapping[str, bool]) -> dict[str, bool]:
    """Every contact channel, absent meaning no (no consent is ever assumed)."""
    return {channel: bool(consents.get(channel, False)) for channel in CONTACT_CHANNELS}


def with_consents(member: Membership, consents: Mapping[str, bool], source: str, at: str) -> Membership:
    """The consents changed (only the channels given), and the change kept as proof when one moved."""
    after = {**full_consents(member.consents), **{k: bool(v) for k, v in consents.items()}}
    if after == full_consents(member.consents) and member.consent_history:
        return member
    history = (*member.consent_history, ConsentChange(at, source, after))[-MAX_CONSENT_HISTORY:]
    return replace(member, consents=after, consent_history=history)


def enrol(profile: Profile, enrolment: Enrolment, now_utc: str) -> Profile:
    """The profile enrolled (a new one, or a card first seen on a purchase: its points stay)."""
    member = replace(
        profile.member,
        enrolled=True,
        enrolled_at=enrolment.enrolled_at,
        enrolled_store_id=enrolment.store_id,
        enrolled_channel=enrolment.channel,
        enrolment_hash=enrolment.content_hash,
        categories=enrolment.categories,
        max_contacts_per_month=enrolment.max_contacts_per_month,
    )
    member = with_consents(member, enrolment.consents, enrolment.channel, now_utc)
    return replace(profile, member=member)


@dataclass(frozen=True)
class MemberChange:
    """A validated PATCH: each part None when not sent."""

    consents: Mapping[str, bool] | None = None
    source: str | None = None
    categories: tuple[str, ...] | None = None
    max_contacts_per_month: int | None = None
    max_contacts_given: bool = False  # null is a value here (no limit): given or not is apart
    status: str | None = None


def change_member(profile: Profile, change: MemberChange, now_utc: str) -> Profile:
    member = profile.member
    if change.consents is not None:
        assert change.source is not None
        member = with_consents(member, change.consents, change.source, now_utc)
    if change.categories is not None:
        member = replace(member, categories=change.categories)
    if change.max_contacts_given:
        member = replace(member, max_contacts_per_month=change.max_contacts_per_month)
    if change.status is not None:
        member = replace(member, status=change.status)
    return replace(profile, member=member)


def record_interaction(profile: Profile, month: str, occurred_at_utc: str) -> Profile:
    """One interaction counted in its programme month; buckets older than HISTORY_MONTHS before the
    latest are dropped (an interaction older than that window is not counted in any bucket)."""
    member = profile.member
    counts = dict(member.interactions)
    latest = max([month, *counts])
    oldest = month_index(latest) - HISTORY_MONTHS + 1
    if month_index(month) >= oldest:
        counts[month] = counts.get(month, 0) + 1
    counts = {m: n for m, n in counts.items() if month_index(m) >= oldest}
    last = max(filter(None, (member.last_interaction_at, occurred_at_utc)))
    return replace(profile, member=replace(member, interactions=counts, last_interaction_at=last))


# ---------------------------------------------------------------------------------------------
# Relational activity at the monthly run


@dataclass(frozen=True)
class RelationalFacts:
    recency_days: int | None  # days from the last interaction or purchase to the reference day
    frequency_12m: int  # interactions in the 12 months of the period
    interaction_days: int | None  # days from the last interaction to the reference day
    active: bool  # interacted within segments.relational.active_days


def relational_facts(
    member: Membership,
    months: Sequence[str],
    ref_date: date,
    last_interaction_day: date | None,
    last_purchase_day: date | None,
    active_days: int,
) -> RelationalFacts:
    """`months` the period's 12 months; days are programme-zone days before `ref_date` (the day after
    the period); an interaction on or after ref_date is not yet part of the period."""
    interaction = last_interaction_day if last_interaction_day and last_interaction_day < ref_date else None
    purchase = last_purchase_day if last_purchase_day and last_purchase_day < ref_date else None
    latest = max(filter(None, (interaction, purchase)), default=None)
    interaction_days = (ref_date - interaction).days if interaction else None
    return RelationalFacts(
        recency_days=(ref_date - latest).days if latest else None,
        frequency_12m=sum(member.interactions.get(m, 0) for m in months),
        interaction_days=interaction_days,
        active=interaction_days is not None and interaction_days <= active_days,
    )


# ---------------------------------------------------------------------------------------------
# Contactability of customer events


def contacts_this_month(member: Membership, month: str) -> int:
    return member.contacts_sent if member.contacts_month == month else 0


def contactable(profile: Profile | None, month: str) -> dict[str, bool]:
    """Per channel: the member agreed, is not blocked, and fewer customer events than
    max_contacts_per_month went out in `month` (programme month)."""
    if profile is None or profile.erased:
        return full_consents({})
    member = profile.member
    room = (
        member.max_contacts_per_month is None
        or contacts_this_month(member, month) < member.max_contacts_per_month
    )
    allowed = member.status != BLOCKED and room
    return {channel: allowed and ok for channel, ok in full_consents(member.consents).items()}


def count_contacts(profile: Profile, month: str, events: int) -> Profile:
    """`events` more customer events sent in `month`."""
    if events <= 0:
        return profile
    member = profile.member
    sent = contacts_this_month(member, month) + events
    return replace(profile, member=replace(member, contacts_month=month, contacts_sent=sent))


def without_member(profile: Profile) -> Profile:
    """What erasure keeps: consents, their history, preferences and interactions go with the id."""
    return replace(profile, member=Membership())
