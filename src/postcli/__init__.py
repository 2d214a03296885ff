"""postcli: write a newsletter issue in Markdown, send a free teaser and a premium edition.

Importing this package has no side effects; the command line lives in `postcli.cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
