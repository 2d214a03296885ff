"""Whether a feature a client drops does no harm: the fallbacks the email-client report counts.

Pure: a feature's uses, the platform and the caniemail data in; a reason or None out. Used only
by `postcli.clients.report`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from postcli.clients.analyze import Use
from postcli.data import Data, Feature, Platform, Support

# The ways an element can hide itself (analyze.hiding) and the feature each one is.
_HIDING = {
    "display:none": "css-display-none",
    "overflow:hidden": "css-overflow",
    "visibility:hidden": "css-visibility",
    "max-height:0": "css-max-height",
    "max-width:0": "css-max-width",
    "opacity:0": "css-opacity",
    "font-size:tiny": "css-font-size",
    "line-height:tiny": "css-line-height",
}

# A declaration of the property's initial value does nothing when a client drops it.
_INITIAL = {
    "height": "auto",
    "width": "auto",
    "min-height": "auto",
    "min-width": "auto",
    "max-height": "none",
    "max-width": "none",
    "overflow": "visible",
    "opacity": "1",
    "white-space": "normal",
    "word-break": "normal",
    "word-spacing": "normal",
    "overflow-wrap": "normal",
    "cursor": "auto",
    "outline": "none",
}

# A feature and the older spelling of it that clients without the feature may read; declared
# side by side (in the same style attribute or <style> block), the older one is the fallback.
_ALTERNATIVES = {"css-overflow-wrap": "css-word-wrap"}


def fallback(
    feature: Feature,
    uses: Sequence[Use],
    platform: Platform,
    data: Data,
    found: dict[str, list[Use]],
) -> str | None:
    """Why every use the platform reads does no harm when dropped, or None."""
    reasons = []
    alternative = data.features.get(_ALTERNATIVES.get(feature.slug, ""))
    beside: set[Any] = set()
    if alternative is not None and alternative.verdict(platform.key).support in (
        Support.FULL,
        Support.PARTIAL,
    ):
        beside = {u.where for u in found.get(alternative.slug, ())}
    for use in uses:
        if use.where in beside and alternative is not None:
            reasons.append(f"{alternative.title} beside it, which this client reads")
            continue
        reason = _use_fallback(feature, use, platform, data)
        if reason is None:
            return None
        reasons.append(reason)
    return reasons[0] if reasons else None


def _use_fallback(feature: Feature, use: Use, platform: Platform, data: Data) -> str | None:
    if feature.slug == "css-at-media" or "media-feature" in feature.match:
        return "progressive: without the media query the styles outside it apply"
    if use.where.media:
        return "only inside @media: without it the styles outside apply"
    if platform.reads_mso and use.where.ghost_table:
        return "MJML's Outlook table in <!--[if mso]> does the layout"
    if use.kind == "property" and use.values == (_INITIAL.get(use.name),):
        return f"sets the initial value ({use.name}: {use.values[0]}): dropping it changes nothing"
    mine = {way for way, slug in _HIDING.items() if slug == feature.slug}
    if mine & set(use.where.hidden_by):
        for way in use.where.hidden_by:
            other = data.features.get(_HIDING.get(way, ""))
            if way in mine or other is None:
                continue
            support = other.verdict(platform.key).support
            if support in (Support.FULL, Support.PARTIAL):
                return f"the element is hidden another way too ({way}), which this client " + (
                    "supports" if support is Support.FULL else "partly supports"
                )
    return None


# --- The report -------------------------------------------------------------------------------
