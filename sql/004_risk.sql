-- 004_risk: what the risk engine needs beyond 001's risk_models / risk_scores / risk_explanations.
--
-- * risk_runs: one row per scoring run (full or incremental): the model, the units, the time the
--   factors were computed as of, and the factors whose data was absent. No personal data.
-- * risk_postcode_scores: scores of postcode units (Code-Point locations), which cannot go in
--   risk_scores (its uprn references addresses). Public police.uk data makes them impersonal,
--   but scores may also draw on intelligence, so they follow the police roles' areas like the
--   factor detail does.

CREATE TABLE risk_runs (
    run_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_version  text NOT NULL REFERENCES risk_models,
    units          text NOT NULL CHECK (units IN ('addresses', 'postcodes')),
    mode           text NOT NULL CHECK (mode IN ('full', 'incremental')),
    area_id        text REFERENCES areas,          -- NULL: every area the actor could see
    as_of          timestamptz NOT NULL,
    computed_at    timestamptz NOT NULL DEFAULT now(),
    cause          jsonb NOT NULL DEFAULT '{}',    -- incremental: {"incident": 123}
    scored         integer NOT NULL CHECK (scored >= 0),
    absent_factors text[] NOT NULL DEFAULT '{}',
    seconds        double precision
);
CREATE INDEX risk_runs_model ON risk_runs (model_version, units, computed_at DESC);

CREATE TABLE risk_postcode_scores (
    postcode      text NOT NULL REFERENCES postcode_units,
    model_version text NOT NULL REFERENCES risk_models,
    score         double precision NOT NULL CHECK (score >= 0 AND score <= 100),
    band          text NOT NULL CHECK (band IN ('low', 'medium', 'high', 'very_high')),
    contributions jsonb NOT NULL DEFAULT '{}',
    computed_at   timestamptz NOT NULL DEFAULT now(),
    area_id       text REFERENCES areas,
    PRIMARY KEY (postcode, model_version)
);
CREATE INDEX risk_postcode_scores_area ON risk_postcode_scores (area_id);

ALTER TABLE risk_postcode_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE risk_postcode_scores FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    EXECUTE format('CREATE POLICY maintenance ON risk_postcode_scores TO %I USING (true) '
                   'WITH CHECK (true)', current_user);
END $$;
CREATE POLICY police_read ON risk_postcode_scores FOR SELECT TO hardening_app
    USING ((SELECT app_is_system()) OR ((SELECT app_has_any_role(
            '{control_room,visit_team,analyst,admin}') AND app_classes() && '{risk_band,risk_factors}')
           AND area_id = ANY((SELECT app_areas())::text[])));
CREATE POLICY system_all ON risk_postcode_scores FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')));

GRANT SELECT, INSERT, UPDATE, DELETE ON risk_runs, risk_postcode_scores TO hardening_app;
