"""The address register's text side: normalisation, UK postcode parsing and free-text matching
of what a caller said to a UPRN (`match`), with a calibrated confidence."""
