"""SAFE alert markers: their lifecycle (create, review, revoke, expire) and the control room's
look-up from a caller's words, a UPRN or a point to the address's markers in one call."""
