"""Pull connectors: fetch from agency systems on a schedule (HTTP JSON, SQL, plugins)."""
