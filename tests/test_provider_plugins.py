"""The provider seam for third parties: a plug-in found through the `postcli.providers` entry
point gets what a built-in gets (its secrets redacted, its merge tag recognised, its settings
checked through its schema), and every bad key of a provider table is reported at once."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from fakes.plugin import MERGE_TAG, TOKEN_VARIABLE
from postcli import config, providers, registry
from postcli.check import check_issue, run_checks
from postcli.model import Variant

ISSUE_ID = "2026-12-08-plugin"
ISSUE = """---
title: "A week of plug-ins"
subtitle: What a third-party provider gets
preheader: The provider seam, seen from outside
---
Free text for everyone.

<!-- paywall -->

Premium text.
"""
TOKEN = "acme-tok-7f3c9e21b4d8a6"


@pytest.fixture
def acme_entry_point(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`acme` installed as a separate package would install it: an entry point, nothing else."""
    real = registry.entry_points
    point = EntryPoint(name="acme", value="fakes.plugin:AcmeProvider", group=registry.GROUP)

    def entry_points(*, group: str) -> list[EntryPoint]:
        found = list(real(group=group))
        return [*found, point] if group == registry.GROUP else found

    monkeypatch.setattr(registry, "entry_points", entry_points)
    yield


def write_issue(root: Path) -> Path:
    path = root / "issues" / f"{ISSUE_ID}.md"
    path.write_text(ISSUE, encoding="utf-8")
    return path


def use_provider(root: Path, name: str, table: str = "") -> None:
    toml = root / "postcli.toml"
    text = toml.read_text(encoding="utf-8").replace('name = "file"', f'name = "{name}"')
    toml.write_text(text + ("\n" + table + "\n" if table else ""), encoding="utf-8")


def test_a_plugins_secret_is_redacted_from_what_the_command_prints(
    workspace: Path,
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    acme_entry_point: None,
) -> None:
    write_issue(workspace)
    use_provider(workspace, "acme")
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3, result.output
    assert "Acme refused the token ***: account suspended" in result.stderr
    assert TOKEN not in result.output
    assert TOKEN_VARIABLE in providers.secret_variables()


def test_without_the_entry_point_the_same_secret_is_not_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control for the test above: redaction knows the token only through the plug-in."""
    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    assert TOKEN_VARIABLE not in providers.secret_variables()
    assert config.redact(f"token {TOKEN}") == f"token {TOKEN}"


def _with_unsubscribe(workspace: Path, href: str) -> list[str]:
    """The rules `check` finds when the free email's unsubscribe link is `href`."""
    settings = config.load(workspace)
    report = check_issue(settings, write_issue(workspace))
    free = report.emails[Variant.FREE]
    link = settings.newsletter.unsubscribe_url
    assert link is not None and link in free.html
    html = free.html.replace(link, href)
    findings = run_checks(
        report.issue, {Variant.FREE: dataclasses.replace(free, html=html)}, settings
    )
    return [f.rule for f in findings]


def test_a_plugins_merge_tag_counts_as_an_unsubscribe_link(
    workspace: Path, acme_entry_point: None
) -> None:
    assert "no-unsubscribe" not in _with_unsubscribe(workspace, MERGE_TAG)
    assert "no-unsubscribe" in _with_unsubscribe(workspace, "https://example.com/about")


def test_an_unknown_merge_tag_is_no_unsubscribe_link(workspace: Path) -> None:
    """The control: without the plug-in, the same tag is just text."""
    assert "no-unsubscribe" in _with_unsubscribe(workspace, MERGE_TAG)


def _line(path: Path, pattern: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, start=1) if re.match(pattern, text))


