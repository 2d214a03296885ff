"""The paywall promise over the public web edition, as a property: for issues written by the
paywall property test's generator (tests/test_paywall_property.py), no premium-only token is in
any file under site/, in any form a reader or a crawler could decode: raw, HTML entities
(once or twice, as the feed escapes its content), URL-encoding, JSON escapes, with the tags
removed, in a file name, or in an image's bytes.

The generator's images become local files named after their token, with the token written into
the PNG's text metadata too, so the image publishing (names, bytes, which images are published
at all) is under test as much as the text.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image, PngImagePlugin

from conftest import copy_sample_workspace
from postcli import config
from postcli.site.assets import asset_name
from postcli.site.build import build_site
from site_helpers import AFTER_BOTH, add_site_url
from test_paywall_property import Generated, issues

REMOTE_IMAGE = re.compile(r"\(https://img\.example\.com/((?:PUB|PREM|FREE)[0-9a-f]{10})\.png")
_TAG = re.compile(r"<[^>]*>")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_COUNTER = itertools.count()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = copy_sample_workspace(tmp_path_factory.mktemp("site-prop") / "newsletter")
    return add_site_url(workspace)


def _image(path: Path, token: str) -> None:
    """A small PNG whose pixels differ per token and whose text chunk carries the token."""
    seed = int(token[-6:], 16)
    image = Image.new("RGB", (40, 20), (seed & 255, (seed >> 8) & 255, (seed >> 16) & 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"secret {token}")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG", pnginfo=info)


def _forms(text: str) -> list[str]:
    once = html.unescape(text)
    twice = html.unescape(once)
    return [
        text,
        once,
        twice,
        unquote(text),
        unquote(twice),
        _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text),
        _TAG.sub("", twice),
        _TAG.sub("", html.unescape(_TAG.sub("", once))),
    ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=issues())
def test_premium_content_never_reaches_any_file_of_the_site(
    generated: Generated, root: Path
) -> None:
    images = root / "assets" / "generated"
    markdown = generated.markdown
    local: dict[str, Path] = {}
    for token in REMOTE_IMAGE.findall(markdown):
        local[token] = images / f"{token}.png"
        _image(local[token], token)
    markdown = REMOTE_IMAGE.sub(r"(../assets/generated/\1.png", markdown)
    markdown = markdown.replace("---\n", "---\nsend_at: 2026-11-01 09:00\n", 1)
    issue_id = "2026-11-01-generated"
    (root / "issues" / f"{issue_id}.md").write_text(markdown, encoding="utf-8")

    out = root / f"site-{next(_COUNTER)}"
    report = build_site(config.load(root), out_dir=out, now=AFTER_BOTH)
    assert issue_id in {e.id for e in report.entries}

    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    decoded = {name: _forms(data.decode("utf-8", "replace")) for name, data in files.items()}
    for token in generated.tokens["premium"]:
        assert not any(token in name for name in files), f"{token} names a file"
        for name, data in files.items():
            assert token.encode() not in data, f"premium {token} in {name}\n{markdown}"
        for name, forms in decoded.items():
            assert not any(token in form for form in forms), f"premium {token} in {name}"
        if token in local:
            assert f"assets/{asset_name(local[token])}" not in files, f"{token}'s image published"

    page = " ".join(_forms((out / issue_id / "index.html").read_text(encoding="utf-8")))
    for token in generated.tokens["public"] | generated.tokens["free"]:
        if token in local:  # a free image: published, under its hash, without its metadata
            name = f"assets/{asset_name(local[token])}"
            assert name in files and token.encode() not in files[name]
        else:
            assert token in page, f"{token} missing from the page\n{markdown}"
