"""Meta's standard event names, and the nearest one to a name that is probably a typo. Pure."""

from __future__ import annotations

import difflib

from sheetsync.core.config import JobConfig, funnel

STANDARD_EVENTS = (
    "AddPaymentInfo", "AddToCart", "AddToWishlist", "CompleteRegistration", "Contact",
    "CustomizeProduct", "Donate", "FindLocation", "InitiateCheckout", "Lead", "Purchase",
    "Schedule", "Search", "StartTrial", "SubmitApplication", "Subscribe", "ViewContent",
)  # fmt: skip


def likely_typos(job: JobConfig) -> list[tuple[str, str]]:
    """(configured event, the standard event it is probably meant to be).

    A custom name (`QualifiedLead`) is fine for Conversion Leads stages; one that is a letter or
    two away from a standard event (`Purchse`) is accepted by Meta but can never be optimised
    for as the standard event, so it is worth a warning."""
    found = []
    for stage in funnel(job):
        if stage.event in STANDARD_EVENTS:
            continue
        close = difflib.get_close_matches(stage.event, STANDARD_EVENTS, n=1, cutoff=0.8)
        if not close:
            lowered = {name.lower(): name for name in STANDARD_EVENTS}
            close = [lowered[stage.event.lower()]] if stage.event.lower() in lowered else []
        if close:
            found.append((stage.event, close[0]))
    return found
