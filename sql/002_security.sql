-- 002_security: who may see what, enforced by PostgreSQL row-level security.
--
-- Every request runs in one transaction that first sets app.user_id, app.org_id and app.roles
-- (transaction-scoped). Policies below read them through the app_* functions; a transaction
-- without an actor sees nothing. The system actor (no user, role admin) is what importers and
-- the sample loader act as. Everything else flows from the actor's organisation's *active*
-- sharing agreements: the data classes they name and the areas they cover.

CREATE FUNCTION app_user_id() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.user_id', true), '')::bigint $$;

CREATE FUNCTION app_org_id() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.org_id', true), '') $$;

CREATE FUNCTION app_roles() RETURNS text[] LANGUAGE sql STABLE AS
$$ SELECT coalesce(string_to_array(nullif(current_setting('app.roles', true), ''), ','), '{}') $$;

CREATE FUNCTION app_is_system() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT app_user_id() IS NULL AND 'admin' = ANY(app_roles()) $$;

CREATE FUNCTION app_has_any_role(wanted text[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT app_user_id() IS NOT NULL AND app_roles() && wanted $$;

-- Data classes and areas granted to the actor's organisation today.
CREATE FUNCTION app_classes() RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT c), '{}')
    FROM sharing_agreements a, unnest(a.data_classes) AS c
    WHERE a.org_id = app_org_id() AND current_date BETWEEN a.starts_on AND a.ends_on
$$;

CREATE FUNCTION app_areas() RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT aa.area_id), '{}')
    FROM sharing_agreements a JOIN agreement_areas aa USING (agreement_id)
    WHERE a.org_id = app_org_id() AND current_date BETWEEN a.starts_on AND a.ends_on
$$;

-- One predicate for the common case: a role of the actor, a class of their agreement, a row in
-- their areas. Policies call it as a scalar subquery per table so it is computed once per query.
CREATE FUNCTION app_may(wanted_roles text[], wanted_class text) RETURNS boolean
LANGUAGE sql STABLE AS
$$ SELECT app_has_any_role(wanted_roles) AND wanted_class = ANY(app_classes()) $$;

GRANT EXECUTE ON FUNCTION app_user_id(), app_org_id(), app_roles(), app_is_system(),
    app_has_any_role(text[]), app_classes(), app_areas(), app_may(text[], text)
    TO hardening_app;

-- Retention reviews of markers, visits and protection plans.
CREATE TABLE review_decisions (
    decision_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object_type  text NOT NULL CHECK (object_type IN ('safe_marker', 'visit', 'protection_plan')),
    object_id    bigint NOT NULL,
    decision     text NOT NULL CHECK (decision IN ('retain', 'delete')),
    reason       text NOT NULL CHECK (length(reason) >= 3),
    next_review  date,
    decided_by   bigint REFERENCES users,
    decided_at   timestamptz NOT NULL DEFAULT now(),
    area_id      text REFERENCES areas,
    CHECK ((decision = 'retain') = (next_review IS NOT NULL))
);
GRANT SELECT, INSERT ON review_decisions TO hardening_app;

ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_expiry CHECK (expires_at > created_at);

-- Audit log: append-only for the application, each row chained to the previous one by hash.
ALTER TABLE audit_log ADD COLUMN chain_seq bigint UNIQUE;
ALTER TABLE audit_log ADD CONSTRAINT audit_needs_reason CHECK (
    action NOT IN ('consultation', 'disclosure') OR length(trim(justification)) >= 3);
ALTER TABLE audit_log ADD CONSTRAINT audit_disclosure_recipient CHECK (
    action <> 'disclosure' OR recipient IS NOT NULL);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM hardening_app;

CREATE FUNCTION audit_row_hash(r audit_log) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|', r.chain_seq,
        to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), r.actor_user_id,
        r.actor_org_id, r.action, r.object_type, r.object_id, r.justification, r.recipient,
        r.details::text, coalesce(r.prev_hash, 'genesis')), 'UTF8')), 'hex')
$$;

-- SECURITY DEFINER: the chain must see the newest row whoever writes. The advisory lock
-- serialises writers until commit, so chain order is commit order.
CREATE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    last audit_log;
BEGIN
    PERFORM pg_advisory_xact_lock(727002);
    SELECT * INTO last FROM audit_log ORDER BY chain_seq DESC NULLS LAST LIMIT 1;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := last.row_hash;
    NEW.at := date_trunc('microseconds', clock_timestamp());
    NEW.actor_user_id := app_user_id();
    NEW.actor_org_id := app_org_id();
    NEW.row_hash := audit_row_hash(NEW);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_chain();

