"""The deterministic synthetic sample town: generator and loader.

spec (fixed facts: reference date, real stations, towns, main roads) -> layout (streets) ->
addresses (houses, blocks, flats, tenure, postcodes) -> zones (LSOA-like, deprivation) ->
events and lines (hot spots, incidents, county lines) -> partners, casework, markers, works,
cameras -> generate (the whole set, per seed) -> files (gzipped CSV + manifest) and loader
(COPY upserts in one transaction). The commands are in cli.py.
"""
