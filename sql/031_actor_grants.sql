-- 031_actor_grants: what the actor's agreements grant is worked out once per transaction.
--
-- app_classes() and app_areas() queried sharing_agreements (and agreement_areas) at every call:
-- a control-room look-up calls them as InitPlans of about a dozen policy references, measured
-- at 0.25-0.5 ms each, a third of the statement. The one writer of the actor
-- (auth_record_actor) now also records the classes and areas the actor's organisation holds
-- today, beside the actor in auth_context; the two helpers read that row like app_org_id().
-- A change to agreements or their areas in the same transaction works the grants out again
-- (the triggers below), so a transaction sees its own changes as before. A change committed by
-- another session applies from this session's next transaction (each request is one).

ALTER TABLE auth_context ADD COLUMN classes text[] NOT NULL DEFAULT '{}',
    ADD COLUMN areas text[] NOT NULL DEFAULT '{}';

-- The rules of 022: agreements in force today (started, not ended, not overdue for review).
CREATE FUNCTION auth_grants(p_org_id text, OUT classes text[], OUT areas text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT array_agg(DISTINCT c) FROM sharing_agreements a,
                            unnest(a.data_classes) AS c
                     WHERE a.org_id = p_org_id AND current_date >= a.starts_on
                       AND current_date <= a.ends_on AND current_date <= a.review_on), '{}'),
           coalesce((SELECT array_agg(DISTINCT aa.area_id)
                     FROM sharing_agreements a JOIN agreement_areas aa USING (agreement_id)
                     WHERE a.org_id = p_org_id AND current_date >= a.starts_on
                       AND current_date <= a.ends_on AND current_date <= a.review_on), '{}')
$$;
REVOKE ALL ON FUNCTION auth_grants(text) FROM PUBLIC;

-- As 026, with the grants.
CREATE OR REPLACE FUNCTION auth_record_actor(p_user users, p_system boolean,
                                             p_purpose text DEFAULT NULL)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO auth_context (pid, xact_start, user_id, org_id, roles, username, is_system,
                              purpose, classes, areas)
    SELECT pg_backend_pid(), now(), p_user.user_id, p_user.org_id,
           coalesce(p_user.roles, '{}'), coalesce(p_user.username, 'system'), p_system,
           p_purpose, g.classes, g.areas
    FROM auth_grants(p_user.org_id) g
    ON CONFLICT (pid) DO UPDATE SET xact_start = EXCLUDED.xact_start,
        user_id = EXCLUDED.user_id, org_id = EXCLUDED.org_id, roles = EXCLUDED.roles,
        username = EXCLUDED.username, is_system = EXCLUDED.is_system,
        purpose = EXCLUDED.purpose, classes = EXCLUDED.classes, areas = EXCLUDED.areas
$$;

-- Same signatures, STABLE; now like app_org_id(): one primary-key read, no agreement query.
CREATE OR REPLACE FUNCTION app_classes() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT coalesce((SELECT c.classes FROM public.auth_context c
                     WHERE c.pid = pg_catalog.pg_backend_pid()
                       AND c.xact_start = pg_catalog.now()), '{}')
$$;

CREATE OR REPLACE FUNCTION app_areas() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED AS $$
    SELECT coalesce((SELECT c.areas FROM public.auth_context c
                     WHERE c.pid = pg_catalog.pg_backend_pid()
                       AND c.xact_start = pg_catalog.now()), '{}')
$$;

-- This transaction changed agreements or their areas: its actor's grants follow at once.
CREATE FUNCTION auth_grants_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE auth_context c
    SET (classes, areas) = (SELECT g.classes, g.areas FROM auth_grants(c.org_id) g)
    WHERE c.pid = pg_backend_pid() AND c.xact_start = now();
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION auth_grants_changed() FROM PUBLIC;

CREATE TRIGGER auth_grants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON sharing_agreements FOR EACH STATEMENT EXECUTE FUNCTION auth_grants_changed();
CREATE TRIGGER auth_grants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON agreement_areas FOR EACH STATEMENT EXECUTE FUNCTION auth_grants_changed();
