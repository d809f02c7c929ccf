-- 006: address counts on a fixed BNG grid for map layers and planners.
-- SECURITY DEFINER so that planners (who may read no address row) get aggregates; the caller
-- applies disclosure control (hardening.security.disclosure) before anything is shown. Anyone
-- acting may call it; a transaction without an actor gets nothing.
CREATE FUNCTION address_grid_counts(cell_m integer, within geometry DEFAULT NULL)
RETURNS TABLE (ix bigint, iy bigint, n integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT floor(ST_X(geom) / cell_m)::bigint, floor(ST_Y(geom) / cell_m)::bigint,
           count(*)::integer
    FROM addresses
    WHERE (SELECT app_is_system() OR app_user_id() IS NOT NULL)
      AND cell_m BETWEEN 10 AND 100000
      AND property_type <> 'block'  -- a block's flats are the addresses
      AND (within IS NULL OR (geom && within AND ST_Intersects(geom, within)))
    GROUP BY 1, 2
$$;
REVOKE ALL ON FUNCTION address_grid_counts(integer, geometry) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION address_grid_counts(integer, geometry) TO hardening_app;
