"""Regenerate src/postcli/data/caniemail.json from a caniemail checkout.

    python scripts/gen_caniemail.py PATH [--out FILE]      (or: make caniemail CANIEMAIL=PATH)

PATH is a clone of https://github.com/hteumeuleu/caniemail (MIT licence): its `_features/*.md`
(or `features/*.md`) and `_data/nicenames.yml` (or `nicenames.yml`). Each feature file starts
with YAML front matter whose `stats` give, per client family, platform and version, "y", "n",
"a" (partial) or "u" (unknown), optionally followed by note numbers ("a #2"); `notes_by_num`
holds the notes.

What the shipped file keeps, per feature: the title, the category, what to look for in an
email's HTML and CSS (`match`, from the rules and the table below), the note texts by number
(short, MIT, attributed in caniemail.LICENSE) and, per client platform, the value of its latest
tested version, as one list per feature aligned to the file's `platforms` list of
"family/platform" keys ("" where caniemail has no result). Descriptions, links and test URLs
are left out. Features that cannot be seen in an email's source (AMP, BIMI, HDR images...) are
left out and listed on stderr.

The output is deterministic: sorted keys, no whitespace, one trailing newline.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = "https://github.com/hteumeuleu/caniemail"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "postcli" / "data" / "caniemail.json"

# Match kinds, as postcli.clients reads them:
#   property        CSS property names (with "values": only when the value holds one of them)
#   function        CSS functions in a value: rgb, calc, linear-gradient
#   keyword         identifiers in a value: initial, system-ui, fit-content
#   unit            dimension units: px, em, % ...
#   at-rule         @media, @font-face ...
#   media-feature   features inside @media: prefers-color-scheme ...
#   pseudo-class, pseudo-element
#   selector        attribute, child, descendant, adjacent-sibling, general-sibling, class, id,
#                   type, universal, grouping, chaining
#   css             important, comment, nesting, custom-property
#   element         tag names, optionally with one attribute test: input[type=checkbox],
#                   a[href^=mailto:]
#   attribute       attribute names on any element
#   html            comment, doctype
#   image           image file extensions in <img src>, or "data" for data: URIs

_SIDES = ("top", "right", "bottom", "left")

# Features whose slug or title does not name the token directly.
MATCH: dict[str, dict[str, list[str]] | None] = {
    "amp": None,
    "bimi": None,
    "image-apng": None,  # an animated PNG is a .png: not visible from the source
    "image-hdr": None,
    # The caniemail pages for these count the longhands too.
    "css-margin": {"property": ["margin", *(f"margin-{side}" for side in _SIDES)]},
    "css-padding": {"property": ["padding", *(f"padding-{side}" for side in _SIDES)]},
    "css-border": {
        "property": [
            "border",
            "border-width",
            "border-style",
            "border-color",
            *(
                f"border-{side}{part}"
                for side in _SIDES
                for part in ("", "-width", "-style", "-color")
            ),
        ]
    },
    "css-background-position": {
        "property": ["background-position", "background-position-x", "background-position-y"]
    },
    "css-overflow": {"property": ["overflow", "overflow-x", "overflow-y"]},
    "css-block-inline-size": {"property": ["block-size", "inline-size"]},
    "css-border-inline-block-individual": {
        "property": [
            "border-inline-start",
            "border-inline-end",
            "border-block-start",
            "border-block-end",
        ]
    },
    "css-border-inline-block-longhand": {
        "property": [
            "border-inline-color",
            "border-inline-style",
            "border-inline-width",
            "border-block-color",
            "border-block-style",
            "border-block-width",
        ]
    },
    "css-border-inline-block": {"property": ["border-inline", "border-block"]},
    "css-border-radius-logical": {
        "property": [
            "border-start-start-radius",
            "border-start-end-radius",
            "border-end-start-radius",
            "border-end-end-radius",
        ]
    },
    "css-color-scheme": {"property": ["color-scheme"]},
    "css-column-layout-properties": {
        "property": [
            "columns",
            "column-width",
            "column-span",
            "column-fill",
            "column-rule",
            "column-rule-color",
            "column-rule-style",
            "column-rule-width",
        ]
    },
    "css-comments": {"css": ["comment"]},
    "css-display-flex": {"property": ["display"], "values": ["flex", "inline-flex"]},
    "css-display-grid": {"property": ["display"], "values": ["grid", "inline-grid"]},
    "css-display-none": {"property": ["display"], "values": ["none"]},
    "css-flex-direction": {"property": ["flex-direction"]},
    "css-flex-wrap": {"property": ["flex-wrap"]},
    "css-font": {"property": ["font"]},
    "css-gap": {"property": ["gap", "column-gap", "row-gap"]},
    "css-grid-template": {
        "property": [
            "grid-template",
            "grid-template-columns",
            "grid-template-rows",
            "grid-template-areas",
        ]
    },
    "css-important": {"css": ["important"]},
    "css-inert-attribute": {"attribute": ["inert"]},
    "css-intrinsic-size": {
        "keyword": ["fit-content", "min-content", "max-content"],
        "function": ["fit-content"],
    },
    "css-left-right-top-bottom": {"property": ["left", "right", "top", "bottom"]},
    "css-margin-block-start-end": {"property": ["margin-block-start", "margin-block-end"]},
    "css-margin-inline-block": {"property": ["margin-inline", "margin-block"]},
    "css-margin-inline-start-end": {"property": ["margin-inline-start", "margin-inline-end"]},
    "css-padding-block-start-end": {"property": ["padding-block-start", "padding-block-end"]},
    "css-padding-inline-block": {"property": ["padding-inline", "padding-block"]},
    "css-padding-inline-start-end": {"property": ["padding-inline-start", "padding-inline-end"]},
    "css-modern-color": {"function": ["lch", "oklch", "lab", "oklab"]},
    "css-nesting": {"css": ["nesting"]},
    "css-linear-gradient": {"function": ["linear-gradient", "repeating-linear-gradient"]},
    "css-radial-gradient": {"function": ["radial-gradient", "repeating-radial-gradient"]},
    "css-conic-gradient": {"function": ["conic-gradient", "repeating-conic-gradient"]},
    "css-rgb": {"function": ["rgb"]},
    "css-rgba": {"function": ["rgba"]},
    "css-scroll-snap": {"property": ["scroll-snap-type", "scroll-snap-align", "scroll-snap-stop"]},
    "css-sytem-ui": {
        "keyword": ["system-ui", "ui-serif", "ui-sans-serif", "ui-rounded", "ui-monospace"]
    },
    "css-unit-calc": {"function": ["calc"]},
    "css-unit-initial": {"keyword": ["initial"]},
    "css-unit-percent": {"unit": ["%"]},
    "css-variables": {"css": ["custom-property"], "function": ["var"]},
    "css-at-media-device-pixel-ratio": {
        "media-feature": [
            "-webkit-device-pixel-ratio",
            "-webkit-min-device-pixel-ratio",
            "-webkit-max-device-pixel-ratio",
        ]
    },
    "css-at-media-hover": {"media-feature": ["hover", "any-hover"]},
    "html-address": {"element": ["address"]},
    "html-anchor-links": {"element": ["a[href^=#]"]},
    "html-base": {"element": ["base"]},
    "html-button-reset": {"element": ["button[type=reset]"]},
    "html-button-submit": {"element": ["button[type=submit]"]},
    "html-comments": {"html": ["comment"]},
    "html-doctype": {"html": ["doctype"]},
    "html-h1-h6": {"element": ["h1", "h2", "h3", "h4", "h5", "h6"]},
    "html-image-maps": {"element": ["map", "area"], "attribute": ["usemap"]},
    "html-input-checkbox": {"element": ["input[type=checkbox]"]},
    "html-input-hidden": {"element": ["input[type=hidden]"]},
    "html-input-radio": {"element": ["input[type=radio]"]},
    "html-input-reset": {"element": ["input[type=reset]"]},
    "html-input-submit": {"element": ["input[type=submit]"]},
    "html-input-text": {"element": ["input[type=text]"]},
    "html-lists": {"element": ["ul", "ol", "dl"]},
    "html-loading-attribute": {"attribute": ["loading"]},
    "html-mailto-links": {"element": ["a[href^=mailto:]"]},
    "html-meta-color-scheme": {"element": ["meta[name=color-scheme]"]},
    "html-semantics": {
        "element": [
            "article",
            "aside",
            "details",
            "figcaption",
            "figure",
            "footer",
            "header",
            "main",
            "mark",
            "nav",
            "section",
            "summary",
            "time",
        ]
    },
    "html-srcset": {"attribute": ["srcset", "sizes"]},
    "html-svg": {"element": ["svg"]},
    "image-base64": {"image": ["data"]},
    "image-heif": {"image": ["heif", "heic"]},
    "image-jpg": {"image": ["jpg", "jpeg"]},
    "image-mp4": {"image": ["mp4"]},
    "image-tiff": {"image": ["tif", "tiff"]},
}

_SELECTORS = {
    "adjacent-sibling",
    "attribute",
    "chaining",
    "child",
    "class",
    "descendant",
    "general-sibling",
    "grouping",
    "id",
    "type",
    "universal",
}


def derived_match(slug: str, title: str) -> dict[str, list[str]] | None:
    """What a feature matches, from the hand table or else from its slug and title."""
    if slug in MATCH:
        return MATCH[slug]
    title = title.strip()
    for prefix, kind in (
        ("css-at-media-", "media-feature"),
        ("css-at-", "at-rule"),
        ("css-pseudo-class-", "pseudo-class"),
        ("css-pseudo-element-", "pseudo-element"),
        ("css-function-", "function"),
        ("css-unit-", "unit"),
        ("image-", "image"),
    ):
        if slug.startswith(prefix):
            return {kind: [slug.removeprefix(prefix)]}
    if slug.startswith("css-selector-") and slug.removeprefix("css-selector-") in _SELECTORS:
        return {"selector": [slug.removeprefix("css-selector-")]}
    if slug.startswith("css-"):
        name = re.sub(r" property$", "", title)
        if name == slug.removeprefix("css-") and re.fullmatch(r"[a-z-]+", name):
            return {"property": [name]}
    if slug.startswith("html-"):
        element = re.fullmatch(r"<([a-z0-9]+)> element", title)
        if element:
            return {"element": [element.group(1)]}
        attribute = re.fullmatch(r"([a-z-]+) attribute", title)
        if attribute:
            return {"attribute": [attribute.group(1)]}
    return None


_VALUE_RE = re.compile(r"^\s*([ynau])\s*((?:#\d+\s*)*)$")


def support_value(raw: object, where: str) -> str:
    """ "a #2 #3" -> "a #2 #3", normalised; anything else is an error naming the place."""
    match = _VALUE_RE.match(str(raw))
    if not match:
        raise SystemExit(f"{where}: unexpected support value {raw!r}")
    notes = re.findall(r"#(\d+)", match.group(2))
    return " ".join([match.group(1), *(f"#{n}" for n in notes)])


def front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise SystemExit(f"{path}: no front matter")
    block = text.split("\n---", 1)[0].removeprefix("---")
    # The files indent with tabs here and there, which YAML forbids and Jekyll tolerates.
    data = yaml.safe_load(block.replace("\t", "    "))
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: front matter is not a mapping")
    return data


def source_commit(root: Path) -> str | None:
    """The checkout's commit: from git when it is a clone, else from a SOURCE.txt beside it."""
    if (root / ".git").exists():
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            return result.stdout.strip()
    source = root / "SOURCE.txt"
    if source.is_file():
        match = re.search(r"^Commit:\s*([0-9a-f]{7,40})", source.read_text(), re.M)
        if match:
            return match.group(1)
    return None


