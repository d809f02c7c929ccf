"""Database access: URLs, engines, the managed cluster, migrations, per-transaction actor."""
