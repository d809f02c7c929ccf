"""Vector tiles (Mapbox Vector Tile) of the map layers at `/v1/tiles/{layer}/{z}/{x}/{y}.pbf`:
aggregated squares at low zoom, points where row-level security lets the actor see them."""
