-- 008_visits: awareness training delivered to partners, for the yearly report.
-- Sessions and attendees are counts of professionals trained, not personal data about
-- subjects; they still follow the police roles' areas so each area reports its own.

CREATE TABLE training_sessions (
    session_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_id        text NOT NULL REFERENCES areas,
    delivered_on   date NOT NULL,
    partner_org_id text REFERENCES organisations,
    partner_type   text NOT NULL CHECK (partner_type IN ('nhs', 'fire', 'school', 'housing',
                       'probation', 'council', 'substance_misuse', 'voluntary', 'police',
                       'other')),
    topic          text NOT NULL CHECK (length(topic) BETWEEN 3 AND 200),
    attendees      integer NOT NULL CHECK (attendees > 0 AND attendees <= 1000),
    created_by     bigint REFERENCES users,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX training_sessions_area_day ON training_sessions (area_id, delivered_on);

ALTER TABLE training_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_sessions FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    EXECUTE format('CREATE POLICY maintenance ON training_sessions TO %I USING (true) '
                   'WITH CHECK (true)', current_user);
END $$;
CREATE POLICY police_area ON training_sessions FOR ALL TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_has_any_role(
            '{visit_team,analyst,admin}')) AND area_id = ANY((SELECT app_areas())::text[])))
    WITH CHECK ((SELECT app_is_system()) OR ((SELECT app_has_any_role(
            '{visit_team,analyst,admin}')) AND area_id = ANY((SELECT app_areas())::text[])));

-- Who-to-visit-next reads the latest visit per address and open plans.
CREATE INDEX visits_uprn_day ON visits (uprn, visited_on DESC);
CREATE INDEX protection_plans_uprn ON protection_plans (uprn) WHERE status = 'active';
CREATE INDEX referrals_visit ON referrals (visit_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON training_sessions TO hardening_app;
GRANT USAGE, SELECT ON SEQUENCE training_sessions_session_id_seq TO hardening_app;
