-- 020_works_standing_alerts: open orders where an alert already stands are escalated too.
--
-- The triggers of 009 escalate on live events only: a marker created in the last day, an
-- incident of the last week, an order created in the last hour. An open order whose alert was
-- recorded earlier than those windows, or that was loaded with its history (a repairs system's
-- import, the sample town), never escalated: a provider saw 67 of 76 open orders overdue and
-- not one flagged although active SAFE markers stood at some of their addresses. The same rule
-- (works_alert_reason: an active marker, or a cuckooing / threat-to-life incident of the last
-- 90 days, at the address, its block or a flat of the block) now also runs as a sweep over a
-- provider's open orders, whatever their age and however overdue. An order escalated once
-- keeps its escalation; an overdue order keeps its (earlier) due date: it is late already.
CREATE FUNCTION works_escalate_standing(p_provider text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    IF p_provider IS NULL OR NOT ((SELECT app_is_system())
        OR (p_provider = (SELECT app_org_id()) AND (SELECT app_may('{housing}', 'works')))) THEN
        RETURN 0;  -- a provider sweeps its own orders only; nothing is said about others'
    END IF;
    WITH standing AS (
        SELECT w.work_order_id, works_alert_reason(w.uprn) AS why
        FROM work_orders w
        WHERE w.provider_org_id = p_provider AND w.escalated_at IS NULL
          AND w.status IN ('requested', 'approved', 'scheduled', 'in_progress', 'no_access')
    )
    UPDATE work_orders w SET
        priority = 'emergency',
        due_at = least(w.due_at, now() + make_interval(hours => coalesce(
            (SELECT s.hours FROM works_sla s WHERE s.priority = 'emergency'
               AND (s.provider_org_id = w.provider_org_id OR s.provider_org_id IS NULL)
             ORDER BY s.provider_org_id NULLS LAST LIMIT 1), 24))),
        escalated_at = now(),
        escalation_reason = standing.why,
        version = w.version + 1,
        updated_at = now()
    FROM standing
    WHERE w.work_order_id = standing.work_order_id AND standing.why IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION works_escalate_standing(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION works_escalate_standing(text) TO hardening_app;
