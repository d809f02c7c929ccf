"""Users, organisations, sharing agreements, tokens, audit log."""
