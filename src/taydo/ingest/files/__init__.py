"""The file gateway: .xlsx/.csv uploads from agencies, with a saved column mapping."""
