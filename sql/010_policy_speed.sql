-- 010: cheaper row-level security on hot paths (control-room look-ups).
-- SQL-language helpers were inlined and re-planned at every RLS table reference (~0.3 ms each);
-- as plpgsql they are planned once per session and called once per query via InitPlans.
CREATE OR REPLACE FUNCTION app_classes() RETURNS text[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT c), '{}')
            FROM sharing_agreements a, unnest(a.data_classes) AS c
            WHERE a.org_id = app_org_id() AND current_date BETWEEN a.starts_on AND a.ends_on);
END $$;

CREATE OR REPLACE FUNCTION app_areas() RETURNS text[] LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT aa.area_id), '{}')
            FROM sharing_agreements a JOIN agreement_areas aa USING (agreement_id)
            WHERE a.org_id = app_org_id() AND current_date BETWEEN a.starts_on AND a.ends_on);
END $$;

-- `uprn IN (SELECT uprn FROM addresses)` became a hashed subplan over every visible address;
-- a correlated EXISTS is one primary-key probe per score row.
ALTER POLICY band ON risk_scores
    USING ((SELECT app_is_system()) OR ((SELECT app_classes()) @> '{risk_band}'
           AND EXISTS (SELECT 1 FROM addresses a WHERE a.uprn = risk_scores.uprn)));
