-- 015_site_keys: camera sites get the Z-order tile_key of 012 (addresses, markers, works), so an
-- OGC API bbox query on them becomes a few leakproof key ranges of a btree index under
-- row-level security instead of a scan of every site the policy admits (hardening/features).
ALTER TABLE cctv_sites ADD COLUMN tile_key bigint GENERATED ALWAYS AS (bng_morton(geom)) STORED;
CREATE INDEX cctv_sites_tile_key ON cctv_sites (tile_key);

ALTER TABLE anpr_sites ADD COLUMN tile_key bigint GENERATED ALWAYS AS (bng_morton(geom)) STORED;
CREATE INDEX anpr_sites_tile_key ON anpr_sites (tile_key);
