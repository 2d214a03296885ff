"""The email-client support report: the shipped caniemail data and its generator, the HTML/CSS
analyzer on crafted emails, the fallbacks it recognises, `check --clients` and `--json` on the
sample issues, client-support warnings in plain check, and `[check] clients` in postcli.toml.

The generator runs on a small caniemail-like checkout written here; nothing reads a real one.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from postcli import config
from postcli import data as caniemail
from postcli.check import check_issue
from postcli.clients.analyze import analyze, hiding
from postcli.clients.report import Email, client_report, features_used, format_table
from postcli.data import Support
from postcli.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "src" / "postcli" / "data" / "caniemail.json"
SAMPLES = ("2026-12-01-china-ai-global", "2026-12-08-open-weights-week")


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_caniemail", REPO / "scripts/gen_caniemail.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- A caniemail-like checkout, written by hand --------------------------------------------

NICENAMES = """\
family:
  gmail: "Gmail"
  outlook: "Outlook"
platform:
  desktop-webmail: "Desktop Webmail"
  windows: "Windows"
  macos: "macOS"
"""

# Tabs, trailing commas and versions out of numeric order, as the real files have them.
FEATURES = {
    "css-border-radius.md": """\
---
title: "border-radius"
description: "Rounds the corners."
category: css
stats: {
    gmail: {
        desktop-webmail: {
            "2019-08":"y"
        }
    },
    outlook: {
\t\twindows: {
            "2016":"n #1",
            "2019":"n #1",
        },
        macos: {
            "16.80": "y"
        }
    }
}
notes_by_num: {
    "1": "Round corners can be used in VML with the `RoundRect` element."
}
---
Body text that the generator leaves out.
""",
    "css-display-flex.md": """\
---
title: "display:flex"
category: css
stats: {
    gmail: {
        desktop-webmail: {
            "2019-08":"n",
            "2023-01":"a #2 #3"
        }
    },
    outlook: {
        windows: {
            "2019":"n"
        }
    }
}
notes_by_num: {
    "2": "Partial. Not supported with non Google accounts.",
    "3": "Buggy.  See [a test](https://example.org/t)."
}
---
""",
    "html-lang.md": """\
---
title: "lang attribute"
category: html
stats: {
    gmail: {
        desktop-webmail: {
            "2020-01":"u"
        }
    }
}
---
""",
    "amp.md": """\
