-- 009_works: housing works SLA configuration and automatic escalation of open work orders.

-- Per-provider SLA: how long each priority may take, and which priority a risk band raises.
-- A NULL provider row is the default every provider falls back to.
CREATE TABLE works_sla (
    sla_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_org_id text REFERENCES organisations,
    priority        text NOT NULL CHECK (priority IN ('emergency', 'urgent', 'routine',
                        'planned')),
    hours           integer NOT NULL CHECK (hours > 0),
    band            text CHECK (band IN ('low', 'medium', 'high', 'very_high')),
    UNIQUE NULLS NOT DISTINCT (provider_org_id, priority),
    UNIQUE NULLS NOT DISTINCT (provider_org_id, band)
);
INSERT INTO works_sla (provider_org_id, priority, hours, band) VALUES
    (NULL, 'emergency', 24, NULL),
    (NULL, 'urgent', 7 * 24, 'very_high'),
    (NULL, 'routine', 28 * 24, 'high'),
    (NULL, 'planned', 90 * 24, 'medium');
-- 'low' has no row: planned as well (see hardening.works.sla).

ALTER TABLE works_sla ENABLE ROW LEVEL SECURITY;
ALTER TABLE works_sla FORCE ROW LEVEL SECURITY;
CREATE POLICY maintenance ON works_sla TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY read_defaults ON works_sla FOR SELECT TO hardening_app
    USING (provider_org_id IS NULL OR provider_org_id = (SELECT app_org_id())
           OR (SELECT app_is_system()));
CREATE POLICY provider_own ON works_sla FOR ALL TO hardening_app
    USING (provider_org_id = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))
    WITH CHECK (provider_org_id = (SELECT app_org_id())
                AND (SELECT app_may('{housing}', 'works')));
CREATE POLICY system_all ON works_sla FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
GRANT SELECT, INSERT, UPDATE, DELETE ON works_sla TO hardening_app;

ALTER TABLE work_orders
    ADD COLUMN escalated_at      timestamptz,
    ADD COLUMN escalation_reason text;

-- Escalation runs as the owner (SECURITY DEFINER): the police actor recording a marker or an
-- incident may not see, let alone update, a provider's orders under RLS. Open orders at the
-- address, at its block, or at any flat of the block become emergencies due within the
-- provider's emergency SLA (never pushed later), with a new version so stale edits fail.
-- Only live events escalate (a marker created in the last day, an incident of the last week):
-- back-filled history and re-loads of the sample town must not rewrite orders.
CREATE FUNCTION works_escalate(p_uprn bigint, p_reason text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer;
    blk bigint;
BEGIN
    IF p_uprn IS NULL THEN
        RETURN 0;
    END IF;
    SELECT coalesce(parent_uprn, CASE WHEN property_type = 'block' THEN uprn END) INTO blk
    FROM addresses WHERE uprn = p_uprn;
    UPDATE work_orders w SET
        priority = 'emergency',
        due_at = least(w.due_at, now() + make_interval(hours => coalesce(
            (SELECT s.hours FROM works_sla s WHERE s.priority = 'emergency'
               AND (s.provider_org_id = w.provider_org_id OR s.provider_org_id IS NULL)
             ORDER BY s.provider_org_id NULLS LAST LIMIT 1), 24))),
        escalated_at = now(),
        escalation_reason = p_reason,
        version = w.version + 1,
        updated_at = now()
    WHERE w.status IN ('requested', 'approved', 'scheduled')
      AND (w.uprn = p_uprn OR (blk IS NOT NULL AND (w.uprn = blk OR w.uprn IN
            (SELECT a.uprn FROM addresses a WHERE a.parent_uprn = blk))));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION works_escalate(bigint, text) FROM PUBLIC;

CREATE FUNCTION works_escalate_marker() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.status = 'active' AND NEW.created_at > now() - interval '1 day' THEN
        PERFORM works_escalate(NEW.uprn, 'marker:' || NEW.reason_category);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER works_escalate_marker AFTER INSERT ON safe_markers
    FOR EACH ROW EXECUTE FUNCTION works_escalate_marker();

CREATE FUNCTION works_escalate_incident() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.category IN ('cuckooing', 'threat_to_life') AND NEW.uprn IS NOT NULL
       AND NEW.occurred_at > now() - interval '7 days' THEN
        PERFORM works_escalate(NEW.uprn, 'incident:' || NEW.category);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER works_escalate_incident AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION works_escalate_incident();

-- An order raised where an alert already stands starts escalated (the same rule as above, seen
-- from the other side); the housing actor cannot read markers, so this runs as the owner too.
-- Orders imported with an old created_at (history, the sample town) stay as recorded.
CREATE FUNCTION works_alert_reason(p_uprn bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH here AS (
        SELECT a.uprn, coalesce(a.parent_uprn, CASE WHEN a.property_type = 'block'
               THEN a.uprn END) AS blk
        FROM addresses a WHERE a.uprn = p_uprn
    ), spots AS (
        SELECT uprn FROM here
        UNION SELECT blk FROM here WHERE blk IS NOT NULL
        UNION SELECT a.uprn FROM addresses a, here WHERE here.blk IS NOT NULL
              AND a.parent_uprn = here.blk AND here.uprn = here.blk
    )
    SELECT coalesce(
        (SELECT 'marker:' || m.reason_category FROM safe_markers m
         WHERE m.status = 'active' AND m.uprn IN (SELECT uprn FROM spots)
         ORDER BY m.created_at DESC LIMIT 1),
        (SELECT 'incident:' || i.category FROM incidents i
         WHERE i.category IN ('cuckooing', 'threat_to_life')
           AND i.occurred_at > now() - interval '90 days'
           AND i.uprn IN (SELECT uprn FROM spots)
         ORDER BY i.occurred_at DESC LIMIT 1))
$$;
REVOKE ALL ON FUNCTION works_alert_reason(bigint) FROM PUBLIC;

CREATE FUNCTION works_escalate_new_order() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    why text := works_alert_reason(NEW.uprn);
BEGIN
    IF why IS NOT NULL AND NEW.status IN ('requested', 'approved', 'scheduled')
       AND NEW.created_at > now() - interval '1 hour' THEN
        NEW.priority := 'emergency';
        NEW.due_at := least(NEW.due_at, now() + make_interval(hours => coalesce(
            (SELECT s.hours FROM works_sla s WHERE s.priority = 'emergency'
               AND (s.provider_org_id = NEW.provider_org_id OR s.provider_org_id IS NULL)
             ORDER BY s.provider_org_id NULLS LAST LIMIT 1), 24)));
        NEW.escalated_at := now();
        NEW.escalation_reason := why;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER works_escalate_new_order BEFORE INSERT ON work_orders
    FOR EACH ROW EXECUTE FUNCTION works_escalate_new_order();
