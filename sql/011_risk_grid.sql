-- 011_risk_grid: the cuckooing-risk grid planners may see, without any household's band.
--
-- risk_grid_counts returns, per square of a BNG grid cell_m metres wide (floor division, so
-- squares line up with address_grid_counts), the dwellings in it and how many of them the
-- default (else newest) model puts in the high or very_high band. SECURITY DEFINER because
-- planners may read no address or score row; like address_grid_counts it returns raw counts
-- and the caller applies disclosure control (hardening.security.disclosure) before anything
-- is shown: hardening.features.risk_grid suppresses counts under 10 and rounds the rest to 5.
--
-- Who may call it is one predicate, risk_grid_allowed(), which the OGC collection list uses too:
-- the system actor, or planners, analysts and admins whose agreement grants aggregates or risk
-- bands. Only addresses in the caller's agreement areas are counted; a transaction without an
-- actor, or an actor without the grant, gets no rows.

CREATE FUNCTION risk_grid_allowed() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT app_is_system() OR (app_has_any_role('{planner,analyst,admin}')
           AND app_classes() && '{aggregates_only,risk_band,risk_factors}')
$$;

CREATE FUNCTION risk_grid_counts(cell_m integer, within geometry DEFAULT NULL)
RETURNS TABLE (ix bigint, iy bigint, dwellings integer, high integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH model AS (
        SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1
    )
    SELECT floor(ST_X(a.geom) / cell_m)::bigint, floor(ST_Y(a.geom) / cell_m)::bigint,
           count(*)::integer,
           (count(*) FILTER (WHERE s.band IN ('high', 'very_high')))::integer
    FROM addresses a
    LEFT JOIN risk_scores s ON s.uprn = a.uprn
         AND s.model_version = (SELECT model_version FROM model)
    WHERE (SELECT risk_grid_allowed())
      AND cell_m BETWEEN 50 AND 100000
      AND a.property_type NOT IN ('block', 'commercial')  -- a block's flats are the dwellings
      AND ((SELECT app_is_system()) OR a.area_id = ANY((SELECT app_areas())::text[]))
      AND (within IS NULL OR (a.geom && within AND ST_Intersects(a.geom, within)))
    GROUP BY 1, 2
$$;

REVOKE ALL ON FUNCTION risk_grid_counts(integer, geometry) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION risk_grid_allowed(), risk_grid_counts(integer, geometry)
    TO hardening_app;
