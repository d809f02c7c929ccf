"""Vulnerability visits, support packages, referrals, protection plans and county lines."""
