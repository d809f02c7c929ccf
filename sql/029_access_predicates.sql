-- 029_access_predicates: every row-level security policy in one place, calling named predicates.
--
-- Before this, policies were spread over seven migrations (some created in DO/format loops that
-- grep cannot find), the police role set was spelled out six times here and again in Python, and
-- Python restated policies as SQL strings to ask "may this actor read X?" up front. Now:
-- - role sets are functions, named once (app_police_roles() ...);
-- - what an actor may do, whatever the row, is a named predicate (app_reads_markers() ...), the
--   same function the policy calls and Python asks (hardening.security.access);
-- - app_protect(table) enables and forces row-level security and gives the migrating role its
--   maintenance policy, for this and later migrations;
-- - this file drops every policy and creates them all again, table by table, so the whole
--   access model reads top to bottom here (later migrations add their own tables' policies);
--   tests/test_policies.py snapshots pg_policies so a change shows up in review.
-- Semantics are those of the policies replaced, with one rename: `system_all` on the risk
-- tables also admitted analysts and admins (who run `risk score` themselves): it is `scorers`.
-- Predicates are plpgsql (planned once per session, as 010 explains) and policies call them as
-- scalar subqueries, so each runs once per query (an InitPlan), not once per row.

-- Role sets --------------------------------------------------------------------------------
CREATE FUNCTION app_police_roles() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '{control_room,visit_team,analyst,admin}'::text[] $$;
-- Those who record markers, visits, referrals and protection plans.
CREATE FUNCTION app_recorder_roles() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '{visit_team,admin}'::text[] $$;
-- Those who work cases: county lines, training sessions, retention decisions.
CREATE FUNCTION app_casework_roles() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '{visit_team,analyst,admin}'::text[] $$;
CREATE FUNCTION app_analyst_roles() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '{analyst,admin}'::text[] $$;
CREATE FUNCTION app_planning_roles() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT '{planner,analyst,admin}'::text[] $$;

-- Predicates: what the actor may do, whatever the row (rows are then limited by area, owner...).
-- Each is true for the system actor.
CREATE FUNCTION app_reads_markers() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_police_roles(), 'markers'); END $$;
CREATE FUNCTION app_writes_markers() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_recorder_roles(), 'markers'); END $$;
CREATE FUNCTION app_reads_visits() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_police_roles(), 'visits'); END $$;
CREATE FUNCTION app_writes_visits() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_recorder_roles(), 'visits'); END $$;
CREATE FUNCTION app_reads_incidents() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_police_roles(), 'intelligence'); END $$;
CREATE FUNCTION app_reads_county_lines() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_casework_roles(), 'intelligence'); END $$;
CREATE FUNCTION app_reads_risk_factors() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_may(app_police_roles(), 'risk_factors'); END $$;
-- Scores are written by the system and by analysts and admins running `risk score`.
CREATE FUNCTION app_writes_scores() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR app_has_any_role(app_analyst_roles()); END $$;
-- Camera sites: any signed-in user whose agreement covers sites or aggregates (in its areas).
CREATE FUNCTION app_reads_sites() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN app_is_system()
        OR (app_user_id() IS NOT NULL AND app_classes() && '{sites,aggregates_only}');
END $$;
-- Works: a housing provider its own; police analysts and admins their areas'.
CREATE FUNCTION app_reads_works_as_police() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_has_any_role(app_analyst_roles()) AND app_classes() @> '{works}'; END $$;
CREATE FUNCTION app_reads_works() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN app_is_system() OR app_may('{housing}', 'works') OR app_reads_works_as_police();
END $$;
-- Addresses: police roles holding a class about people or places, in their areas; housing
-- providers their own homes.
CREATE FUNCTION app_police_sees_addresses() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN app_has_any_role(app_police_roles())
        AND app_classes() && '{markers,visits,risk_factors}';
END $$;
CREATE FUNCTION app_sees_addresses() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN app_is_system() OR app_police_sees_addresses()
        OR app_may('{housing}', 'own_properties');
END $$;
-- Scores: the risk_band class, on the addresses the actor sees.
CREATE FUNCTION app_sees_scores() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN app_is_system() OR (app_sees_addresses() AND app_classes() @> '{risk_band}'); END $$;

