"""Issue file -> parsed `Issue`: front matter checked against its schema, and the body's
Markdown as block tokens, with the paywall marker and the `::: premium` / `::: free` blocks
located and validated.

Owns the issue format (docs/issue-format.md) and every message about a malformed issue (each names
the file and 1-based line). Produces no HTML: the variant filter and rendering live in
`postcli.render`. The inline parse is left for later on purpose, so that the free variant's
inline content is parsed only from blocks it keeps.

    types.py         Variant, Audience, FrontMatter, Block, Issue
    front_matter.py  the YAML front matter and its schema
    structure.py     the paywall marker and the ::: blocks in the block token stream
    parse.py         file -> text -> Issue
    paths.py         ISSUE (a path or an id) -> file; every issue file of a workspace
"""

from postcli.issues.front_matter import FRONT_MATTER_KEYS
from postcli.issues.parse import load_issue, parse_issue, read_text
from postcli.issues.paths import iter_issue_files, resolve_issue_path
from postcli.issues.structure import PAYWALL_RE
from postcli.issues.types import Block, FrontMatter, Issue
from postcli.model import Audience, Variant

__all__ = [
    "FRONT_MATTER_KEYS",
    "PAYWALL_RE",
    "Audience",
    "Block",
    "FrontMatter",
    "Issue",
    "Variant",
    "iter_issue_files",
    "load_issue",
    "parse_issue",
    "read_text",
    "resolve_issue_path",
]
