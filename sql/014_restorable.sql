-- 014_restorable: a plain `pg_restore` of a `pg_dump` must load. pg_restore runs with an empty
-- search_path, so the geometry CHECK's function must bind PostGIS when it is created (an
-- SQL-standard body) rather than look it up when a row is checked, and the marker trigger's
-- WHEN must not need `=` on geometry resolved by name. Same meaning as before.

CREATE OR REPLACE FUNCTION bng_geometry_ok(g geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN g IS NULL OR (
    ST_SRID(g) = 27700
    AND NOT ST_IsEmpty(g)
    AND ST_XMin(g) >= 0 AND ST_XMax(g) <= 700000
    AND ST_YMin(g) >= 0 AND ST_YMax(g) <= 1300000
    AND ST_IsValid(g)
);

DROP TRIGGER address_moves_markers ON addresses;
CREATE TRIGGER address_moves_markers AFTER UPDATE OF geom ON addresses
    FOR EACH ROW WHEN (OLD.geom::bytea IS DISTINCT FROM NEW.geom::bytea)
    EXECUTE FUNCTION address_moves_markers();
