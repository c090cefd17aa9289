"""What a 📌 files: the pinned message's first line as title; safe file names."""

from __future__ import annotations

import pytest

from daemon.chat.actions import pinned_title, safe_filename
from daemon.filing.submission import IncomingDocument
from daemon.model import DocumentHash

PDF = IncomingDocument(DocumentHash("0" * 64), "plan.pdf", "application/pdf", 3)


@pytest.mark.parametrize(
    ("body", "documents", "expected"),
    [
        ("Buurtschouw verzetten?\nIk kan niet.", (), ("Buurtschouw verzetten?", "Ik kan niet.")),
        ("\n\n  Eerste   regel  \n", (), ("Eerste regel", "")),
        ("", (PDF,), ("plan.pdf", "")),
        ("", (), ("(bericht zonder tekst)", "")),
        ("x" * 500, (), ("x" * 200, "")),
    ],
)
def test_pinned_title(
    body: str, documents: tuple[IncomingDocument, ...], expected: tuple[str, str]
) -> None:
    assert expected == pinned_title(body, documents)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("notulen.pdf", "notulen.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("gnp\u202e.exe", "gnp.exe"),
        ("...", "bestand"),
        ("brief@gemeente.pdf", "brief@gemeente.pdf"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert expected == safe_filename(name)
