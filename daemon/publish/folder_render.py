"""The paper folder's PDF, rendered in a short-lived child process.

``python -m daemon.publish.folder_render`` reads the folder's HTML (UTF-8) on stdin
and writes the PDF on stdout. :func:`daemon.publish.folder.folder_pdf` starts it for
each folder, so the daemon never imports WeasyPrint with Pango, HarfBuzz and
fontconfig: once loaded they stay for the process's life (~40 MB of a ~100 MB daemon,
bench/memory.py --year), for a render needed once per bewonersbijeenkomst.

This module imports nothing of the daemon: the child starts with WeasyPrint only.
"""

from __future__ import annotations

import sys

__all__ = ["main", "render_pdf"]


def render_pdf(html: str) -> bytes:
    """``html`` as PDF; it fetches nothing (every URL but ``data:`` is refused)."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    # Only ``data:`` (the QR code); anything else fails the render instead of a fetch.
    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url="about:blank")
    pdf = document.write_pdf()
    if not isinstance(pdf, bytes):  # write_pdf without a target returns the bytes
        raise TypeError("WeasyPrint returned no PDF")
    return pdf


def main() -> int:
    html = sys.stdin.buffer.read().decode("utf-8")
    pdf = render_pdf(html)
    sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