def generate(root: Path) -> tuple[dict[str, Any], list[str]]:
    """(the data, the slugs left out because nothing in an email's source shows them)."""
    features_dir = root / "_features" if (root / "_features").is_dir() else root / "features"
    names_file = root / "_data" / "nicenames.yml"
    if not names_file.is_file():
        names_file = root / "nicenames.yml"
    if not features_dir.is_dir() or not names_file.is_file():
        raise SystemExit(f"{root}: not a caniemail checkout (no _features/ or nicenames.yml)")
    nicenames = yaml.safe_load(names_file.read_text(encoding="utf-8"))
    families: dict[str, str] = nicenames.get("family", {})
    platform_names: dict[str, str] = nicenames.get("platform", {})

    features: dict[str, Any] = {}
    clients: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for path in sorted(features_dir.glob("*.md")):
        slug = path.stem
        if slug.startswith("_"):
            continue  # _template.md
        data = front_matter(path)
        title = str(data.get("title", slug)).strip()
        match = derived_match(slug, title)
        if match is None:
            skipped.append(slug)
            continue
        support: dict[str, dict[str, str]] = {}
        for family, platforms in (data.get("stats") or {}).items():
            for platform, versions in (platforms or {}).items():
                if not versions:
                    continue
                # caniemail lists versions oldest first; the last one is the current state.
                latest = list(versions.values())[-1]
                value = support_value(latest, f"{path}: {family}.{platform}")
                support.setdefault(str(family), {})[str(platform)] = value
                client = clients.setdefault(
                    str(family),
                    {"name": families.get(family, str(family)), "platforms": {}},
                )
                client["platforms"][str(platform)] = platform_names.get(platform, str(platform))
        notes = {
            str(number): " ".join(str(text).split())
            for number, text in (data.get("notes_by_num") or {}).items()
        }
        features[slug] = {
            "title": title,
            "category": str(data.get("category", "")),
            "match": match,
            "notes": notes,
            "support": support,
        }
    platforms = sorted(
        f"{family}/{platform}"
        for family, client in clients.items()
        for platform in client["platforms"]
    )
    for feature in features.values():
        by_family = feature["support"]
        feature["support"] = [
            by_family.get(key.split("/")[0], {}).get(key.split("/")[1], "") for key in platforms
        ]
    data = {
        "platforms": platforms,
        "source": {
            "project": "caniemail",
            "repository": REPOSITORY,
            "commit": source_commit(root),
            "licence": "MIT; see caniemail.LICENSE",
        },
        "clients": clients,
        "features": features,
    }
    return data, skipped


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a caniemail checkout")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON file to write")
    args = parser.parse_args(argv)
    data, skipped = generate(args.checkout)
    text = dumps(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(
        f"{args.out}: {len(data['features'])} features, {len(data['clients'])} clients, "
        f"{len(text.encode()):,} bytes",
        file=sys.stderr,
    )
    if skipped:
        print(f"left out (not visible in an email's source): {', '.join(skipped)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
