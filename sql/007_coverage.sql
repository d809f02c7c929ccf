-- 007_coverage: saved siting scenarios, and the demand planners optimise against.
--
-- Planners read no address, score or incident row. coverage_demand is SECURITY DEFINER and
-- returns demand points without any identifier: one row per entrance point (the flats of a
-- block share one), with its household count, summed risk score and recent incidents nearby.
-- The coverage service only ever shows planners aggregates of it through
-- hardening.security.disclosure.publish_grid, totals and shares.

CREATE TABLE coverage_plans (
    plan_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    kind        text NOT NULL CHECK (kind IN ('cctv', 'anpr')),
    area_id     text NOT NULL REFERENCES areas,
    org_id      text REFERENCES organisations DEFAULT app_org_id(),
    created_by  bigint REFERENCES users DEFAULT app_user_id(),
    created_at  timestamptz NOT NULL DEFAULT now(),
    params      jsonb NOT NULL,
    results     jsonb NOT NULL,
    UNIQUE NULLS NOT DISTINCT (org_id, name)
);
CREATE INDEX coverage_plans_area ON coverage_plans (area_id);

ALTER TABLE coverage_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE coverage_plans FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    EXECUTE format('CREATE POLICY maintenance ON coverage_plans TO %I USING (true) WITH CHECK (true)',
                   current_user);
END $$;
-- An organisation's planners, analysts and admins share its scenarios, in their areas.
CREATE POLICY own_org ON coverage_plans FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR (org_id = (SELECT app_org_id())
           AND (SELECT app_has_any_role('{planner,analyst,admin}'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR (org_id = (SELECT app_org_id())
           AND (SELECT app_has_any_role('{planner,analyst,admin}'))
           AND area_id = ANY((SELECT app_areas())::text[])));

-- Demand for an area: risk from the default (else newest) model's scores, incidents within
-- p_near_m over the p_days before p_until (default: the area's latest incident).
CREATE FUNCTION coverage_demand(p_area text, p_days integer DEFAULT 365,
                                p_near_m double precision DEFAULT 50,
                                p_until timestamptz DEFAULT NULL)
RETURNS TABLE (x double precision, y double precision, households integer,
               risk double precision, incidents integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH allowed AS (
        SELECT app_is_system() OR (app_has_any_role('{planner,analyst,admin}')
               AND p_area = ANY(app_areas())) AS ok
    ), model AS (
        SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1
    ), until AS (
        SELECT coalesce(p_until, (SELECT max(occurred_at) FROM incidents WHERE area_id = p_area),
                        now()) AS t
    ), points AS (
        SELECT a.geom, count(*)::integer AS households, coalesce(sum(s.score), 0) / 100.0 AS risk
        FROM addresses a
        LEFT JOIN risk_scores s ON s.uprn = a.uprn
             AND s.model_version = (SELECT model_version FROM model)
        WHERE (SELECT ok FROM allowed) AND a.area_id = p_area AND a.property_type <> 'block'
          AND p_days BETWEEN 1 AND 3660 AND p_near_m BETWEEN 0 AND 1000
        GROUP BY a.geom
    )
    SELECT ST_X(p.geom), ST_Y(p.geom), p.households, p.risk, n.c
    FROM points p
    CROSS JOIN LATERAL (
        SELECT count(*)::integer AS c FROM incidents i
        WHERE i.geom && ST_Expand(p.geom, p_near_m) AND ST_DWithin(i.geom, p.geom, p_near_m)
          AND i.kind = 'incident'
          AND i.occurred_at > (SELECT t FROM until) - make_interval(days => p_days)
          AND i.occurred_at <= (SELECT t FROM until)
    ) n
$$;
REVOKE ALL ON FUNCTION coverage_demand(text, integer, double precision, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION coverage_demand(text, integer, double precision, timestamptz)
    TO hardening_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON coverage_plans TO hardening_app;
