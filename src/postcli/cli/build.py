"""`postcli build ISSUE [--out DIR] [--json]`."""

from __future__ import annotations

from pathlib import Path

import typer

from postcli.cli._context import print_json, state


def build(
    ctx: typer.Context,
    issue: str = typer.Argument(..., help="The issue: a path or an id like 2026-12-01-slug."),
    out: Path = typer.Option(None, "--out", help="Write here instead of build/<id>/."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Render the free and premium variants to build/<id>/ (HTML, text, meta.json)."""
    from postcli.build import build_issue

    st = state(ctx)
    settings = st.settings()
    result = build_issue(settings, issue, out_dir=out)
    assert result.out_dir is not None
    if as_json:
        print_json(
            {
                "id": result.issue.id,
                "out": str(result.out_dir),
                "files": [str(f) for f in result.files],
                "variants": {
                    v.value: {
                        "subject": e.subject,
                        "html_bytes": e.html_bytes,
                        "text_bytes": e.text_bytes,
                    }
                    for v, e in result.emails.items()
                },
            }
        )
        return
    for variant, email in result.emails.items():
        html_kb, text_kb = email.html_bytes / 1000, email.text_bytes / 1000
        st.say(f"{variant.value:8} {html_kb:6.1f} kB HTML  {text_kb:6.1f} kB text")
    typer.echo(str(result.out_dir))
