-- One budget, three levers (hardening/budget/): new cameras, camera repairs and housing works
-- chosen together. A budget plan is a saved scenario (coverage_plans, kind 'budget') holding
-- aggregates only; the homes its works are for live in budget_plan_works, which a provider's
-- housing staff read for their own homes (to raise the orders) and planners never read.

ALTER TABLE coverage_plans DROP CONSTRAINT coverage_plans_kind_check;
ALTER TABLE coverage_plans ADD CONSTRAINT coverage_plans_kind_check
    CHECK (kind IN ('cctv', 'anpr', 'budget'));

CREATE TABLE budget_plan_works (
    plan_id         bigint NOT NULL REFERENCES coverage_plans ON DELETE CASCADE,
    provider_org_id text NOT NULL REFERENCES organisations,
    area_id         text NOT NULL REFERENCES areas,
    uprn            bigint NOT NULL REFERENCES addresses,
    measure_code    text NOT NULL REFERENCES measures_catalogue,
    work_order_id   bigint REFERENCES work_orders,
    PRIMARY KEY (plan_id, uprn, measure_code)
);
CREATE INDEX budget_plan_works_provider ON budget_plan_works (provider_org_id, plan_id);

ALTER TABLE budget_plan_works ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_plan_works FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    EXECUTE format('CREATE POLICY maintenance ON budget_plan_works TO %I USING (true) '
                   'WITH CHECK (true)', current_user);
END $$;
CREATE POLICY system_all ON budget_plan_works FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
-- Analysts and admins (who may read the area's addresses) write and read the area's rows.
CREATE POLICY police_area ON budget_plan_works FOR ALL TO hardening_app
    USING ((SELECT app_has_any_role('{analyst,admin}'))
           AND area_id = ANY((SELECT app_areas())::text[]))
    WITH CHECK ((SELECT app_has_any_role('{analyst,admin}'))
                AND area_id = ANY((SELECT app_areas())::text[]));
-- A provider's works staff read their own homes' rows and mark them raised.
CREATE POLICY provider_own ON budget_plan_works FOR SELECT TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY provider_raise ON budget_plan_works FOR UPDATE TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
GRANT SELECT, INSERT, UPDATE ON budget_plan_works TO hardening_app;

-- The scored dwellings of an area with what the optimiser needs: where, how risky, who owns
-- them, what is fitted, faulty or on order there and at the block. Like coverage_demand it is
-- for planning roles in their areas; the identifiers (uprn, block uprn) only for the roles
-- that read the area's addresses anyway (analyst, admin, the system): a planner gets NULL and
-- a block number that means nothing outside this answer.
CREATE FUNCTION budget_dwellings(p_area text)
RETURNS TABLE (uprn bigint, block_uprn bigint, block_no bigint, provider_org_id text,
               is_flat boolean, x double precision, y double precision, score double precision,
               working text[], faulty text[], on_order text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH allowed AS (
        SELECT app_is_system() OR (app_has_any_role('{planner,analyst,admin}')
               AND p_area = ANY(app_areas())) AS ok,
               app_is_system() OR app_has_any_role('{analyst,admin}') AS named
    ), model AS (
        SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1
    ), homes AS (
        SELECT a.uprn, coalesce(a.parent_uprn, CASE WHEN a.property_type = 'block'
               THEN a.uprn END) AS block, a.provider_org_id,
               (a.property_type = 'flat' OR a.parent_uprn IS NOT NULL) AS is_flat,
               ST_X(a.geom) AS x, ST_Y(a.geom) AS y, s.score
        FROM addresses a
        JOIN risk_scores s ON s.uprn = a.uprn AND s.model_version = (SELECT model_version FROM model)
        WHERE (SELECT ok FROM allowed) AND a.area_id = p_area AND a.property_type <> 'block'
    ), fitted AS (
        SELECT m.uprn, array_agg(m.measure_code ORDER BY m.measure_code)
                   FILTER (WHERE m.status = 'working') AS working,
               array_agg(m.measure_code ORDER BY m.measure_code)
                   FILTER (WHERE m.status = 'faulty') AS faulty
        FROM installed_measures m WHERE m.area_id = p_area GROUP BY m.uprn
    ), ordered AS (
        SELECT o.uprn, array_agg(o.measure_code ORDER BY o.measure_code) AS codes
        FROM work_orders o
        WHERE o.area_id = p_area AND o.status NOT IN ('completed', 'cancelled')
        GROUP BY o.uprn
    )
    SELECT CASE WHEN (SELECT named FROM allowed) THEN h.uprn END,
           CASE WHEN (SELECT named FROM allowed) THEN h.block END,
           CASE WHEN h.block IS NOT NULL THEN dense_rank() OVER (ORDER BY h.block) END,
           h.provider_org_id, h.is_flat, h.x, h.y, h.score::double precision,
           coalesce(f.working, '{}') || coalesce(fb.working, '{}'),
           coalesce(f.faulty, '{}') || coalesce(fb.faulty, '{}'),
           coalesce(o.codes, '{}') || coalesce(ob.codes, '{}')
    FROM homes h
    LEFT JOIN fitted f ON f.uprn = h.uprn
    LEFT JOIN fitted fb ON fb.uprn = h.block
    LEFT JOIN ordered o ON o.uprn = h.uprn
    LEFT JOIN ordered ob ON ob.uprn = h.block
    ORDER BY h.uprn
$$;
REVOKE ALL ON FUNCTION budget_dwellings(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION budget_dwellings(text) TO hardening_app;