GRANT EXECUTE ON FUNCTION app_police_roles(), app_recorder_roles(), app_casework_roles(),
    app_analyst_roles(), app_planning_roles(), app_reads_markers(), app_writes_markers(),
    app_reads_visits(), app_writes_visits(), app_reads_incidents(), app_reads_county_lines(),
    app_reads_risk_factors(), app_writes_scores(), app_reads_sites(),
    app_reads_works_as_police(), app_reads_works(), app_police_sees_addresses(),
    app_sees_addresses(), app_sees_scores()
    TO hardening_app;

-- Row-level security on, forced (the owner too), and the migrating role's own policy.
CREATE FUNCTION app_protect(target regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS maintenance ON %s', target);
    EXECUTE format('CREATE POLICY maintenance ON %s TO %I USING (true) WITH CHECK (true)',
                   target, current_user);
END $$;
REVOKE ALL ON FUNCTION app_protect(regclass) FROM PUBLIC;

-- Start from nothing: every policy of the public schema goes, and is created again below.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT policyname, tablename FROM pg_policies WHERE schemaname = 'public' LOOP
        EXECUTE format('DROP POLICY %I ON %I', p.policyname, p.tablename);
    END LOOP;
END $$;

-- Organisations, agreements, users, tokens ----------------------------------------------
SELECT app_protect('organisations');
CREATE POLICY read_any_actor ON organisations FOR SELECT TO hardening_app
    USING ((SELECT app_is_system() OR app_user_id() IS NOT NULL));
CREATE POLICY write_admin ON organisations FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

SELECT app_protect('sharing_agreements');
CREATE POLICY own_org ON sharing_agreements FOR SELECT TO hardening_app
    USING (org_id = (SELECT app_org_id()) OR (SELECT app_is_system()));
CREATE POLICY write_admin ON sharing_agreements FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

SELECT app_protect('agreement_areas');
CREATE POLICY own_org ON agreement_areas FOR SELECT TO hardening_app
    USING (agreement_id IN (SELECT agreement_id FROM sharing_agreements));
CREATE POLICY write_admin ON agreement_areas FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

SELECT app_protect('users');
CREATE POLICY own_org ON users FOR SELECT TO hardening_app
    USING (org_id = (SELECT app_org_id()) OR (SELECT app_is_system()));
CREATE POLICY write_admin ON users FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

SELECT app_protect('api_tokens');
CREATE POLICY own_tokens ON api_tokens FOR ALL TO hardening_app
    USING (user_id = (SELECT app_user_id())
           OR (SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK (user_id = (SELECT app_user_id())
                OR (SELECT app_is_system() OR app_has_any_role('{admin}')));

SELECT app_protect('audit_log');
CREATE POLICY append ON audit_log FOR INSERT TO hardening_app
    WITH CHECK ((SELECT app_is_system() OR app_user_id() IS NOT NULL));
CREATE POLICY auditors ON audit_log FOR SELECT TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')));

SELECT app_protect('sample_dating');
CREATE POLICY read_all ON sample_dating FOR SELECT TO hardening_app USING (true);
CREATE POLICY system_all ON sample_dating FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));

SELECT app_protect('jobs');
CREATE POLICY own_jobs ON jobs FOR SELECT TO hardening_app
    USING (user_id = (SELECT app_user_id()));

-- Addresses and buildings -----------------------------------------------------------------
SELECT app_protect('addresses');
CREATE POLICY housing_own ON addresses FOR SELECT TO hardening_app
    USING (provider_org_id = (SELECT app_org_id())
           AND (SELECT app_may('{housing}', 'own_properties')));
CREATE POLICY police_area ON addresses FOR SELECT TO hardening_app
    USING ((SELECT app_police_sees_addresses()) AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY system_all ON addresses FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
CREATE POLICY analyst_write ON addresses FOR ALL TO hardening_app
    USING ((SELECT app_has_any_role(app_analyst_roles()))
           AND area_id = ANY((SELECT app_areas())::text[]))
    WITH CHECK ((SELECT app_has_any_role(app_analyst_roles()))
                AND area_id = ANY((SELECT app_areas())::text[]));

SELECT app_protect('buildings');
CREATE POLICY read_any_actor ON buildings FOR SELECT TO hardening_app
    USING ((SELECT app_is_system() OR app_user_id() IS NOT NULL));
CREATE POLICY write_analyst ON buildings FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role(app_analyst_roles())))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role(app_analyst_roles())));

-- Pre-counted squares: read only through SECURITY DEFINER functions (sql/012).
SELECT app_protect('address_cells');
SELECT app_protect('tile_squares');
SELECT app_protect('risk_cells');

