"""Evidence files: images and PDF only, judged by content; a size limit; stored on disk under
the configured folder (not in the database); served only to those who may see them."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from taydo.core.settings import Settings
from taydo.directives.service import UnsupportedType
from taydo.directives.service.files import clean_name, sniff
from tests.core.pdfs import SECRETS, page_texts
from tests.directives.conftest import MAX_FILE, PDF, jpeg, png


@pytest.fixture
def setup(client: TestClient, headers_for: Any, issue: Any) -> dict[str, Any]:
    directive = issue(["SNNMT", "SXD"])
    return {
        "id": directive["id"],
        "snnmt": headers_for("agency_officer", ["SNNMT"]),
        "sxd": headers_for("agency_officer", ["SXD"]),
        "leader": issue.headers,
    }


def _upload(
    client: TestClient,
    did: int,
    agency: str,
    headers: dict[str, str],
    name: str,
    data: bytes,
    claimed: str = "image/jpeg",
) -> Any:
    return client.post(
        f"/api/v1/directives/{did}/assignments/{agency}/files",
        files={"file": (name, data, claimed)},
        headers=headers,
    )


@pytest.mark.parametrize(
    "name, data",
    [
        ("anh.jpg", b"<script>alert(1)</script>"),  # a script named like a photo
        ("anh.png", png()[:40]),  # a truncated PNG
        ("bao-cao.pdf", b"%PDF-1.7\nno end marker"),
        ("anh.gif", b"GIF89a" + b"\x00" * 40),
        ("tai-lieu.docx", b"PK\x03\x04" + b"\x00" * 100),
        ("anh.bmp", b"BM" + b"\x00" * 60),
    ],
)
def test_what_is_not_an_image_or_pdf_is_refused(
    client: TestClient, setup: dict[str, Any], settings: Settings, name: str, data: bytes
) -> None:
    answer = _upload(client, setup["id"], "SNNMT", setup["snnmt"], name, data)
    assert answer.status_code == 415, answer.text
    assert "PDF" in answer.json()["error"] or "định dạng" in answer.json()["error"]
    assert not any(Path(settings.directives_files_dir).rglob("*.*"))  # nothing kept on disk


def test_an_oversized_file_is_refused(
    client: TestClient, setup: dict[str, Any], settings: Settings
) -> None:
    big = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(big, format="PNG")
    assert len(big.getvalue()) > MAX_FILE
    answer = _upload(client, setup["id"], "SNNMT", setup["snnmt"], "to.png", big.getvalue())
    assert answer.status_code == 413, answer.text
    assert str(MAX_FILE) in answer.json()["error"]
    assert not any(Path(settings.directives_files_dir).rglob("*.*"))


def test_files_are_stored_on_disk_and_served_only_to_those_allowed(
    client: TestClient, setup: dict[str, Any], settings: Settings, headers_for: Any
) -> None:
    did = setup["id"]
    photo = _upload(
        client, did, "SNNMT", setup["snnmt"], "../../etc/ảnh hiện trường.jpg", jpeg(), "text/html"
    )
    assert photo.status_code == 201, photo.text
    facts = photo.json()
    assert facts["media_type"] == "image/jpeg"  # from the content, not the claim
    assert facts["name"] == "ảnh hiện trường.jpg"  # no path kept
    stored = list(Path(settings.directives_files_dir).rglob("*.jpg"))
    # Images are written again from their pixels (taydo.core.files): what is kept is a clean
    # JPEG of the same picture, not the bytes sent.
    assert len(stored) == 1 and stored[0].parent.name == str(did)
    with Image.open(stored[0]) as kept:
        assert kept.format == "JPEG" and kept.size == (16, 16) and not kept.getexif()
    assert facts["sha256"] == hashlib.sha256(stored[0].read_bytes()).hexdigest()

    own = client.get(facts["url"], headers=setup["snnmt"])
    assert own.status_code == 200 and own.content == stored[0].read_bytes()
    assert own.headers["content-type"] == "image/jpeg"
    assert own.headers["x-content-type-options"] == "nosniff"
    assert own.headers["content-disposition"].startswith("attachment")
    assert client.get(facts["url"], headers=setup["leader"]).status_code == 200
    assert client.get(facts["url"], headers=headers_for("viewer")).status_code == 200
    # Another agency assigned to the same directive does not see SNNMT's evidence.
    assert client.get(facts["url"], headers=setup["sxd"]).status_code == 404
    # An officer of an agency not assigned at all does not either.
    stranger = headers_for("agency_officer", ["UBND-NINHKIEU"])
    assert client.get(facts["url"], headers=stranger).status_code == 404
    assert client.get(facts["url"]).status_code == 401

    # SXD cannot upload into SNNMT's part, nor can the leader (evidence is the agency's).
    assert _upload(client, did, "SNNMT", setup["sxd"], "x.jpg", jpeg()).status_code == 403
    assert _upload(client, did, "SNNMT", setup["leader"], "x.jpg", jpeg()).status_code == 403
    # Evidence of one part cannot be claimed by another part's report.
    sxd_photo = _upload(client, did, "SXD", setup["sxd"], "x.png", png()).json()
    claim = client.post(
        f"/api/v1/directives/{did}/assignments/SNNMT/progress",
        json={"percent": 10, "files": [sxd_photo["id"]]},
        headers=setup["snnmt"],
    )
    assert claim.status_code == 422, claim.text

    # The leader attaches a PDF to the directive itself: every assigned agency reads it.
    attached = client.post(
        f"/api/v1/directives/{did}/files",
        files={"file": ("cong-van.pdf", PDF, "application/pdf")},
        headers=setup["leader"],
    )
    assert attached.status_code == 201, attached.text
    for who in ("snnmt", "sxd"):
        served = client.get(attached.json()["url"], headers=setup[who]).content
        # The pages as sent; the author, the producer and the GPS of the XMP gone.
        assert page_texts(served) == page_texts(PDF) and page_texts(PDF)
        assert [s for s in SECRETS if s in served] == [] and all(s in PDF for s in SECRETS)
    shown = client.get(f"/api/v1/directives/{did}", headers=setup["sxd"]).json()
    assert [f["name"] for f in shown["attachments"]] == ["cong-van.pdf"]
    assert [f["id"] for f in shown["files"] if f["assignment_id"]] == [sxd_photo["id"]]


@given(st.binary(max_size=2048))
@example(b"%PDF-1.4" + b"\x00" * 10)
@example(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
@example(b"\xff\xd8\xff\xe0" + b"\x00" * 30)
@example(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
def test_sniffing_any_bytes_accepts_or_refuses_cleanly(data: bytes) -> None:
    try:
        media_type, extension = sniff(data)
    except UnsupportedType:
        return
    assert media_type in ("image/jpeg", "image/png", "image/webp", "application/pdf")
    assert extension in ("jpg", "png", "webp", "pdf")


@given(st.text(max_size=300))
def test_a_display_name_is_never_a_path(name: str) -> None:
    cleaned = clean_name(name, "png")
    assert "/" not in cleaned and "\\" not in cleaned and cleaned.endswith(".png")
    assert cleaned.isprintable() and len(cleaned) <= 155
