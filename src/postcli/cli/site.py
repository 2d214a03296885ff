"""`postcli site [--out DIR] [--drafts] [--serve [--port N]]`."""

from __future__ import annotations

from pathlib import Path

import typer

from postcli.cli._context import state

DEFAULT_PORT = 8766


def site(
    ctx: typer.Context,
    out: Path = typer.Option(
        None, "--out", help="Folder to write (default: site/, or site-drafts/ with --drafts)."
    ),
    drafts: bool = typer.Option(
        False,
        "--drafts",
        help="Include drafts and unpublished issues, marked as such and noindex, in site-drafts/.",
    ),
    serve: bool = typer.Option(
        False, "--serve", help="Serve the site on 127.0.0.1 and rebuild it on every save."
    ),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="Port for --serve."),
) -> None:
    """Write the web edition: index, a page per published issue, feed, sitemap, images."""
    from postcli.site.build import build_site

    st = state(ctx)
    settings = st.settings()
    out_dir = out.resolve() if out is not None else None
    report = build_site(settings, out_dir=out_dir, drafts=drafts)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)
    st.say(
        f"{report.out_dir}: {len(report.entries)} issues, {len(report.rendered)} rendered, "
        f"{len(report.written)} files written, {len(report.removed)} removed"
    )
    if not serve:
        if report.errors:
            from postcli.errors import CheckFailed

            raise CheckFailed(
                f"{len(report.errors)} premium-leak finding(s): those issues are not on the site",
                hint="fix what each error names (see 'postcli check ISSUE'), then run it again",
            )
        return
    from postcli.site.serve import serve_site

    serve_site(settings, report, drafts=drafts, port=port, say=st.say, echo=typer.echo)