def test_every_bad_key_of_a_provider_table_is_reported_at_once(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    (workspace / "subscribers.csv").write_text("email,name,tier\na@example.org,A,free\n")
    use_provider(
        workspace,
        "smtp",
        '[providers.smtp]\nhost = "127.0.0.1"\ncolour = "red"\nport = "587"\n'
        'subscribers = "subscribers.csv"\nrate = "fast"\n',
    )
    toml = workspace / "postcli.toml"
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1, result.output
    assert "3 problems" in result.stderr
    for pattern, message in [
        (r"colour =", "unknown key 'colour' in [providers.smtp]; known: host, port"),
        (r"port =", "'port' in [providers.smtp] must be a port number like 587"),
        (r"rate =", "'rate' in [providers.smtp] must be messages per second"),
    ]:
        assert f"{toml}:{_line(toml, pattern)}: {message}" in result.stderr
    assert "Traceback" not in result.output


def test_a_plugins_settings_are_checked_through_its_schema(
    workspace: Path, run_cli: Callable[..., Any], acme_entry_point: None
) -> None:
    write_issue(workspace)
    use_provider(workspace, "acme", '[providers.acme]\nlist_id = 42\nregion = "eu"\n')
    toml = workspace / "postcli.toml"
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1, result.output
    assert "2 problems" in result.stderr
    assert (
        f"{toml}:{_line(toml, r'list_id =')}: 'list_id' in [providers.acme] must be the list's id"
        in result.stderr
    )
    assert (
        f"{toml}:{_line(toml, r'region =')}: unknown key 'region' in [providers.acme]; "
        "known: list_id, timeout" in result.stderr
    )


@pytest.mark.parametrize("name", sorted(registry.targets()))
def test_each_built_in_class_declares_what_the_registry_table_says(name: str) -> None:
    """Redaction and check read a built-in's declaration from the table without importing it;
    sending reads it from the class: the two must be the same."""
    declared = registry.builtin(name)
    cls = registry.load_target(declared.target)
    assert getattr(cls, "name", name) == name
    assert tuple(getattr(cls, "secret_variables", ())) == declared.secret_variables
    assert getattr(cls, "unsubscribe_tag", None) == declared.unsubscribe_tag


@pytest.mark.parametrize(
    ("name", "table", "message"),
    [
        # The right TOML type, a value the provider cannot take: the words of its schema entry.
        ("mailgun", "domain = 5", "'domain' in [providers.mailgun] must be a domain name"),
        ("mailgun", 'domain = "mg.example.org"\nregion = "ap"', 'must be "us" or "eu"'),
        ("smtp", 'host = "127.0.0.1"\nport = 0', "'port' in [providers.smtp] must be a port"),
        ("smtp", 'host = "127.0.0.1"\nrate = -1', "'rate' in [providers.smtp] must be messages"),
        ("ses", 'region = "moon"', "'region' in [providers.ses] must be an AWS region"),
        ("buttondown", 'base_url = "ftp://x"', "'base_url' in [providers.buttondown] must be an"),
        ("resend", "timeout = 0", "'timeout' in [providers.resend] must be seconds, like 30"),
        # A wrong type: the shared keys' messages name this provider's table.
        ("buttondown", "timeout = true", "'timeout' in [providers.buttondown] must be seconds"),
        ("postmark", "rate = []", "'rate' in [providers.postmark] must be messages per second"),
    ],
)
def test_a_bad_value_is_named_in_its_providers_own_words(
    workspace: Path, run_cli: Callable[..., Any], name: str, table: str, message: str
) -> None:
    write_issue(workspace)
    (workspace / "subscribers.csv").write_text("email,name,tier\na@example.org,A,free\n")
    extra = 'subscribers = "subscribers.csv"\n' if name in ("smtp", "ses", "mailgun") else ""
    use_provider(workspace, name, f"[providers.{name}]\n{extra}{table}\n")
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1, result.output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_plugin_built_on_the_http_base_is_named_in_messages(workspace: Path) -> None:
    """The shared keys' messages are made with the provider's own name, never the base's."""
    from postcli.errors import ConfigError
    from postcli.providers._campaigns import HttpCampaignProvider
    from postcli.providers._settings import ProviderTable

    class Letterbox(ProviderTable):  # the HTTP base's keys, inherited as they are
        name = "letterbox"
        title = "Letterbox"
        settings_schema = HttpCampaignProvider.settings_schema

    use_provider(workspace, "letterbox", '[providers.letterbox]\ntimeout = "soon"\n')
    with pytest.raises(ConfigError) as refused:
        Letterbox(config.load(workspace))
    assert "'timeout' in [providers.letterbox] must be seconds, like 30" in str(refused.value)
