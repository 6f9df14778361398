"""The Cần Thơ reference pack: agencies, datasets, stations, rules, KPIs and SOPs as data."""
