"""Core: settings, app factory, database, migrations, bus, plugins, clock, errors, access."""
