"""NGSI-LD (ETSI GS CIM 009) API over the catalog and the observations store."""
