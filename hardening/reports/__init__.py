"""The yearly performance report: indicators per area, disclosure control, charts, HTML."""