-- Authentication happens before an actor exists: these definer functions are the only way the
-- application reads password and token hashes.
CREATE FUNCTION auth_user_for_login(p_username text)
RETURNS TABLE (user_id bigint, org_id text, roles text[], password_hash text, active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT user_id, org_id, roles, password_hash, active FROM users WHERE username = p_username
$$;

CREATE FUNCTION auth_user_for_token(p_token_hash text)
RETURNS TABLE (user_id bigint, org_id text, roles text[], username text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.user_id, u.org_id, u.roles, u.username
    FROM api_tokens t JOIN users u USING (user_id)
    WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL AND t.expires_at > now()
      AND u.active
$$;
REVOKE ALL ON FUNCTION auth_user_for_login(text), auth_user_for_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_for_login(text), auth_user_for_token(text) TO hardening_app;

REVOKE SELECT ON users FROM hardening_app;
GRANT SELECT (user_id, org_id, username, display_name, roles, active, created_at)
    ON users TO hardening_app;

-- Enable + force RLS everywhere organisation-owned or personal data lives. The migrating role
-- keeps full access (it runs migrations and the definer functions above).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['organisations', 'sharing_agreements', 'agreement_areas', 'users',
        'api_tokens', 'addresses', 'incidents', 'county_lines', 'county_line_status', 'visits',
        'safe_markers', 'marker_reviews', 'protection_plans', 'referrals', 'harm_reduction_items',
        'installed_measures', 'operatives', 'work_orders', 'cctv_sites', 'anpr_sites',
        'risk_scores', 'risk_explanations', 'audit_log', 'review_decisions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO %I USING (true) WITH CHECK (true)',
                       t, current_user);
    END LOOP;
END $$;

-- Short names for the role sets the policies use.
-- police_roles: control_room, visit_team, analyst, admin

CREATE POLICY read_any_actor ON organisations FOR SELECT TO hardening_app
    USING ((SELECT app_is_system() OR app_user_id() IS NOT NULL));
CREATE POLICY write_admin ON organisations FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

CREATE POLICY own_org ON sharing_agreements FOR SELECT TO hardening_app
    USING (org_id = (SELECT app_org_id()) OR (SELECT app_is_system()));
CREATE POLICY write_admin ON sharing_agreements FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));
CREATE POLICY own_org ON agreement_areas FOR SELECT TO hardening_app
    USING (agreement_id IN (SELECT agreement_id FROM sharing_agreements));
CREATE POLICY write_admin ON agreement_areas FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

CREATE POLICY own_org ON users FOR SELECT TO hardening_app
    USING (org_id = (SELECT app_org_id()) OR (SELECT app_is_system()));
CREATE POLICY write_admin ON users FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{admin}')));

CREATE POLICY own_tokens ON api_tokens FOR ALL TO hardening_app
    USING (user_id = (SELECT app_user_id()) OR (SELECT app_is_system()
           OR app_has_any_role('{admin}')))
    WITH CHECK (user_id = (SELECT app_user_id()) OR (SELECT app_is_system()
           OR app_has_any_role('{admin}')));

-- Addresses: housing staff see their own homes; police roles see their areas' addresses.
CREATE POLICY housing_own ON addresses FOR SELECT TO hardening_app
    USING (provider_org_id = (SELECT app_org_id())
           AND (SELECT app_may('{housing}', 'own_properties')));
CREATE POLICY police_area ON addresses FOR SELECT TO hardening_app
    USING ((SELECT app_has_any_role('{control_room,visit_team,analyst,admin}')
            AND app_classes() && '{markers,visits,risk_factors}')
           AND area_id = ANY((SELECT app_areas())::text[]));
CREATE POLICY system_all ON addresses FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
CREATE POLICY analyst_write ON addresses FOR ALL TO hardening_app
    USING ((SELECT app_has_any_role('{analyst,admin}')) AND area_id = ANY((SELECT app_areas())::text[]))
    WITH CHECK ((SELECT app_has_any_role('{analyst,admin}'))
                AND area_id = ANY((SELECT app_areas())::text[]));

-- Police information: incidents, intelligence and county lines.
CREATE POLICY police_intel ON incidents FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(
            '{control_room,visit_team,analyst,admin}', 'intelligence'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may(
            '{control_room,visit_team,analyst,admin}', 'intelligence'))
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY police_intel ON county_lines FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_may('{visit_team,analyst,admin}', 'intelligence')))
    WITH CHECK ((SELECT app_is_system() OR app_may('{visit_team,analyst,admin}', 'intelligence')));
