"""The only caller of the MJML compiler and of the CSS inliner.

MJML (mjml-python, a binding of the Rust port MRML) turns the template into responsive HTML
with Outlook conditionals. Only the issue body's content CSS is inlined, into the body fragment
before it enters the template: inlining the whole compiled document would copy MJML's table
resets onto every table and bloat the email toward Gmail's clipping size.
"""

from __future__ import annotations

from pathlib import Path

from postcli.errors import TemplateError


def compile_mjml(source: str, template: Path) -> str:
    import mjml

    try:
        # fonts={} keeps MJML from adding a web-font <link>: no remote fetch when opened.
        return str(mjml.mjml2html(source, disable_comments=False, fonts={}))
    except Exception as exc:  # the binding raises a bare exception type with MRML's message
        raise TemplateError(
            f"MJML could not compile the template: {exc}",
            path=template,
            hint="check the template's MJML tags; postcli's output above is what MJML read",
        ) from exc


def inline_fragment(html: str, css: str, inliner: str = "css-inline") -> str:
    """Inline `css` into the HTML fragment `html`; never touches the network."""
    if inliner == "premailer":
        return _premailer_fragment(html, css)
    import css_inline

    return str(css_inline.inline_fragment(html, css, load_remote_stylesheets=False))


def _premailer_fragment(html: str, css: str) -> str:
    try:
        from premailer import Premailer
    except ImportError as exc:
        raise TemplateError(
            "[render] inliner = 'premailer' needs the premailer extra",
            hint="pip install 'postcli[premailer]', or use the default css-inline",
        ) from exc
    wrapped = f"<html><head><style>{css}</style></head><body>{html}</body></html>"
    result: str = Premailer(
        wrapped,
        keep_style_tags=False,
        strip_important=False,
        disable_validation=True,
        allow_network=False,
        cssutils_logging_level="CRITICAL",
    ).transform(pretty_print=False)

    start = result.find("<body>") + len("<body>")
    return result[start : result.rfind("</body>")]


def cascade(html: str, extra_css: str = "") -> str | None:
    """The whole document with every applicable `<style>` rule (and `extra_css`) written onto
    its elements, for reading computed colours (check.contrast); never what is sent. None when
    css-inline cannot read it. Never touches the network."""
    import css_inline

    try:
        inliner = css_inline.CSSInliner(
            load_remote_stylesheets=False, keep_style_tags=False, extra_css=extra_css or None
        )
        return str(inliner.inline(html))
    except (ValueError, css_inline.InlineError):
        return None
