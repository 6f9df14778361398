"""Administrative units (provinces, wards/communes), geometries, point-in-area."""
