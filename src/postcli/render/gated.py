"""Issue -> one gated post: the body as ordered sections, each with who may read it.

For the platforms that gate content themselves (Ghost, beehiiv), postcli sends one post for free
and paying readers alike, and the platform decides who sees what. This module cuts the issue
into the pieces such a post is made of:

- `everyone` sections: the body above the paywall, outside `:::` blocks;
- `free` sections: `::: free` blocks (free readers only);
- `premium` sections: `::: premium` blocks, and everything below the paywall marker
  (`below_paywall` is then true: the platform's paywall already cuts it);
- one `paywall` section, where the marker was.

Every section is parsed from the variant its readers get, so what a free reader may see comes
only from the free variant's parse (a link whose reference definition is below the paywall is
plain text there, as in the free email), and premium sections come from the premium parse. The
footnotes of each parse are a section of their own: the free parse's before the paywall, the
premium parse's at the end; when both are the same they are one `everyone` section.

Each section carries its block tokens (inline content parsed) for APIs that want blocks
(beehiiv) and its HTML fragment, without the email template or its inlined CSS, for APIs that
take HTML (Ghost). This module renders nothing else and never touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from postcli.config import Settings
from postcli.issues import Issue
from postcli.markdown import Token
from postcli.model import Variant
from postcli.render import body as md
from postcli.render import preheader_line, subject_line
from postcli.render.urls import make_resolver

Readers = Literal["everyone", "free", "premium", "paywall"]
_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Section:
    """A run of top-level blocks with the same readers."""

    readers: Readers
    blocks: tuple[str, ...] = ()  # the HTML of each top-level block
    tokens: tuple[Token, ...] = ()
    env: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    below_paywall: bool = False
    footnotes: bool = False

    @property
    def html(self) -> str:
        return "".join(self.blocks)


@dataclass(frozen=True)
class GatedPost:
    """What a self-gated platform gets for one issue (or one variant of it)."""

    issue_id: str
    slug: str  # stable: the issue id, lower case, as the platform's URL slug
    title: str
    subtitle: str | None
    subject: str
    preheader: str | None  # the free email's: safe for everyone
    tags: tuple[str, ...]
    sections: tuple[Section, ...]

    @property
    def has_paywall(self) -> bool:
        return any(s.readers == "paywall" for s in self.sections)

    @property
    def has_blocks(self) -> bool:
        """True when some section above the paywall is for one tier only."""
        return any(s.readers in ("free", "premium") and not s.below_paywall for s in self.sections)

    def html_for(self, readers: Literal["free", "premium"]) -> str:
        """The HTML one kind of reader gets: a reference for tests and previews."""
        parts = []
        for section in self.sections:
            if section.readers == "paywall":
                if readers == "free":
                    break
                continue
            if section.readers in ("everyone", readers):
                parts.append(section.html)
        return "".join(parts)


def block_html(section: Section) -> tuple[str, ...]:
    """The HTML of each top-level block of `section`, in order."""
    return section.blocks


def slug_for(issue_id: str) -> str:
    """A URL slug from an issue id: lower-case ASCII letters, digits and hyphens."""
    slug = _SLUG_RE.sub("-", issue_id.lower()).strip("-")
    return slug or "issue"


def _top_level(tokens: Sequence[Token]) -> Iterator[list[Token]]:
    """The tokens grouped by top-level block (an open token through its close)."""
    depth = 0
    current: list[Token] = []
    for token in tokens:
        current.append(token)
        depth += token.nesting
        if depth <= 0:
            depth = 0
            yield current
            current = []
    if current:
        yield current


def _first_line(block: Sequence[Token]) -> int | None:
    for token in block:
        if token.map:
            return token.map[0]
    return None


class _Layout:
    """Which readers each body line of the issue belongs to."""

    def __init__(self, issue: Issue) -> None:
        self.paywall: int | None = None
        if issue.paywall is not None:
            span = issue.tokens[issue.paywall].map
            assert span is not None
            self.paywall = span[0]
        self.blocks: list[tuple[int, int, Variant]] = []
        for block in issue.blocks:
            span = issue.tokens[block.start].map
            assert span is not None
            self.blocks.append((span[0], span[1], block.kind))

    def readers(self, line: int) -> tuple[Readers, bool]:
        if self.paywall is not None and line > self.paywall:
            return "premium", True
        for start, end, kind in self.blocks:
            if start <= line < end:
                return kind.value, False
        return "everyone", False


def _parse(issue: Issue, variant: Variant) -> tuple[list[list[Token]], list[Token], dict[str, Any]]:
    """(top-level blocks with a source line, the footnote block's tokens, env) of a variant."""
    body = md.parse_variant(issue, variant)
    blocks, footnotes = [], []
    for block in _top_level(body.tokens):
        if block[0].type == "footnote_block_open":
            footnotes = block
        elif _first_line(block) is not None:
            blocks.append(block)
    return blocks, footnotes, body.env


def gated_post(
    issue: Issue, settings: Settings, variants: Sequence[Variant], *, split: bool = False
) -> GatedPost:
    """The post for `variants`: both (one gated post), or one of them alone (the issue's
    audience is one tier, or `--variant` asked for one: `split`, and the slug then ends in the
    variant, as that is a post of its own)."""
    resolve = make_resolver(issue, settings)
    layout = _Layout(issue)
    both = Variant.FREE in variants and Variant.PREMIUM in variants

    def html(tokens: list[Token], env: dict[str, Any], variant: Variant) -> str:
        return md.body_html(md.Body(variant, tokens, env, cut=False), resolve)

    placed: list[tuple[int, int, Section]] = []  # (source line, order, section)
    parses = {v: _parse(issue, v) for v in (Variant.FREE, Variant.PREMIUM) if v in variants}
    shared: dict[int, tuple[str, list[Token], dict[str, Any]]] = {}  # premium parse, by line
    if both:
        blocks, _, env = parses[Variant.PREMIUM]
        for block in blocks:
            line = _first_line(block)
            assert line is not None
            if layout.readers(line)[0] == "everyone":
                shared[line] = (html(block, env, Variant.PREMIUM), block, env)
    for variant, (blocks, _, env) in parses.items():
        for block in blocks:
            line = _first_line(block)
            assert line is not None
            readers, below = layout.readers(line)
            rendered = html(block, env, variant)
            if not both:
                readers = "everyone"  # a one-variant post: its readers see all of it
            elif variant is Variant.PREMIUM:
                if readers != "premium":
                    continue
            elif readers == "everyone" and line in shared and shared[line][0] != rendered:
                # A reference or footnote defined below the paywall: free readers get this
                # block as the free email has it, paying readers as the premium one does.
                readers = "free"
                paid_html, paid_block, paid_env = shared[line]
                placed.append(
                    (line, 1, Section("premium", (paid_html,), tuple(paid_block), paid_env))
                )
            placed.append(
                (line, 0, Section(readers, (rendered,), tuple(block), env, below_paywall=below))
            )
    placed.sort(key=lambda item: item[:2])
    merged = _merge([section for _, _, section in placed])
    before = [s for s in merged if not s.below_paywall]
    after = [s for s in merged if s.below_paywall]

    # Footnotes: each parse's own, where its readers can reach them.
    notes = {v: (p[1], p[2]) for v, p in parses.items() if p[1]}
    end: list[Section] = []
    if both:
        notes_html = {v: html(tokens, env, v) for v, (tokens, env) in notes.items()}
        free_html = notes_html.get(Variant.FREE, "")
        premium_html = notes_html.get(Variant.PREMIUM, "")
        if free_html and free_html == premium_html:
            tokens, env = notes[Variant.FREE]
            before.append(Section("everyone", (free_html,), tuple(tokens), env, footnotes=True))
        else:
            if free_html:
                tokens, env = notes[Variant.FREE]
                before.append(Section("free", (free_html,), tuple(tokens), env, footnotes=True))
            if premium_html:
                tokens, env = notes[Variant.PREMIUM]
                end.append(
                    Section(
                        "premium",
                        (premium_html,),
                        tuple(tokens),
                        env,
                        below_paywall=layout.paywall is not None,
                        footnotes=True,
                    )
                )
    else:
        for variant, (tokens, env) in notes.items():
            notes_block = (html(tokens, env, variant),)
            end.append(Section("everyone", notes_block, tuple(tokens), env, footnotes=True))
    paywall = [Section("paywall")] if both and layout.paywall is not None else []
    sections = [*before, *paywall, *after, *end]

    front = issue.front
    return GatedPost(
        issue_id=issue.id,
        slug=slug_for(issue.id) + (f"-{variants[0].value}" if split else ""),
        title=front.title,
        subtitle=front.subtitle,
        subject=subject_line(issue),
        preheader=preheader_line(issue),
        tags=tuple(front.tags),
        sections=tuple(sections),
    )


def _merge(sections: list[Section]) -> list[Section]:
    """Neighbouring sections with the same readers become one."""
    out: list[Section] = []
    for section in sections:
        last = out[-1] if out else None
        if (
            last is not None
            and last.readers == section.readers
            and last.below_paywall == section.below_paywall
            and last.env is section.env
        ):
            out[-1] = Section(
                last.readers,
                last.blocks + section.blocks,
                last.tokens + section.tokens,
                last.env,
                below_paywall=last.below_paywall,
            )
        else:
            out.append(section)
    return out
