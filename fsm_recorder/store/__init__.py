"""The drain daemon and the archive it fills: schema, migrations, exactly-once batch writes."""
