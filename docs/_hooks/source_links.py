"""MkDocs hook: links from a page to the repository's source files (``../loyalty_sdk/...``).

The generated hooks reference links each hook to its built-in implementation. Those files are
not pages of the site, so a link to one is shown as the file's path in code; a link to a file
that does not exist fails the build (a warning, and the site is built with ``--strict``).
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.source_links")
LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)#\s]+)\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs = Path(config["docs_dir"]).resolve()
    root = docs.parent
    here = posixpath.dirname(page.file.src_uri)

    def replace(match: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join(here, match.group(2)))
        if not target.startswith("../"):
            return match.group(0)  # a page of the site: MkDocs checks it
        path = (docs / target).resolve()
        if not path.is_relative_to(root) or not path.exists():
            log.warning("%s links to %s, which is not in the repository", page.file.src_uri, match.group(2))
            return match.group(0)
        text = match.group(1)
        return text if text.startswith("`") else f"`{path.relative_to(root).as_posix()}`"

    return LINK.sub(replace, markdown)