-- Police information ----------------------------------------------------------------------
SELECT app_protect('incidents');
CREATE POLICY police_intel ON incidents FOR ALL TO hardening_app
    USING ((SELECT app_reads_incidents())
           AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_reads_incidents())
                AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])));

SELECT app_protect('county_lines');
CREATE POLICY police_intel ON county_lines FOR ALL TO hardening_app
    USING ((SELECT app_reads_county_lines())) WITH CHECK ((SELECT app_reads_county_lines()));
SELECT app_protect('county_line_status');
CREATE POLICY police_intel ON county_line_status FOR ALL TO hardening_app
    USING ((SELECT app_reads_county_lines())) WITH CHECK ((SELECT app_reads_county_lines()));

-- SAFE markers: police roles read their areas'; visit teams and admins record them.
SELECT app_protect('safe_markers');
CREATE POLICY markers ON safe_markers FOR ALL TO hardening_app
    USING ((SELECT app_reads_markers())
           AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_writes_markers())
                AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])));
SELECT app_protect('marker_reviews');
CREATE POLICY via_marker ON marker_reviews FOR ALL TO hardening_app
    USING (marker_id IN (SELECT marker_id FROM safe_markers))
    WITH CHECK (marker_id IN (SELECT marker_id FROM safe_markers));
SELECT app_protect('review_decisions');
CREATE POLICY reviewers ON review_decisions FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_has_any_role(app_police_roles()))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_has_any_role(app_casework_roles()))
                AND area_id = ANY((SELECT app_areas())::text[])));

-- Visits and what they put in place -------------------------------------------------------
SELECT app_protect('visits');
CREATE POLICY visit_teams ON visits FOR ALL TO hardening_app
    USING ((SELECT app_reads_visits())
           AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_writes_visits())
                AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])));
SELECT app_protect('protection_plans');
CREATE POLICY visit_teams ON protection_plans FOR ALL TO hardening_app
    USING ((SELECT app_reads_visits())
           AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_writes_visits())
                AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])));
SELECT app_protect('harm_reduction_items');
CREATE POLICY via_visit ON harm_reduction_items FOR ALL TO hardening_app
    USING (visit_id IN (SELECT visit_id FROM visits))
    WITH CHECK (visit_id IN (SELECT visit_id FROM visits));
SELECT app_protect('referrals');
CREATE POLICY visit_teams ON referrals FOR ALL TO hardening_app
    USING ((SELECT app_reads_visits())
           AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_writes_visits())
                AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])));
-- A partner sees and updates the referrals made to it in its agreement's areas, nothing else.
CREATE POLICY partner_own ON referrals FOR SELECT TO hardening_app
    USING (partner_org_id = (SELECT app_org_id()) AND (SELECT app_classes()) @> '{referrals}'
           AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY partner_update ON referrals FOR UPDATE TO hardening_app
    USING (partner_org_id = (SELECT app_org_id()) AND (SELECT app_classes()) @> '{referrals}'
           AND area_id = ANY((SELECT app_areas())::text[]))
    WITH CHECK (partner_org_id = (SELECT app_org_id())
                AND area_id = ANY((SELECT app_areas())::text[]));
SELECT app_protect('training_sessions');
CREATE POLICY police_area ON training_sessions FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(app_casework_roles(), 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may(app_casework_roles(), 'visits'))
                AND area_id = ANY((SELECT app_areas())::text[])));

-- Works: a provider sees and changes only its own; police analysts read their areas'.
SELECT app_protect('work_orders');
CREATE POLICY provider_own ON work_orders FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY police_read ON work_orders FOR SELECT TO hardening_app
    USING ((SELECT app_reads_works_as_police()) AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY system_all ON work_orders FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
SELECT app_protect('operatives');
CREATE POLICY provider_own ON operatives FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY police_read ON operatives FOR SELECT TO hardening_app
    USING ((SELECT app_reads_works_as_police()) AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY system_all ON operatives FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
SELECT app_protect('installed_measures');
CREATE POLICY provider_own ON installed_measures FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY police_read ON installed_measures FOR SELECT TO hardening_app
    USING ((SELECT app_reads_works_as_police()) AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY system_all ON installed_measures FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
SELECT app_protect('works_sla');
CREATE POLICY read_defaults ON works_sla FOR SELECT TO hardening_app
    USING (provider_org_id IS NULL OR provider_org_id = (SELECT app_org_id())
           OR (SELECT app_is_system()));
CREATE POLICY provider_own ON works_sla FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY system_all ON works_sla FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));

-- Cameras: readable under an agreement covering sites (in its areas, or outside every area);
-- written by their owner.
SELECT app_protect('cctv_sites');
CREATE POLICY read_sites ON cctv_sites FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_reads_sites())
           AND (area_id IS NULL OR area_id = ANY((SELECT app_areas())::text[]))));
