-- 022_read_boundaries: what an agreement grants, and where (issue 16, item 6).
--
-- 1. An agreement grants nothing once it is past its end date or overdue for review (the day
--    after `review_on`): app_classes() and app_areas() read only agreements in force today.
--    Same signatures, plpgsql, STABLE and the app_org_id() call as 010 (the policies' InitPlans
--    call them once per query).
-- 2. A partner sees and updates the referrals made to it in its agreement's areas only (it saw
--    them in every area).
-- 3. Training sessions follow the agreement like the other policies: the roles that recorded
--    them, holding the `visits` class, in their areas (a role name alone granted them to a
--    health partner whose agreement covers referrals only).

CREATE OR REPLACE FUNCTION app_classes() RETURNS text[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT c), '{}')
            FROM sharing_agreements a, unnest(a.data_classes) AS c
            WHERE a.org_id = app_org_id() AND current_date >= a.starts_on
              AND current_date <= a.ends_on AND current_date <= a.review_on);
END $$;

CREATE OR REPLACE FUNCTION app_areas() RETURNS text[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT aa.area_id), '{}')
            FROM sharing_agreements a JOIN agreement_areas aa USING (agreement_id)
            WHERE a.org_id = app_org_id() AND current_date >= a.starts_on
              AND current_date <= a.ends_on AND current_date <= a.review_on);
END $$;

ALTER POLICY partner_own ON referrals
    USING (partner_org_id = (SELECT app_org_id()) AND (SELECT app_classes()) @> '{referrals}'
           AND area_id = ANY((SELECT app_areas())::text[]));
ALTER POLICY partner_update ON referrals
    USING (partner_org_id = (SELECT app_org_id()) AND (SELECT app_classes()) @> '{referrals}'
           AND area_id = ANY((SELECT app_areas())::text[]))
    WITH CHECK (partner_org_id = (SELECT app_org_id())
                AND area_id = ANY((SELECT app_areas())::text[]));

ALTER POLICY police_area ON training_sessions
    USING ((SELECT app_is_system()) OR ((SELECT app_may('{visit_team,analyst,admin}', 'visits'))
           AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_may('{visit_team,analyst,admin}',
           'visits')) AND area_id = ANY((SELECT app_areas())::text[])));
