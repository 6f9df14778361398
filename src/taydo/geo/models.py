"""Administrative units and their optional geometries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from taydo.core.db import Base


class Area(Base):
    """A province or a ward/commune, keyed by its official code (e.g. 92, 31117)."""

    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # 'tỉnh', 'thành phố' (province level), 'phường', 'xã', 'đặc khu' (local level)
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column()  # 1 = province, 2 = ward/commune
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("areas.code", ondelete="CASCADE"), nullable=True, index=True
    )
    # GeoJSON geometry (Polygon/MultiPolygon) loaded by `taydo geo import`, and its bounding
    # box so point-in-area tests only the few areas whose box holds the point.
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    min_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