CREATE POLICY police_intel ON county_line_status FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_may('{visit_team,analyst,admin}', 'intelligence')))
    WITH CHECK ((SELECT app_is_system() OR app_may('{visit_team,analyst,admin}', 'intelligence')));

-- Visits and what they put in place.
CREATE POLICY visit_teams ON visits FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(
            '{visit_team,control_room,analyst,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may('{visit_team,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY visit_teams ON protection_plans FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(
            '{visit_team,control_room,analyst,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may('{visit_team,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY via_visit ON harm_reduction_items FOR ALL TO hardening_app
    USING (visit_id IN (SELECT visit_id FROM visits))
    WITH CHECK (visit_id IN (SELECT visit_id FROM visits));
CREATE POLICY visit_teams ON referrals FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(
            '{visit_team,control_room,analyst,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may('{visit_team,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])));
-- A partner sees and updates the referrals made to it, nothing else.
CREATE POLICY partner_own ON referrals FOR SELECT TO hardening_app
    USING (partner_org_id = (SELECT app_org_id()) AND (SELECT app_classes()) @> '{referrals}');
CREATE POLICY partner_update ON referrals FOR UPDATE TO hardening_app
    USING (partner_org_id = (SELECT app_org_id()) AND (SELECT app_classes()) @> '{referrals}')
    WITH CHECK (partner_org_id = (SELECT app_org_id()));

-- SAFE markers: the control room sees them all in its areas; visit teams create them.
CREATE POLICY markers ON safe_markers FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(
            '{control_room,visit_team,analyst,admin}', 'markers'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may('{visit_team,admin}', 'markers'))
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY via_marker ON marker_reviews FOR ALL TO hardening_app
    USING (marker_id IN (SELECT marker_id FROM safe_markers))
    WITH CHECK (marker_id IN (SELECT marker_id FROM safe_markers));
CREATE POLICY reviewers ON review_decisions FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_has_any_role(
            '{visit_team,control_room,analyst,admin}'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_has_any_role(
            '{visit_team,analyst,admin}')) AND area_id = ANY((SELECT app_areas())::text[])));

-- Works: a provider sees and changes only its own; police analysts read their areas'.
CREATE POLICY provider_own ON work_orders FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY provider_own ON operatives FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY provider_own ON installed_measures FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['work_orders', 'operatives', 'installed_measures'] LOOP
        EXECUTE format($p$CREATE POLICY police_read ON %I FOR SELECT TO hardening_app
            USING ((SELECT app_has_any_role('{analyst,admin}') AND app_classes() @> '{works}')
                   AND area_id = ANY((SELECT app_areas())::text[])) $p$, t);
        EXECUTE format($p$CREATE POLICY system_all ON %I FOR ALL TO hardening_app
            USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system())) $p$, t);
    END LOOP;
END $$;

-- Camera sites hold no personal data: readable with the 'sites' class in the actor's areas (or
-- any area for planners); written by their owner or an admin.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['cctv_sites', 'anpr_sites'] LOOP
        EXECUTE format($p$CREATE POLICY read_sites ON %I FOR SELECT TO hardening_app
            USING ((SELECT app_is_system()) OR ((SELECT app_user_id() IS NOT NULL
                   AND app_classes() && '{sites,aggregates_only}')
                   AND (area_id IS NULL OR area_id = ANY((SELECT app_areas())::text[])))) $p$, t);
        EXECUTE format($p$CREATE POLICY write_sites ON %I FOR ALL TO hardening_app
            USING ((SELECT app_is_system()) OR (owner_org_id = (SELECT app_org_id())
                   AND (SELECT app_classes()) @> '{sites}'))
            WITH CHECK ((SELECT app_is_system()) OR (owner_org_id = (SELECT app_org_id())
                   AND (SELECT app_classes()) @> '{sites}')) $p$, t);
    END LOOP;
END $$;

-- Risk: the band follows the address's visibility; factor detail only for police roles.
CREATE POLICY band ON risk_scores FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_classes()) @> '{risk_band}'
           AND uprn IN (SELECT uprn FROM addresses)));
CREATE POLICY system_all ON risk_scores FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')));
CREATE POLICY factors ON risk_explanations FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_may(
            '{control_room,visit_team,analyst,admin}', 'risk_factors'))
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY system_all ON risk_explanations FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')));

-- Audit: anyone acting may append; only admins (auditors) read.
CREATE POLICY append ON audit_log FOR INSERT TO hardening_app
    WITH CHECK ((SELECT app_is_system() OR app_user_id() IS NOT NULL));
CREATE POLICY auditors ON audit_log FOR SELECT TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{admin}')));
