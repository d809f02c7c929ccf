"""A ready QGIS project for a user: every layer they may see, styled like the web map."""