---
title: "AMP for Email"
category: others
stats: {
    gmail: {
        desktop-webmail: {
            "2020-01":"y"
        }
    }
}
---
""",
    "_template.md": '---\ntitle: "Test property"\n---\n',
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "caniemail"
    (root / "_features").mkdir(parents=True)
    (root / "_data").mkdir()
    (root / "_data" / "nicenames.yml").write_text(NICENAMES, encoding="utf-8")
    for name, text in FEATURES.items():
        (root / "_features" / name).write_text(text, encoding="utf-8")
    (root / "SOURCE.txt").write_text("Commit: 0123456789abcdef0123456789abcdef01234567\n")
    return root


def test_generator_output_from_a_hand_written_checkout(checkout: Path) -> None:
    data, skipped = load_generator().generate(checkout)
    assert skipped == ["amp"]  # nothing in an email's source shows AMP; _template is no feature
    assert data["platforms"] == ["gmail/desktop-webmail", "outlook/macos", "outlook/windows"]
    assert data["clients"] == {
        "gmail": {"name": "Gmail", "platforms": {"desktop-webmail": "Desktop Webmail"}},
        "outlook": {"name": "Outlook", "platforms": {"macos": "macOS", "windows": "Windows"}},
    }
    assert data["source"]["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert data["features"]["css-border-radius"] == {
        "title": "border-radius",
        "category": "css",
        "match": {"property": ["border-radius"]},
        "notes": {"1": "Round corners can be used in VML with the `RoundRect` element."},
        "support": ["y", "y", "n #1"],  # the latest version of each platform
    }
    flex = data["features"]["css-display-flex"]
    assert flex["match"] == {"property": ["display"], "values": ["flex", "inline-flex"]}
    assert flex["support"] == ["a #2 #3", "", "n"]  # "" where caniemail has no result
    assert flex["notes"]["3"] == "Buggy. See [a test](https://example.org/t)."
    assert data["features"]["html-lang"]["match"] == {"attribute": ["lang"]}
    assert "description" not in json.dumps(data)  # prose beyond the notes is left out


def test_generator_writes_the_format_the_package_reads(checkout: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts/gen_caniemail.py"), str(checkout), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "3 features, 2 clients" in done.stderr and "left out" in done.stderr
    text = out.read_text(encoding="utf-8")
    again = load_generator().dumps(load_generator().generate(checkout)[0])
    assert text == again  # deterministic
    assert (
        text
        == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        + "\n"
    )
    parsed = caniemail.parse(json.loads(text))
    radius = parsed.features["css-border-radius"]
    assert radius.verdict("outlook/windows") == caniemail.Verdict(Support.NONE, ("1",))
    assert radius.verdict("outlook/macos").support is Support.FULL
    assert parsed.features["css-display-flex"].verdict("outlook/macos").support is Support.UNKNOWN
    assert [p.key for p in parsed.select(["outlook"])] == ["outlook/macos", "outlook/windows"]
    # The shipped file has the same shape.
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert set(shipped) == set(json.loads(text))
    assert set(shipped["features"]["css-border-radius"]) == set(radius.__dict__) - {
        "slug",
        "columns",
    }


def test_generator_refuses_a_folder_that_is_no_checkout(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts/gen_caniemail.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "not a caniemail checkout" in done.stderr and "Traceback" not in done.stderr


def test_shipped_data_parses_and_matches_the_generators_table() -> None:
    raw = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data = caniemail.load()
    assert len(data.features) > 250 and set(config.DEFAULT_CHECK_CLIENTS) <= set(data.families)
    assert all(len(f["support"]) == len(raw["platforms"]) for f in raw["features"].values())
    generator = load_generator()
    for slug, feature in raw["features"].items():
        # The file is what the generator's current table makes of each feature.
        assert feature["match"] == generator.derived_match(slug, feature["title"]), slug
        for value in feature["support"]:
            assert value == "" or generator.support_value(value, slug) == value
    assert SHIPPED.with_name("caniemail.LICENSE").read_text().count("MIT License") == 1
    assert SHIPPED.stat().st_size < 200_000
    pyproject = (REPO / "pyproject.toml").read_text()
    assert "data/caniemail.json" in pyproject and "data/caniemail.LICENSE" in pyproject


# --- The analyzer ----------------------------------------------------------------------------


def used(html: str) -> dict[str, list[Any]]:
    return features_used(analyze(html), caniemail.load())


def test_features_only_in_a_style_block() -> None:
    found = used(
        "<style>.row { display: flex; } a:hover { color: red } .a > .b, [data-x] { margin: 0 }"
        " @media (prefers-color-scheme: dark) { .a { color: #fff !important } }"
        " @font-face { font-family: X; src: url(x.woff2) } .c.d { width: 2rem }</style><p>x</p>"
    )
    for slug in (
        "css-display-flex",
        "css-display",
        "css-pseudo-class-hover",
        "css-selector-child",
        "css-selector-attribute",
        "css-selector-grouping",
        "css-selector-chaining",
        "css-at-media",
        "css-at-media-prefers-color-scheme",
        "css-important",
        "css-at-font-face",
        "css-unit-rem",
        "html-style",
        "html-p",
    ):
        assert slug in found, slug
    assert {u.where.place for u in found["css-display-flex"]} == {"<style> block"}
    assert all(u.where.media for u in found["css-important"])
    assert "css-display-grid" not in found  # display:flex is not display:grid


def test_features_only_inline() -> None:
    found = used(
        '<div style="border-radius: 4px; width: calc(100% - 2vw); color: rgb(0 0 0);'
        ' --gap: 4px; margin: var(--gap)">x</div>'
    )
    for slug in (
        "css-border-radius",
        "css-unit-calc",
        "css-unit-percent",
        "css-unit-vw",
        "css-rgb",
        "css-variables",
        "css-margin",
        "css-width",
        "html-div",
    ):
        assert slug in found, slug
    assert found["css-border-radius"][0].where.place == "style attribute on <div>"
    assert "html-style" not in found


def test_text_strings_and_comments_are_not_features() -> None:
    found = used(
        '<p>display:flex; position: absolute</p><div style="/* position: fixed */ '
        'font-family: \'display:grid\'">x</div><style>p::before { content: "float: left" }</style>'
    )
    assert "css-display-flex" not in found and "css-display-grid" not in found
    assert "css-position" not in found and "css-float" not in found
    assert "css-comments" in found and "css-pseudo-element-before" in found


def test_elements_attributes_and_images() -> None:
    found = used(
        '<!doctype html><a href="mailto:a@example.com">m</a><a href="#top">t</a>'
        '<input type="checkbox"><meta name="color-scheme" content="light dark">'
        '<img src="https://cdn.example.com/a.webp?x=1" alt="" srcset="a.png 2x">'
        '<img src="data:image/png;base64,AAAA" alt=""><section lang="ko">s</section><!-- note -->'
    )
    for slug in (
        "html-doctype",
        "html-mailto-links",
        "html-anchor-links",
        "html-input-checkbox",
        "html-meta-color-scheme",
        "image-webp",
        "image-base64",
        "html-srcset",
        "html-semantics",
        "html-lang",
        "html-comments",
    ):
        assert slug in found, slug
    assert "html-input-radio" not in found and "image-png" not in found


def test_outlook_conditionals_count_only_for_the_clients_that_read_them() -> None:
    html = (
        '<!--[if mso]><table><tr><td style="position: absolute">x</td></tr></table>'
        "<![endif]-->"
        '<!--[if !mso]><!--><div style="display: grid">y</div><!--<![endif]-->'
    )
    found = used(html)
    assert [u.where.outlook for u in found["css-position"]] == ["only"]
    assert [u.where.outlook for u in found["css-display-grid"]] == ["never"]
    report = client_report([Email("free", html)], ["gmail/desktop-webmail", "outlook/windows"])
    by_slug = {f.feature.slug: f for f in report.features}
    assert set(by_slug["css-position"].cells) == {"outlook/windows"}
    assert set(by_slug["css-display-grid"].cells) == {"gmail/desktop-webmail"}


def test_hiding_ways_of_a_preheader() -> None:
    assert hiding("display:none;font-size:1px;max-height:0px;opacity:0;overflow:hidden") == (
        "display:none",
        "font-size:tiny",
        "max-height:0",
        "opacity:0",
        "overflow:hidden",
    )
    assert hiding("display:block;font-size:16px;max-height:10px") == ()


# --- Fallbacks -------------------------------------------------------------------------------


def cell(html: str, slug: str, client: str) -> Any:
    report = client_report([Email("free", html)], [client])
    return next(f for f in report.features if f.feature.slug == slug).cells[client]


def test_mjml_ghost_table_is_outlooks_fallback() -> None:
    wrapped = (
        '<!--[if mso | IE]><table width="600"><tr><td><![endif]-->'
        '<div style="max-width:600px;position:relative">x</div><!--[if mso | IE]></td></tr>'
        "</table><![endif]-->"
    )
    bare = '<div style="max-width:600px;position:relative">x</div>'
    assert cell(bare, "css-position", "outlook/windows").support is Support.NONE
    assert cell(bare, "css-position", "outlook/windows").fallback is None
    assert "Outlook table" in cell(wrapped, "css-position", "outlook/windows").fallback
    # The ghost table is only read by Outlook's Word engine.
    assert cell(wrapped, "css-position", "gmail/desktop-webmail").fallback is None


def test_inside_media_is_progressive() -> None:
    html = '<style>@media (max-width: 480px) { .a { position: absolute } }</style><p class="a">'
    found = cell(html, "css-position", "gmail/desktop-webmail")
    assert found.support is Support.NONE and "@media" in (found.fallback or "")


def test_preheader_hidden_several_ways_and_initial_values() -> None:
    preheader = '<div style="display:none;max-height:0px;overflow:hidden;opacity:0">p</div>'
    assert "hidden another way" in (
        cell(preheader, "css-opacity", "outlook/windows").fallback or ""
    )
    alone = '<div style="opacity:0">p</div>'
    assert cell(alone, "css-opacity", "outlook/windows").fallback is None
    auto = '<img src="a.png" alt="" style="height:auto">'
    assert "initial value" in (cell(auto, "css-height", "yahoo/desktop-webmail").fallback or "")
    fixed = '<img src="a.png" alt="" style="height:80px">'
    assert cell(fixed, "css-height", "yahoo/desktop-webmail").fallback is None


def test_word_wrap_beside_overflow_wrap() -> None:
    both = "<style>p { overflow-wrap: break-word; word-wrap: break-word }</style><p>x</p>"
    one = "<style>p { overflow-wrap: break-word }</style><p>x</p>"
    assert cell(one, "css-overflow-wrap", "yahoo/desktop-webmail").fallback is None
    assert "word-wrap" in (cell(both, "css-overflow-wrap", "yahoo/desktop-webmail").fallback or "")
    # Where the old spelling is not read either, there is no fallback.
    assert cell(both, "css-overflow-wrap", "outlook/windows").fallback is None


def test_counts_follow_the_data() -> None:
    html = '<p style="border-radius:4px;display:flex">x</p>'
    report = client_report([Email("free", html)], ["outlook/windows", "apple-mail/macos"])
    data = caniemail.load()
    for row in report.rows():
        verdicts = [f.feature.verdict(row.platform.key).support for f in report.features]
        assert (row.full, row.partial, row.none, row.unknown) == (
            verdicts.count(Support.FULL),
            verdicts.count(Support.PARTIAL),
            verdicts.count(Support.NONE),
            verdicts.count(Support.UNKNOWN),
        )
    radius = next(f for f in report.features if f.feature.slug == "css-border-radius")
    windows = radius.cells["outlook/windows"]
    assert windows.support is data.features["css-border-radius"].verdict("outlook/windows").support
    assert windows.notes == ("1",)
    # Notes read in a terminal: Markdown links become "text (url)".
    assert radius.note("1").startswith("Round corners can be used in VML")
    assert "[buttons.cm](https://buttons.cm/)" in data.features["css-border-radius"].notes["1"]
    assert "buttons.cm (https://buttons.cm/)" in radius.note("1")
    table = format_table(report)
    assert "Outlook Windows" in table and "Apple Mail macOS" in table
    assert "display:flex [css-display-flex]" in table  # Outlook on Windows has no flexbox


# --- Through the command line, on the sample issues ------------------------------------------


@pytest.mark.parametrize("issue", SAMPLES)
def test_check_clients_table_on_the_samples(module_workspace: Path, run_cli, issue: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("-C", module_workspace, "check", issue, "--clients")
    assert result.exit_code == 0, result.output
    assert "email clients ([check] clients):" in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith("client "))
    assert header.split() == ["client", "full", "partly", "not", "unknown", "with", "fallback"]
    for label in (
        "Gmail Desktop Webmail",
        "Outlook Windows",
        "Apple Mail iOS",
        "Yahoo! Mail Android",
        "Samsung Email Android",
    ):
        assert label in result.stdout
    # The default templates: nothing that matters is left unsupported without a fallback.
    assert "[client-support]" not in result.stdout


@pytest.mark.parametrize("issue", SAMPLES)
def test_check_clients_json_on_the_samples(module_workspace: Path, run_cli, issue: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("-C", module_workspace, "check", issue, "--clients", "--json")
    assert result.exit_code == 0, result.output
    clients = json.loads(result.stdout)["clients"]
    assert set(clients) == {"source", "clients", "to_fix", "features"}
    assert clients["source"]["project"] == "caniemail"
    assert [row["client"].split("/")[0] for row in clients["clients"]][:1] == ["gmail"]
    for row in clients["clients"]:
        cells = [
            f["support"][row["client"]]
            for f in clients["features"]
            if row["client"] in f["support"]
        ]
        assert row["full"] + row["partial"] + row["none"] + row["unknown"] == len(cells)
        assert row["with_fallback"] == sum(
            c["support"] in ("none", "partial") and c["fallback"] is not None for c in cells
        )
    slugs = {f["feature"] for f in clients["features"]}
    assert {"html-table", "css-at-media-prefers-color-scheme", "html-style"} <= slugs
    assert set(clients["to_fix"]) <= slugs
    for feature in clients["features"]:
        assert set(feature["origin"]) == {"template", "lines"}
        for item in feature["support"].values():
            assert item["support"] in ("full", "partial", "none", "unknown")
            assert all(note["text"] for note in item["notes"])
    # A Markdown table is traced to its first line; MJML's layout tables to the template.
    source = (module_workspace / "issues" / f"{issue}.md").read_text(encoding="utf-8")
    lines = source.split("\n")
    tables = [
        number
        for number, text in enumerate(lines, start=1)
        if text.startswith("|") and not lines[number - 2].startswith("|")
    ]
    table = next(f for f in clients["features"] if f["feature"] == "html-table")
    assert table["origin"] == {"template": True, "lines": tables}


def test_json_without_clients_has_no_clients_key(module_workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("-C", module_workspace, "check", SAMPLES[0], "--json")
    assert "clients" not in json.loads(result.stdout)


# --- Warnings in plain check ------------------------------------------------------------------


def test_a_template_override_with_an_unsupported_feature_warns(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    template = workspace / "templates" / "email.mjml.j2"
    text = template.read_text(encoding="utf-8")
    text = text.replace(
        "</mj-body>",
        '<mj-raw><div style="display:flex"><span>one</span><span>two</span></div></mj-raw>\n'
        "</mj-body>",
    )
    template.write_text(text, encoding="utf-8")
    result = run_cli("-C", workspace, "check", SAMPLES[0])
    assert result.exit_code == 0, result.output  # warnings alone pass
    lines = [line for line in result.stdout.splitlines() if "[client-support]" in line]
    outlook = [line for line in lines if "display:flex" in line and "Outlook (" in line]
    assert len(outlook) == 1, lines
    assert "from the template" in outlook[0] and "Windows" in outlook[0]
    assert outlook[0].lstrip().startswith("warning")


def test_raw_html_in_the_issue_warns_with_its_line(tmp_path: Path) -> None:
    root = tmp_path / "letter"
    (root / "issues").mkdir(parents=True)
    (root / "postcli.toml").write_text(
        '[newsletter]\nunsubscribe_url = "https://example.com/u?e={email}"\n'
        '[check]\nclients = ["outlook/windows", "apple-mail"]\n',
        encoding="utf-8",
    )
    issue = root / "issues" / "2026-12-01-grid.md"
    issue.write_text(
        textwrap.dedent(
            """\
            ---
            title: A grid
            subtitle: Two cells
            ---
            Some words first.

            <div style="display:grid;grid-template-columns:1fr 1fr">
            <div>a</div><div>b</div>
            </div>
            """
        ),
        encoding="utf-8",
    )
    report = check_issue(config.load(root), issue)
    found = [f for f in report.findings if f.rule == "client-support"]
    grid = [f for f in found if "display:grid" in f.message]
    assert len(grid) == 1 and grid[0].line == 7 and grid[0].path == issue
    assert "Outlook (Windows)" in grid[0].message and "issue line 7" in grid[0].message
    assert not [f for f in found if "Apple Mail" in f.message]  # Apple Mail has grid


# --- [check] clients ---------------------------------------------------------------------------


def write_config(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "postcli.toml").write_text(text, encoding="utf-8")
    return root


def test_default_clients(tmp_path: Path) -> None:
    settings = config.load(write_config(tmp_path / "w", "[newsletter]\nname = 'x'\n"))
    assert settings.check.clients == ("gmail", "outlook", "apple-mail", "yahoo", "samsung-email")


def test_unknown_clients_are_one_config_error_listing_the_known(tmp_path: Path) -> None:
    root = write_config(
        tmp_path / "w",
        '[check]\nclients = ["gmail", "hotmail", "outlook/windows", "outlook/nokia"]\n',
    )
    with pytest.raises(ConfigError) as caught:
        config.load(root)
    text = str(caught.value)
    assert "'hotmail'" in text and "'outlook/nokia'" in text and "'gmail'" not in text
    assert "known: aol, apple-mail" in text and "samsung-email" in text and "yahoo" in text
    assert caught.value.line == 2


def test_check_table_keys_and_types_are_checked(tmp_path: Path) -> None:
    root = write_config(tmp_path / "w", '[check]\nclients = "gmail"\ncolours = 1\n')
    with pytest.raises(ConfigError) as caught:
        config.load(root)
    text = str(caught.value)
    assert "'clients' in [check] must be a list" in text and "unknown key 'colours'" in text


def test_unknown_client_through_the_cli(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    toml = workspace / "postcli.toml"
    toml.write_text(toml.read_text() + '\n[check]\nclients = ["hotmail"]\n', encoding="utf-8")
    result = run_cli("-C", workspace, "check", SAMPLES[0], "--clients")
    assert result.exit_code == 1
    assert "unknown client 'hotmail'" in result.stderr and "Traceback" not in result.output


def test_one_platform_only(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    toml = workspace / "postcli.toml"
    toml.write_text(toml.read_text() + '\n[check]\nclients = ["outlook/windows"]\n')
    result = run_cli("-C", workspace, "check", SAMPLES[0], "--clients", "--json")
    rows = json.loads(result.stdout)["clients"]["clients"]
    assert [row["client"] for row in rows] == ["outlook/windows"]


# --- The preview --------------------------------------------------------------------------------


def test_preview_state_carries_the_client_table(workspace: Path) -> None:
    from postcli.preview.session import PreviewSession

    session = PreviewSession(workspace, workspace / "issues" / f"{SAMPLES[0]}.md")
    session.rebuild()
    session.check()
    state = session.state()
    assert state["checks"] == "done"
    assert state["clients"].startswith("client ") and "Outlook Windows" in state["clients"]


def test_an_empty_client_list_turns_the_warnings_off(tmp_path: Path) -> None:
    root = write_config(
        tmp_path / "w",
        '[newsletter]\nunsubscribe_url = "https://example.com/u?e={email}"\n'
        "[check]\nclients = []\n",
    )
    (root / "issues").mkdir()
    issue = root / "issues" / "2026-12-01-flex.md"
    issue.write_text('---\ntitle: Flex\nsubtitle: s\n---\n<div style="display:flex">a</div>\n')
    report = check_issue(config.load(root), issue)
    assert config.load(root).check.clients == ()
    assert not [f for f in report.findings if f.rule == "client-support"]
    # The same issue with the default clients is warned about.
    (root / "postcli.toml").write_text(
        '[newsletter]\nunsubscribe_url = "https://example.com/u?e={email}"\n'
    )
    report = check_issue(config.load(root), issue)
    assert [
        f for f in report.findings if f.rule == "client-support" and "display:flex" in f.message
    ]
