"""`postcli send` through the default `file` provider, the send rules of docs/sending.md, the
ledger around them, and the provider layer (registry, a campaign provider's resume)."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from helpers.send import (
    ISSUE_ID,
    SECRET,
    SUBJECT,
    configure,
    parse,
    parts,
    run_postcli,
    set_provider,
    write_issue,
    write_subscribers,
)
from helpers.workspace import clear_send_at, copy_sample_workspace
from postcli import providers
from postcli.ledger import Ledger
from postcli.providers.base import Campaign, Checkpoint, Delivery, Features, RemoteCampaign


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The sample workspace, its sample issues without send_at (by today's clock one may be
    overdue, which `postcli status` reports)."""
    root = copy_sample_workspace(tmp_path / "newsletter")
    clear_send_at(root)
    return root


def live_sends(root: Path) -> list[Any]:
    if not (root / ".postcli" / "ledger.sqlite3").exists():
        return []
    with Ledger.open(root / ".postcli") as ledger:
        return ledger.sends(mode="live")


# -- the file provider ------------------------------------------------------------------------


def test_send_writes_one_eml_per_variant_and_a_second_run_does_nothing(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    outbox = workspace / "outbox" / ISSUE_ID
    assert sorted(p.name for p in outbox.iterdir()) == ["free.eml", "premium.eml"]
    free, premium = parse(outbox / "free.eml"), parse(outbox / "premium.eml")
    assert free["Subject"] == premium["Subject"] == SUBJECT
    assert free["Message-ID"] != premium["Message-ID"]
    free_text, free_html = parts(free)
    premium_text, premium_html = parts(premium)
    assert SECRET not in free_text + free_html + (outbox / "free.eml").read_text("ascii")
    assert SECRET in premium_text and SECRET in premium_html
    assert free["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    again = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0
    assert "already sent on" in again.output and "nothing to do" in again.output
    assert [s.status for s in live_sends(workspace)] == ["sent", "sent"]
    status = run_cli("-C", workspace, "status", "--json")
    assert status.exit_code == 0
    assert {row["variant"]: row["state"] for row in json.loads(status.stdout)["sends"]} == {
        "free": "sent",
        "premium": "sent",
    }


def test_without_a_terminal_send_needs_yes(workspace: Path, run_cli: Callable[..., Any]) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert not (workspace / "outbox").exists() and live_sends(workspace) == []


def test_subscribers_get_their_tiers_variant_with_their_own_unsubscribe_link(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    (workspace / "subscribers.csv").write_text(
        "email,name,tier\nfree+tag@Example.ORG,Free Reader,free\npaid@example.org,김유료,premium\n",
        encoding="utf-8",
    )
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.stdout
    to = workspace / "outbox" / ISSUE_ID / "to"
    free, paid = parse(to / "free+tag@example.org.eml"), parse(to / "paid@example.org.eml")
    assert free["To"].addresses[0].addr_spec == "free+tag@example.org"
    assert paid["To"].addresses[0].display_name == "김유료"
    free_text, free_html = parts(free)
    paid_text, _ = parts(paid)
    assert SECRET not in free_text + free_html and SECRET in paid_text
    own = "https://example.com/unsubscribe?email=free%2Btag@example.org"
    assert own in free_text and own in free_html
    assert free["List-Unsubscribe"] == f"<{own}>"
    assert "paid@example.org" in paid["List-Unsubscribe"]
    assert "{email}" not in free_text + free_html


def test_bad_subscriber_rows_are_listed_and_nothing_is_sent(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    (workspace / "subscribers.csv").write_text(
        "email,name,tier\nok@example.org,OK,free\nnot-an-address,Bad,free\nx@example.org,X,gold\n",
        encoding="utf-8",
    )
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1
    assert "subscribers.csv:3" in result.stderr and "subscribers.csv:4" in result.stderr
    assert "Traceback" not in result.output
    assert not (workspace / "outbox").exists() and live_sends(workspace) == []


def test_dry_run_says_what_would_happen_and_changes_nothing(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    write_subscribers(workspace, 5)
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "send now to 3 subscribers" in result.stderr  # free: readers 1, 2, 4
    assert "send now to 2 subscribers" in result.stderr
    assert "dry run" in result.stdout
    assert not (workspace / "outbox").exists() and live_sends(workspace) == []


def test_a_test_send_goes_to_one_address_and_is_not_a_send(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    result = run_cli(
        "-C", workspace, "send", ISSUE_ID, "--test", "me@elsewhere.net", "--variant", "premium"
    )
    assert result.exit_code == 0, result.output
    copy = parse(workspace / "outbox" / ISSUE_ID / "test" / "premium-me@elsewhere.net.eml")
    assert copy["Subject"] == f"[TEST] {SUBJECT}"
    assert copy["To"].addresses[0].addr_spec == "me@elsewhere.net"
    assert live_sends(workspace) == []
    real = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert real.exit_code == 0 and "already" not in real.output
    assert (workspace / "outbox" / ISSUE_ID / "premium.eml").is_file()
    status = json.loads(run_cli("-C", workspace, "status", "--json").stdout)
    assert [t["target"] for t in status["tests"]] == ["me@elsewhere.net"]


def test_a_future_time_is_scheduled_in_the_ledger_for_send_due(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--at", "+2h", "--yes")
    assert result.exit_code == 0, result.output
    assert "scheduled for" in result.stdout
    assert not (workspace / "outbox").exists()
    sends = live_sends(workspace)
    assert [s.status for s in sends] == ["scheduled", "scheduled"]
    assert all(s.scheduled_for and s.scheduled_for > datetime.now(UTC) for s in sends)
    assert run_cli("-C", workspace, "status").exit_code == 0

    again = run_cli("-C", workspace, "send", ISSUE_ID, "--now", "--yes")
    assert again.exit_code == 0 and "already scheduled for" in again.output
    assert not (workspace / "outbox").exists()

    # The seam `send --due` uses: once the time has come, send_one sends what was scheduled.
    from postcli import config
    from postcli.issues import Variant
    from postcli.send import send_one

    later = datetime.now(UTC) + timedelta(hours=3)
    report = send_one(config.load(workspace), ISSUE_ID, Variant.FREE, now=lambda: later)
    assert [v.action for v in report.variants] == ["sent"]
    assert (workspace / "outbox" / ISSUE_ID / "free.eml").is_file()
    assert not (workspace / "outbox" / ISSUE_ID / "premium.eml").exists()
    with Ledger.open(workspace / ".postcli") as ledger:
        assert ledger.current(ISSUE_ID, "free", "file").status == "sent"  # type: ignore[union-attr]
        assert ledger.current(ISSUE_ID, "premium", "file").status == "scheduled"  # type: ignore[union-attr]


def test_send_at_in_the_front_matter_schedules_and_at_in_the_past_is_refused(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    path = workspace / "issues" / f"{ISSUE_ID}.md"
    path.write_text(
        path.read_text("utf-8").replace("audience: all", 'send_at: "2099-01-01 09:00"'), "utf-8"
    )
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0 and "2099-01-01 09:00 KST" in result.stdout
    past = run_cli("-C", workspace, "send", ISSUE_ID, "--at", "2020-01-01 09:00", "--yes")
    assert past.exit_code == 2 and "in the past" in past.stderr
    both = run_cli("-C", workspace, "send", ISSUE_ID, "--at", "+1h", "--now", "--yes")
    assert both.exit_code == 2


def test_variant_option_and_audience_choose_what_goes(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--variant", "free", "--yes")
    assert result.exit_code == 0
    assert sorted(p.name for p in (workspace / "outbox" / ISSUE_ID).iterdir()) == ["free.eml"]
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert (
        "already sent" in result.output
        and (workspace / "outbox" / ISSUE_ID / "premium.eml").is_file()
    )

    premium_only = write_issue(workspace, audience="premium", issue_id="2026-12-29-premium-only")
    write_subscribers(workspace, 6)
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    result = run_cli("-C", workspace, "send", premium_only, "--yes")
    assert result.exit_code == 0, result.output
    assert "4 subscribers of the other tier get nothing" in result.stderr
    sent_to = sorted(p.name for p in (workspace / "outbox" / premium_only / "to").iterdir())
    assert sent_to == ["reader0@example.org.eml", "reader3@example.org.eml"]
    wrong = run_cli("-C", workspace, "send", premium_only, "--variant", "free", "--yes")
    assert wrong.exit_code == 2 and "audience" in wrong.stderr


def test_force_sends_again_with_new_message_ids(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    assert run_cli("-C", workspace, "send", ISSUE_ID, "--yes").exit_code == 0
    first = parse(workspace / "outbox" / ISSUE_ID / "free.eml")["Message-ID"]
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes", "--force")
    assert result.exit_code == 0 and "--force" in result.stderr
    second = parse(workspace / "outbox" / ISSUE_ID / "free.eml")["Message-ID"]
    assert first != second
    with Ledger.open(workspace / ".postcli") as ledger:
        assert ledger.current(ISSUE_ID, "free", "file").generation == 2  # type: ignore[union-attr]


def test_failed_checks_refuse_to_send(workspace: Path, run_cli: Callable[..., Any]) -> None:
    write_issue(workspace, extra="\n[click me](javascript:alert(1))\n")
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1
    assert "pre-flight" in result.stderr and "nothing was sent" in result.stderr
    assert not (workspace / "outbox").exists() and live_sends(workspace) == []


def test_file_and_smtp_need_an_unsubscribe_url(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    config = workspace / "postcli.toml"
    config.write_text(
        "\n".join(
            line
            for line in config.read_text("utf-8").splitlines()
            if not line.startswith("unsubscribe_url")
        ),
        "utf-8",
    )
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1 and "unsubscribe_url" in result.stderr


def test_an_unknown_provider_is_named_with_the_known_ones(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    set_provider(workspace, "carrier-pigeon")
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1
    assert "unknown provider 'carrier-pigeon'" in result.stderr
    assert "file" in result.stderr and "smtp" in result.stderr
    assert "postcli.toml:" in result.stderr


def test_a_killed_file_send_resumes_without_writing_anyone_twice(workspace: Path) -> None:
    write_issue(workspace)
    rows = write_subscribers(workspace, 120)
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    killed = run_postcli(
        workspace, "send", ISSUE_ID, "--yes", env={"POSTCLI_TEST_KILL_AFTER_SENT": "30"}
    )
    assert killed.returncode == -signal.SIGKILL
    to = workspace / "outbox" / ISSUE_ID / "to"
    assert len(list(to.glob("*.eml"))) == 30
    status = run_postcli(workspace, "status")
    assert status.returncode == 0 and "interrupted" in status.stdout  # DESIGN: not a problem
    resumed = run_postcli(workspace, "send", ISSUE_ID, "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert "30 skipped" in resumed.stdout
    assert sorted(p.name for p in to.glob("*.eml")) == sorted(f"{e}.eml" for e, _ in rows)
    assert not list(to.glob(".*.tmp"))
    assert run_postcli(workspace, "status").returncode == 0


# -- the provider layer: registry and a campaign provider ---------------------------------------


class FakeEsp:
    """A campaign provider kept in memory, to test what send.py does around one."""

    name: ClassVar[str] = "fakeesp"
    features: ClassVar[Features] = Features(native_schedule=True, find_by_name=True)
    unsubscribe_tag: ClassVar[str | None] = "{{ unsubscribe_url }}"
    campaigns: ClassVar[dict[str, dict[str, Any]]] = {}
    tests: ClassVar[list[tuple[str, str]]] = []
    fail_after_create: ClassVar[bool] = False

    def __init__(self, settings: Any, *, client: Any = None) -> None:
        self.settings = settings

    def validate(self) -> None:
        pass

    def describe(self) -> str:
        return "the fake ESP"

    def close(self) -> None:
        pass

    def find_campaign(self, name: str) -> RemoteCampaign | None:
        for remote_id, c in self.campaigns.items():
            if c["name"] == name:
                return RemoteCampaign(remote_id, c["status"])
        return None

    def send_campaign(self, campaign: Campaign, checkpoint: Checkpoint) -> Delivery:
        from postcli.errors import ProviderUnavailable

        remote_id = campaign.remote_id
        if remote_id is None:
            remote_id = f"c{len(self.campaigns) + 1}"
            self.campaigns[remote_id] = {
                "name": campaign.name,
                "status": "draft",
                "html": campaign.email.html,
                "extra": campaign.extra,
            }
            checkpoint(remote_id)
            if type(self).fail_after_create:
                type(self).fail_after_create = False
                raise ProviderUnavailable("connection dropped after the draft was made")
        status = "scheduled" if campaign.send_at else "sent"
        self.campaigns[remote_id]["status"] = status
        return Delivery(status=status, remote_id=remote_id, recipients=42)

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        self.tests.append((address, campaign.email.subject))
        return Delivery(status="sent", remote_id="t1")


@pytest.fixture
def fake_esp(workspace: Path) -> type[FakeEsp]:
    FakeEsp.campaigns, FakeEsp.tests, FakeEsp.fail_after_create = {}, [], False
    providers.register("fakeesp", FakeEsp)
    set_provider(workspace, "fakeesp")
    yield FakeEsp
    providers.unregister("fakeesp")


def test_registry_knows_builtins_and_registered_providers(fake_esp: type[FakeEsp]) -> None:
    assert {"file", "smtp", "fakeesp"} <= set(providers.names())
    assert providers.provider_class("file").__name__ == "FileProvider"
    assert providers.provider_class("fakeesp") is fake_esp


def test_a_campaign_provider_gets_one_campaign_per_variant_with_its_merge_tag(
    workspace: Path, run_cli: Callable[..., Any], fake_esp: type[FakeEsp]
) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert len(fake_esp.campaigns) == 2
    names = sorted(c["name"] for c in fake_esp.campaigns.values())
    assert names[0].startswith(f"postcli:{ISSUE_ID}:free:") and names[1].startswith(
        f"postcli:{ISSUE_ID}:premium:"
    )
    assert all("{{ unsubscribe_url }}" in c["html"] for c in fake_esp.campaigns.values())
    assert "sent to 42 subscribers" in result.stdout
    assert "already sent" in run_cli("-C", workspace, "send", ISSUE_ID, "--yes").output
    assert len(fake_esp.campaigns) == 2


def test_a_campaign_interrupted_after_its_draft_is_finished_not_made_twice(
    workspace: Path, run_cli: Callable[..., Any], fake_esp: type[FakeEsp]
) -> None:
    write_issue(workspace)
    fake_esp.fail_after_create = True
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--variant", "free", "--yes")
    assert result.exit_code == 4
    with Ledger.open(workspace / ".postcli") as ledger:
        record = ledger.current(ISSUE_ID, "free", "fakeesp")
        assert record is not None and record.status == "failed" and record.remote_id == "c1"
    again = run_cli("-C", workspace, "send", ISSUE_ID, "--variant", "free", "--yes")
    assert again.exit_code == 0, again.output
    assert list(fake_esp.campaigns) == ["c1"] and fake_esp.campaigns["c1"]["status"] == "sent"


def test_a_native_schedule_is_handed_to_the_provider_and_tests_go_through_it(
    workspace: Path, run_cli: Callable[..., Any], fake_esp: type[FakeEsp]
) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--at", "+1d", "--yes")
    assert result.exit_code == 0, result.output
    assert "scheduled on the provider" in result.stdout
    assert {c["status"] for c in fake_esp.campaigns.values()} == {"scheduled"}
    with Ledger.open(workspace / ".postcli") as ledger:
        assert ledger.due(datetime.now(UTC) + timedelta(days=2)) == []  # the provider sends it
    test = run_cli("-C", workspace, "send", ISSUE_ID, "--test", "me@example.net")
    assert test.exit_code == 0
    assert sorted(fake_esp.tests) == [("me@example.net", f"[TEST] {SUBJECT}")] * 2


class FakePost(FakeEsp):
    """A provider that gates premium content itself: one post for everyone."""

    name: ClassVar[str] = "fakepost"
    features: ClassVar[Features] = Features(self_gated=True, find_by_name=True)


def test_a_self_gated_provider_gets_one_post_with_both_variants(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    write_issue(workspace)
    FakePost.campaigns = {}
    providers.register("fakepost", FakePost)
    set_provider(workspace, "fakepost")
    try:
        result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    finally:
        providers.unregister("fakepost")
    assert result.exit_code == 0, result.output
    (post,) = FakePost.campaigns.values()
    assert post["name"].startswith(f"postcli:{ISSUE_ID}:all:")
    assert SECRET in post["html"]
    assert SECRET not in post["extra"]["free_email"].html
    with Ledger.open(workspace / ".postcli") as ledger:
        assert [s.variant for s in ledger.sends()] == ["all"]


class _Terminal:
    """A stdin that says it is a terminal and answers the prompt with `answer`."""

    def __init__(self, answer: str) -> None:
        import io

        self._lines = io.StringIO(answer + "\n")

    def isatty(self) -> bool:
        return True

    def readline(self, *args: Any) -> str:
        return self._lines.readline(*args)

    def read(self, *args: Any) -> str:
        return self._lines.read(*args)


@pytest.mark.parametrize(("answer", "sent"), [("n", False), ("y", True)])
def test_on_a_terminal_send_asks_first(
    workspace: Path,
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    sent: bool,
) -> None:
    write_issue(workspace)
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    result = run_cli("-C", workspace, "send", ISSUE_ID)
    assert result.exit_code == 0, result.output
    assert "Send?" in result.stderr
    assert (workspace / "outbox" / ISSUE_ID / "free.eml").exists() is sent
    if not sent:
        assert "Nothing sent." in result.stderr and live_sends(workspace) == []


def test_send_json_reports_each_variant(workspace: Path, run_cli: Callable[..., Any]) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["issue"] == ISSUE_ID and data["provider"] == "file" and data["error"] is None
    assert {r["variant"]: r["action"] for r in data["results"]} == {
        "free": "sent",
        "premium": "sent",
    }


def test_force_makes_a_new_campaign_on_a_campaign_provider(
    workspace: Path, run_cli: Callable[..., Any], fake_esp: type[FakeEsp]
) -> None:
    write_issue(workspace)
    assert run_cli("-C", workspace, "send", ISSUE_ID, "--variant", "free", "--yes").exit_code == 0
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--variant", "free", "--yes", "--force")
    assert result.exit_code == 0, result.output
    names = [c["name"] for c in fake_esp.campaigns.values()]
    assert len(names) == 2 and names[1] == names[0] + "-r2"
    assert {c["status"] for c in fake_esp.campaigns.values()} == {"sent"}


def test_send_one_skips_an_issue_another_process_is_sending(workspace: Path) -> None:
    from postcli import config
    from postcli.issues import Variant
    from postcli.ledger import SendInProgress, issue_lock
    from postcli.send import send_one

    write_issue(workspace)
    settings = config.load(workspace)
    with issue_lock(workspace / ".postcli", ISSUE_ID):
        report = send_one(settings, ISSUE_ID, Variant.FREE)
        assert [(v.action, "another postcli process" in v.message) for v in report.variants] == [
            ("busy", True)
        ]
        assert report.exit_code == 0
        with pytest.raises(SendInProgress):
            send_one(settings, ISSUE_ID, Variant.FREE, skip_if_busy=False)
    assert not (workspace / "outbox").exists()
    assert [v.action for v in send_one(settings, ISSUE_ID, Variant.FREE).variants] == ["sent"]
