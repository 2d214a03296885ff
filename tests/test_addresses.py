"""The config's address check: its quick path for everyday addresses never accepts what the
standard library's parser would refuse.

`addresses.address_problem` recognises `you@example.com` and `Name <you@example.com>` with one
regular expression, so that loading a config does not import email.policy. These tests hold that
shortcut to the parser it stands in for, on generated addresses near its edges.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postcli.addresses import _PLAIN_RE, _parsed_problem, address_problem

# Characters that make an address odd: quotes, comments, routes, groups, encoded words, dots.
EDGY = string.ascii_letters[:6] + string.digits[:3] + ' .@<>-_+"(),;:[]\\=?!#\t'
atom = st.text(string.ascii_letters + string.digits + "-_+", min_size=1, max_size=6)
label = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=6)
# Display-name words: letters and digits of any script (Hangul, accents, other digits) or ASCII.
word = st.one_of(
    atom,
    st.text(st.characters(categories=("Lu", "Ll", "Lo", "Lm", "Nd", "No", "Mn")), max_size=5),
)


@st.composite
def near_addresses(draw: st.DrawFn) -> str:
    """Addresses built from parts, then perhaps bent by one edit: most are valid, many just not."""
    local = ".".join(draw(st.lists(atom, min_size=1, max_size=3)))
    domain = ".".join(draw(st.lists(label, min_size=1, max_size=4)))
    address = f"{local}@{domain}"
    if draw(st.booleans()):
        name = " ".join(draw(st.lists(word, min_size=1, max_size=3)))
        address = f"{name} <{address}>"
    if draw(st.booleans()):
        at = draw(st.integers(0, len(address)))
        address = address[:at] + draw(st.sampled_from(list(EDGY))) + address[at:]
    return address


@settings(max_examples=1500, deadline=None)
@given(value=st.one_of(near_addresses(), st.text(EDGY, max_size=30)))
def test_the_quick_path_accepts_only_what_the_parser_accepts(value: str) -> None:
    if _PLAIN_RE.fullmatch(value):
        assert _parsed_problem(value) is None, value
    assert (address_problem(value) is None) == (
        bool(_PLAIN_RE.fullmatch(value)) or _parsed_problem(value) is None
    )


@pytest.mark.parametrize(
    "value",
    [
        "editor@letter.test",
        "Jane Doe <jane.doe+news@mail.example.co.kr>",
        "Weekly 42 <a_b-c@x-y.example.com>",
        "AI 글로벌 브리프 <hello@letter.test>",
        "Zoë Müller <zoe@example.de>",
    ],
)
def test_everyday_addresses_take_the_quick_path(value: str) -> None:
    assert _PLAIN_RE.fullmatch(value)
    assert address_problem(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("My Newsletter", "is not an email address"),
        ("a@example.com, b@example.com", "is not one email address"),
        (".:", "is not an email address"),  # the standard library's parser raises on these
        (" .;", "is not an email address"),
        ("Jane <jane@localhost>", None),  # the parser's path: localhost is allowed
        ("편집부. <editor@letter.test>", None),  # a dot in a Korean name: the parser's path
        ("Jane.Doe <jane@example.com>", None),  # a dot in the name: the parser decides
    ],
)
def test_everything_else_is_the_parsers_to_judge(value: str, problem: str | None) -> None:
    assert not _PLAIN_RE.fullmatch(value)
    found = address_problem(value)
    assert found == _parsed_problem(value)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)
