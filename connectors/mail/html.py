"""HTML mail to readable plain text: sanitised by nh3 (ammonia), laid out by inscriptis.

Raw HTML is never shown anywhere: scripts, styles, Outlook's conditional
comments and ``<o:p>`` tags go, tables and lists keep a readable shape.
"""

from __future__ import annotations

import html
import re
import textwrap
import urllib.parse

import nh3
from inscriptis import get_text

# Elements whose content is never text a reader should see.
_DROPPED_WITH_CONTENT = {"script", "style", "title", "head", "xml", "template", "noscript", "svg"}
_CID = re.compile(r"cid:([^\s\"'<>)]{1,250})", re.IGNORECASE)
_BLANK_RUN = re.compile(r"\n{3,}")
_BLOCKS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "blockquote", "pre"}
_TAG = re.compile(r"<[^<>]{0,20}>")  # nh3 output with no attributes: bare tags only
_KEPT_ENOUGH = 0.9
MAX_LAYOUT_CHARS = 2_000_000


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body; plainer text when the layout step loses some."""
    if not markup.isascii():  # lone surrogates cannot cross into Rust
        markup = markup.encode("utf-8", "replace").decode("utf-8")
    clean = nh3.clean(markup, clean_content_tags=_DROPPED_WITH_CONTENT)
    bare = _bare_text(clean)
    if len(clean) > MAX_LAYOUT_CHARS:  # layout is pure Python; keep huge mail fast
        return bare
    try:
        laid_out = tidy(textwrap.dedent(get_text(clean)))
    except (ValueError, RecursionError):
        return bare
    # lxml silently drops everything nested deeper than 255 elements.
    if len("".join(laid_out.split())) < len("".join(bare.split())) * _KEPT_ENOUGH:
        return bare
    return laid_out


def _bare_text(clean: str) -> str:
    """Text with one line per block element, without inscriptis' layout."""
    blocks = nh3.clean(clean, tags=_BLOCKS, attributes={})
    return tidy(html.unescape(_TAG.sub("\n", blocks)))


def tidy(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line in a row, no NULs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


def referenced_content_ids(markup: str) -> set[str]:
    """The Content-IDs the HTML shows inline (``<img src="cid:...">``), normalised."""
    return {normalise_content_id(urllib.parse.unquote(m)) for m in _CID.findall(markup)}


def normalise_content_id(value: str) -> str:
    return "".join(value.split()).strip("<>").lower()
