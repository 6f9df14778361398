"""Photos: images only (by content), a size limit, metadata (GPS) removed before anything is
shown, kept on disk under the configured folder (surviving a restart), served only to those
allowed; the upload path fuzzed with hostile bytes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from taydo.app import create_app
from taydo.citizen.photos import PhotoTooLarge, clean_photo
from taydo.core.db import Database
from taydo.core.errors import Invalid
from taydo.core.settings import Settings
from tests.citizen.conftest import IN_CAI_RANG, IN_NINH_KIEU

GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG whose EXIF holds a GPS position and a camera model, as phones write them."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # Model
    exif[0x010F] = "Maker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (10.0, 2.0, 3.0), 3: "E", 4: (105.0, 47.0, 1.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_the_helper_writes_gps_for_real() -> None:
    """Guards the GPS test below: its input does carry a position."""
    with Image.open(io.BytesIO(jpeg_with_gps())) as image:
        assert image.getexif().get_ifd(GPS_IFD)[2] == (10.0, 2.0, 3.0)


def _post(client: TestClient, photo: bytes, name: str = "a.jpg", **fields: Any) -> Any:
    from taydo.citizen.service import create_key

    key = create_key(client.app.state.runtime.db, "t", actor="t")[1]  # type: ignore[attr-defined]
    data = {
        "api_key": key,
        "service_code": "khac",
        "lat": IN_NINH_KIEU[0],
        "long": IN_NINH_KIEU[1],
        **fields,
    }
    return client.post(
        "/open311/v2/requests.json", data=data, files={"media": (name, photo, "image/jpeg")}
    )


def test_gps_is_stripped_from_what_is_served(
    citizen_client: TestClient, citizen_settings: Settings
) -> None:
    answer = _post(citizen_client, jpeg_with_gps())
    assert answer.status_code == 200, answer.text
    report_id = answer.json()[0]["service_request_id"]
    listed = citizen_client.get(f"/open311/v2/request/{report_id}.json").json()
    assert listed["media_url"].endswith(f"/citizen/photos/{report_id}")
    served = citizen_client.get(f"/citizen/photos/{report_id}")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        exif = image.getexif()
        assert not exif.get_ifd(GPS_IFD) and 0x0110 not in exif
        assert "exif" not in image.info
    assert b"Phone X" not in served.content
    # the file on disk under the configured folder is the stripped one
    stored = list(Path(citizen_settings.citizen_photos_dir).rglob("*.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes() == served.content


def test_non_images_and_oversize_are_refused(
    citizen_client: TestClient, citizen_settings: Settings
) -> None:
    for body, name in (
        (b"<?php echo 1; ?>", "photo.jpg"),  # a script named like a photo
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "photo.png"),
        (jpeg_with_gps()[:200], "cut.jpg"),  # a truncated JPEG
    ):
        refused = _post(citizen_client, body, name)
        assert refused.status_code == 400, (name, refused.text)
        assert "ảnh" in refused.json()[0]["description"]
    big = Settings(**{**citizen_settings.model_dump(), "citizen_photo_max_bytes": 1000})
    assert len(jpeg_with_gps((400, 400))) > 1000
    with TestClient(create_app(big, database=Database(citizen_settings.database_url))) as small:
        refused = _post(small, jpeg_with_gps((400, 400)))
        assert refused.status_code == 413 and refused.json()[0]["code"] == 413
    assert not list(Path(citizen_settings.citizen_photos_dir).rglob("*.jpg"))  # nothing kept
    with pytest.raises(PhotoTooLarge):  # a decompression bomb: refused before decoding
        bomb = io.BytesIO()
        Image.new("L", (9000, 9000)).save(bomb, format="PNG")
        clean_photo(bomb.getvalue(), max_bytes=10**9)


def test_photos_survive_a_restart_and_follow_visibility(
    citizen_client: TestClient, citizen_settings: Settings, citizen_db: Database, headers_for: Any
) -> None:
    public = _post(citizen_client, jpeg_with_gps()).json()[0]["service_request_id"]
    # a private report (the form's "public" box unticked) in Cái Răng
    from taydo.citizen.service import NewReport, create_report

    private, _event = create_report(
        citizen_db,
        NewReport(service_code="khac", lat=IN_CAI_RANG[0], lon=IN_CAI_RANG[1], public=False),
    )
    with citizen_db.session() as session:
        from taydo.citizen.models import CitizenReport

        row = session.get(CitizenReport, private["id"])
        assert row is not None
        public_row = session.get(CitizenReport, int(public))
        assert public_row is not None
        row.photo = public_row.photo  # the same stored file, now behind a private report
    # a new app on the same database and folder: a restart
    with TestClient(create_app(citizen_settings, database=citizen_db)) as restarted:
        assert restarted.get(f"/citizen/photos/{public}").status_code == 200
        assert restarted.get(f"/citizen/photos/{private['id']}").status_code == 404
        other = headers_for("agency_officer", ["UBND-NINHKIEU"])
        assert restarted.get(f"/citizen/photos/{private['id']}", headers=other).status_code == 404
        theirs = headers_for("agency_officer", ["UBND-CAIRANG"])
        assert restarted.get(f"/citizen/photos/{private['id']}", headers=theirs).status_code == 200
        listed = restarted.get(f"/open311/v2/request/{private['id']}.json").json()
        assert "media_url" not in listed


@given(st.binary(max_size=2048))
@example(b"\xff\xd8\xff\xe0" + b"\x00" * 64)  # a JPEG header and nothing after
@example(b"GIF89a" + b"\xff" * 32)
@example(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\xff" * 17)
@example(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
def test_hostile_bytes_are_refused_cleanly(data: bytes) -> None:
    """Whatever arrives, the answer is a cleaned JPEG or a 4xx reason, never another error."""
    try:
        out = clean_photo(data, max_bytes=4096)
    except (Invalid, PhotoTooLarge):
        return
    with Image.open(io.BytesIO(out)) as image:
        assert image.format == "JPEG" and not image.getexif()


@given(st.binary(min_size=1, max_size=600), st.integers(min_value=0, max_value=4000))
def test_a_valid_photo_with_hostile_bytes_inside(noise: bytes, at: int) -> None:
    """A real JPEG with bytes overwritten somewhere: decoded cleanly or refused, nothing else."""
    photo = bytearray(jpeg_with_gps((32, 32)))
    at = min(at, len(photo) - 1)
    photo[at : at + len(noise)] = noise
    try:
        out = clean_photo(bytes(photo), max_bytes=1 << 20)
    except (Invalid, PhotoTooLarge):
        return
    assert b"Phone X" not in out
