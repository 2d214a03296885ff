"""What `postcli build` does and prints, apart from Typer: shared by the Typer command
(cli/build.py) and the quick path that runs it without importing Typer (cli/quick.py)."""

from __future__ import annotations

from pathlib import Path

from postcli.cli._context import Echo, State, print_json


def build(st: State, issue: str, out: Path | None, as_json: bool, echo: Echo) -> None:
    from postcli.build import build_issue

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
            },
            echo,
        )
        return
    for variant, email in result.emails.items():
        html_kb, text_kb = email.html_bytes / 1000, email.text_bytes / 1000
        st.say(f"{variant.value:8} {html_kb:6.1f} kB HTML  {text_kb:6.1f} kB text")
    echo(str(result.out_dir))