CREATE POLICY write_sites ON cctv_sites FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR (owner_org_id = (SELECT app_org_id())
           AND (SELECT app_classes()) @> '{sites}'))
    WITH CHECK ((SELECT app_is_system()) OR (owner_org_id = (SELECT app_org_id())
                AND (SELECT app_classes()) @> '{sites}'));
SELECT app_protect('anpr_sites');
CREATE POLICY read_sites ON anpr_sites FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_reads_sites())
           AND (area_id IS NULL OR area_id = ANY((SELECT app_areas())::text[]))));
CREATE POLICY write_sites ON anpr_sites FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR (owner_org_id = (SELECT app_org_id())
           AND (SELECT app_classes()) @> '{sites}'))
    WITH CHECK ((SELECT app_is_system()) OR (owner_org_id = (SELECT app_org_id())
                AND (SELECT app_classes()) @> '{sites}'));

-- Plans -------------------------------------------------------------------------------------
SELECT app_protect('coverage_plans');
CREATE POLICY own_org ON coverage_plans FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR (org_id = (SELECT app_org_id())
           AND (SELECT app_has_any_role(app_planning_roles()))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR (org_id = (SELECT app_org_id())
                AND (SELECT app_has_any_role(app_planning_roles()))
                AND area_id = ANY((SELECT app_areas())::text[])));
SELECT app_protect('budget_plan_works');
CREATE POLICY system_all ON budget_plan_works FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
CREATE POLICY police_area ON budget_plan_works FOR ALL TO hardening_app
    USING ((SELECT app_has_any_role(app_analyst_roles()))
           AND area_id = ANY((SELECT app_areas())::text[]))
    WITH CHECK ((SELECT app_has_any_role(app_analyst_roles()))
                AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY provider_own ON budget_plan_works FOR SELECT TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY provider_raise ON budget_plan_works FOR UPDATE TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));

-- Risk --------------------------------------------------------------------------------------
-- A score is visible with the risk_band class wherever its address is (a correlated EXISTS: one
-- primary-key probe per score row, sql/010).
SELECT app_protect('risk_scores');
CREATE POLICY band ON risk_scores FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_classes()) @> '{risk_band}'
           AND EXISTS (SELECT 1 FROM addresses a WHERE a.uprn = risk_scores.uprn)));
CREATE POLICY scorers ON risk_scores FOR ALL TO hardening_app
    USING ((SELECT app_writes_scores())) WITH CHECK ((SELECT app_writes_scores()));
SELECT app_protect('risk_explanations');
CREATE POLICY factors ON risk_explanations FOR SELECT TO hardening_app
    USING ((SELECT app_reads_risk_factors())
           AND ((SELECT app_is_system()) OR area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY scorers ON risk_explanations FOR ALL TO hardening_app
    USING ((SELECT app_writes_scores())) WITH CHECK ((SELECT app_writes_scores()));
SELECT app_protect('risk_postcode_scores');
CREATE POLICY police_read ON risk_postcode_scores FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_has_any_role(app_police_roles())
           AND app_classes() && '{risk_band,risk_factors}')
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY scorers ON risk_postcode_scores FOR ALL TO hardening_app
    USING ((SELECT app_writes_scores())) WITH CHECK ((SELECT app_writes_scores()));

-- Re-scores the pages and API ask for, run by the worker as the system.
SELECT app_protect('rescore_requests');
CREATE POLICY system_all ON rescore_requests FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
CREATE POLICY ask ON rescore_requests FOR INSERT TO hardening_app
    WITH CHECK (requested_by = (SELECT app_user_id()) AND done_at IS NULL AND (
        (cause = 'visit'
         AND EXISTS (SELECT 1 FROM visits v WHERE v.visit_id = rescore_requests.object_id))
        OR (cause = 'measure'
            AND EXISTS (SELECT 1 FROM installed_measures m
                        WHERE m.installed_id = rescore_requests.object_id))));
