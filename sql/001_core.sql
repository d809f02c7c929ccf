-- 001_core: the whole domain's tables. Geometry is stored in British National Grid (EPSG:27700).
-- Row-level security policies arrive with the access-control migration; every large table
-- carries area_id so it can be partitioned or distributed by force area later.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The application role: not the owner, not superuser, cannot bypass RLS.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hardening_app') THEN
        CREATE ROLE hardening_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END $$;

-- True when g is usable BNG geometry: non-empty, valid, finite and inside the grid's extent.
-- NaN sorts above every number in PostgreSQL, so the upper bounds also reject NaN.
CREATE FUNCTION bng_geometry_ok(g geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT g IS NULL OR (
        ST_SRID(g) = 27700
        AND NOT ST_IsEmpty(g)
        AND ST_XMin(g) >= 0 AND ST_XMax(g) <= 700000
        AND ST_YMin(g) >= 0 AND ST_YMax(g) <= 1300000
        AND ST_IsValid(g)
    )
$$;

CREATE TABLE areas (
    area_id     text PRIMARY KEY CHECK (area_id ~ '^[a-z0-9-]+$'),
    name        text NOT NULL UNIQUE,
    geom        geometry(MultiPolygon, 27700) NOT NULL CHECK (bng_geometry_ok(geom))
);
CREATE INDEX areas_geom_gist ON areas USING gist (geom);

CREATE TABLE organisations (
    org_id      text PRIMARY KEY CHECK (org_id ~ '^[a-z0-9-]+$'),
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('police', 'housing_provider', 'council', 'health',
                    'fire', 'probation', 'substance_misuse', 'school', 'voluntary', 'other'))
);

CREATE TABLE sharing_agreements (
    agreement_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organisations,
    title        text NOT NULL,
    data_classes text[] NOT NULL CHECK (data_classes <@ ARRAY['own_properties', 'risk_band',
                    'risk_factors', 'markers', 'visits', 'referrals', 'intelligence',
                    'aggregates_only', 'works', 'sites']::text[]),
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    review_on    date NOT NULL,
    CHECK (ends_on >= starts_on),
    UNIQUE (org_id, title)
);

CREATE TABLE agreement_areas (
    agreement_id bigint NOT NULL REFERENCES sharing_agreements ON DELETE CASCADE,
    area_id      text NOT NULL REFERENCES areas,
    PRIMARY KEY (agreement_id, area_id)
);

CREATE TABLE users (
    user_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id        text NOT NULL REFERENCES organisations,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    roles         text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['control_room',
                      'visit_team', 'housing', 'planner', 'analyst', 'admin']::text[]),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    token_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users,
    token_hash  text NOT NULL UNIQUE,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE lsoas (
    lsoa_code   text PRIMARY KEY CHECK (lsoa_code ~ '^[EW]0[01][0-9]{6}$|^SX[0-9]{3}$'),
    name        text NOT NULL,
    imd_decile  smallint CHECK (imd_decile BETWEEN 1 AND 10),
    area_id     text REFERENCES areas,
    geom        geometry(MultiPolygon, 27700) NOT NULL CHECK (bng_geometry_ok(geom))
);
CREATE INDEX lsoas_geom_gist ON lsoas USING gist (geom);

-- IMD deciles arrive in their own file, keyed by LSOA code, sometimes before the polygons.
CREATE TABLE imd_deciles (
    lsoa_code   text PRIMARY KEY,
    imd_decile  smallint NOT NULL CHECK (imd_decile BETWEEN 1 AND 10)
);

CREATE TABLE postcode_units (
    postcode         text PRIMARY KEY CHECK (postcode ~ '^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$'),
    positional_quality smallint,
    admin_district   text,
    area_id          text REFERENCES areas,
    geom             geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(geom))
);
CREATE INDEX postcode_units_geom_gist ON postcode_units USING gist (geom);
CREATE INDEX postcode_units_area ON postcode_units (area_id);

CREATE TABLE addresses (
    uprn            bigint PRIMARY KEY CHECK (uprn > 0),
    parent_uprn     bigint REFERENCES addresses DEFERRABLE INITIALLY DEFERRED,
    area_id         text REFERENCES areas,
    full_address    text NOT NULL CHECK (length(full_address) BETWEEN 3 AND 300),
    sub_building    text,
    house_number    text,
    street          text,
    town            text,
    postcode        text,
    property_type   text NOT NULL CHECK (property_type IN ('house', 'bungalow', 'flat', 'block',
                        'hmo', 'supported', 'commercial', 'other')),
    tenure          text NOT NULL DEFAULT 'unknown' CHECK (tenure IN ('owner_occupied',
                        'private_rented', 'social_rented', 'supported', 'unknown')),
    provider_org_id text REFERENCES organisations,
    lsoa_code       text,
    source          text NOT NULL DEFAULT 'import',
    geom            geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(geom)),
    CHECK (parent_uprn IS NULL OR parent_uprn <> uprn)
);
CREATE INDEX addresses_geom_gist ON addresses USING gist (geom);
CREATE INDEX addresses_parent ON addresses (parent_uprn);
CREATE INDEX addresses_area ON addresses (area_id);
CREATE INDEX addresses_provider ON addresses (provider_org_id);
CREATE INDEX addresses_postcode ON addresses (postcode);
CREATE INDEX addresses_text_trgm ON addresses USING gin (full_address gin_trgm_ops);

CREATE TABLE buildings (
    building_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_ref  text NOT NULL UNIQUE,
    uprn        bigint REFERENCES addresses,
    area_id     text REFERENCES areas,
    geom        geometry(Polygon, 27700) NOT NULL CHECK (bng_geometry_ok(geom))
);
CREATE INDEX buildings_geom_gist ON buildings USING gist (geom);

CREATE TABLE transport_hubs (
    hub_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hub_key     text NOT NULL UNIQUE,          -- e.g. rail:ROO
    kind        text NOT NULL CHECK (kind IN ('rail_station', 'bus_station')),
    name        text NOT NULL,
    code        text,
    area_id     text REFERENCES areas,
    geom        geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(geom))
);
CREATE INDEX transport_hubs_geom_gist ON transport_hubs USING gist (geom);

CREATE TABLE roads (
    road_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_ref  text NOT NULL UNIQUE,           -- e.g. osm:1234#0 or sample:17
    name        text,
    ref         text,
    road_class  text NOT NULL CHECK (road_class IN ('motorway', 'trunk', 'primary', 'secondary',
                    'tertiary', 'residential', 'service', 'unclassified', 'other')),
    oneway      boolean NOT NULL DEFAULT false,
    area_id     text REFERENCES areas,
    geom        geometry(LineString, 27700) NOT NULL CHECK (bng_geometry_ok(geom))
);
CREATE INDEX roads_geom_gist ON roads USING gist (geom);

CREATE TABLE county_lines (
    line_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    area_id     text REFERENCES areas,
    origin      text,
    first_seen  date,
    last_seen   date
);

CREATE TABLE county_line_status (
    line_id     bigint NOT NULL REFERENCES county_lines ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('active', 'disrupted', 'closed')),
    valid_from  date NOT NULL,
    note        text,
    PRIMARY KEY (line_id, valid_from)
);

-- Incidents (police.uk crime, recorded events) and intelligence share one table: one place to
-- query for near-repeat and intensity; kind tells them apart for access control.
CREATE TABLE incidents (
    incident_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text NOT NULL,               -- police_uk, sample, visit, manual
    source_ref     text NOT NULL,
    kind           text NOT NULL DEFAULT 'incident' CHECK (kind IN ('incident', 'intelligence')),
    category       text NOT NULL CHECK (category IN ('cuckooing', 'exploitation', 'drug_dealing',
                       'drug_possession', 'threat_to_life', 'violence', 'weapons', 'asb',
                       'burglary', 'robbery', 'other_crime')),
    crime_type     text,                        -- the source's own label, e.g. police.uk "Drugs"
    occurred_at    timestamptz NOT NULL,
    time_precision text NOT NULL DEFAULT 'exact' CHECK (time_precision IN ('exact', 'day', 'month')),
    grading        text,                        -- e.g. 3x5x2 / 5x5x5 code for intelligence
    uprn           bigint REFERENCES addresses,
    location_text  text,
    lsoa_code      text,
    county_line_id bigint REFERENCES county_lines,
    outcome        text,
    area_id        text REFERENCES areas,
    geom           geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(geom)),
    UNIQUE (source, source_ref)
);
CREATE INDEX incidents_geom_gist ON incidents USING gist (geom);
CREATE INDEX incidents_time ON incidents (occurred_at);
CREATE INDEX incidents_uprn ON incidents (uprn);
CREATE INDEX incidents_area_time ON incidents (area_id, occurred_at);

CREATE TABLE visits (
    visit_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    area_id             text REFERENCES areas,
    uprn                bigint NOT NULL REFERENCES addresses,
    visited_on          date NOT NULL,
    team_org_id         text NOT NULL REFERENCES organisations,
    team_user_ids       bigint[] NOT NULL DEFAULT '{}',
    subject_ref         text NOT NULL CHECK (subject_ref ~ '^[A-Z0-9-]{4,32}$'),
    subject_type        text NOT NULL CHECK (subject_type IN ('class_a_user', 'street_dealer',
                            'house_dealer', 'cuckooed_occupant', 'other')),
    signs               text[] NOT NULL DEFAULT '{}' CHECK (signs <@ ARRAY['many_short_visits',
                            'unknown_cars', 'occupant_rarely_seen', 'possessions_missing', 'asb',
                            'odd_hour_deliveries']::text[]),
    occupant_vulnerable boolean NOT NULL DEFAULT false,
    calling_card        boolean NOT NULL DEFAULT false,
    outcome             text,
    intelligence_count  integer NOT NULL DEFAULT 0 CHECK (intelligence_count >= 0),
    intelligence_grading text,
    review_due          date,
    created_by          bigint REFERENCES users,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_uprn ON visits (uprn);
CREATE INDEX visits_area_date ON visits (area_id, visited_on);

CREATE TABLE safe_markers (
    marker_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uprn            bigint NOT NULL REFERENCES addresses,
    scope           text NOT NULL CHECK (scope IN ('address', 'block')),
    reason_category text NOT NULL CHECK (reason_category IN ('cuckooing', 'exploitation',
                        'threat_to_life', 'vulnerable_occupant', 'drug_supply', 'weapons', 'other')),
    grading_advice  text NOT NULL CHECK (length(grading_advice) BETWEEN 3 AND 2000),
    org_id          text NOT NULL REFERENCES organisations,
    author_user_id  bigint REFERENCES users,
    visit_id        bigint REFERENCES visits,
    created_at      timestamptz NOT NULL DEFAULT now(),
    review_due      date NOT NULL,
    expires_on      date,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    revoked_at      timestamptz,
    revoked_reason  text,
    version         integer NOT NULL DEFAULT 1,
    area_id         text REFERENCES areas,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX safe_markers_uprn ON safe_markers (uprn);
CREATE INDEX safe_markers_review ON safe_markers (review_due) WHERE status = 'active';

CREATE TABLE marker_reviews (
    review_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    marker_id      bigint NOT NULL REFERENCES safe_markers,
    reviewed_by    bigint REFERENCES users,
    reviewed_at    timestamptz NOT NULL DEFAULT now(),
    decision       text NOT NULL CHECK (decision IN ('retain', 'revoke')),
    reason         text NOT NULL CHECK (length(reason) >= 3),
    new_review_due date
);

CREATE TABLE protection_plans (
    plan_id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_id            bigint NOT NULL REFERENCES visits,
    uprn                bigint NOT NULL REFERENCES addresses,
    subject_ref         text NOT NULL,
    visit_cadence_days  integer NOT NULL CHECK (visit_cadence_days BETWEEN 1 AND 365),
    review_due          date NOT NULL,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    area_id             text REFERENCES areas,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE referrals (
    referral_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_id        bigint NOT NULL REFERENCES visits,
    partner_org_id  text NOT NULL REFERENCES organisations,
    service         text NOT NULL CHECK (service IN ('food_bank', 'mental_health',
                        'substance_misuse', 'adult_social_care', 'heating_grant', 'housing',
                        'other')),
    status          text NOT NULL DEFAULT 'made' CHECK (status IN ('made', 'accepted', 'engaged',
                        'closed')),
    outcome         text,
    made_on         date NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    area_id         text REFERENCES areas
);
CREATE INDEX referrals_partner ON referrals (partner_org_id);

CREATE TABLE harm_reduction_items (
    visit_id    bigint NOT NULL REFERENCES visits,
    item        text NOT NULL CHECK (item IN ('sharps_box', 'naloxone', 'nitazene_test_strips',
                    'clean_needles')),
    quantity    integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (visit_id, item)
);

-- Reference data: what a provider can fit, who can fit it, and which risk factor it changes.
CREATE TABLE measures_catalogue (
    measure_code     text PRIMARY KEY CHECK (measure_code ~ '^[a-z_]+$'),
    name             text NOT NULL,
    skill            text NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes > 0),
    typical_cost_pence integer NOT NULL CHECK (typical_cost_pence >= 0),
    scope            text NOT NULL CHECK (scope IN ('dwelling', 'block')),
    risk_factor      text NOT NULL,
    description      text NOT NULL
);

INSERT INTO measures_catalogue VALUES
    ('spy_hole', 'Spy hole (door viewer)', 'joiner', 30, 2500, 'dwelling', 'protection_door',
     'Lets the occupant see who is at the door before opening it.'),
    ('door_chain', 'Door chain / key chain', 'joiner', 30, 3000, 'dwelling', 'protection_door',
     'Lets the occupant open the door a little without letting anyone in.'),
    ('letterbox_guard', 'Letterbox guard', 'joiner', 20, 2000, 'dwelling', 'protection_door',
     'Stops items being passed or fished through the letterbox.'),
    ('door_replacement', 'Security door replacement (PAS 24)', 'joiner', 240, 90000, 'dwelling',
     'protection_door', 'A certified door and frame that resists forced entry.'),
    ('entry_system_repair', 'Communal entry system repair', 'electrician', 120, 35000, 'block',
     'protection_entry', 'Restores a working door-entry system so the block cannot be walked into.'),
    ('entry_system_fit', 'Communal entry system fit', 'electrician', 480, 250000, 'block',
     'protection_entry', 'Fits a door-entry system to a block that has none.'),
    ('cctv_repair', 'CCTV repair', 'cctv_engineer', 120, 40000, 'block', 'protection_cctv',
     'Brings a faulty camera covering the entrance back into service.'),
    ('lighting', 'External / communal lighting', 'electrician', 90, 30000, 'block',
     'protection_lighting', 'Lights entrances and walkways used after dark.'),
    ('warning_notice', 'Community protection warning notice', 'housing_officer', 60, 0,
     'dwelling', 'protection_notice', 'A formal warning served on people causing the harm.');

CREATE TABLE installed_measures (
    installed_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uprn            bigint NOT NULL REFERENCES addresses,
    measure_code    text NOT NULL REFERENCES measures_catalogue,
    installed_on    date NOT NULL,
    status          text NOT NULL DEFAULT 'working' CHECK (status IN ('working', 'faulty',
                        'removed')),
    provider_org_id text REFERENCES organisations,
    work_order_id   bigint,
    area_id         text REFERENCES areas,
    UNIQUE (uprn, measure_code)
);

CREATE TABLE operatives (
    operative_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_org_id text NOT NULL REFERENCES organisations,
    name            text NOT NULL,
    skills          text[] NOT NULL CHECK (cardinality(skills) > 0),
    work_start      time NOT NULL DEFAULT '08:00',
    work_end        time NOT NULL DEFAULT '16:00',
    working_days    smallint[] NOT NULL DEFAULT '{1,2,3,4,5}',  -- ISO weekdays
    area_id         text REFERENCES areas,
    base            geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(base)),
    CHECK (work_end > work_start),
    UNIQUE (provider_org_id, name)
);

CREATE TABLE work_orders (
    work_order_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_org_id    text NOT NULL REFERENCES organisations,
    uprn               bigint NOT NULL REFERENCES addresses,
    measure_code       text NOT NULL REFERENCES measures_catalogue,
    priority           text NOT NULL CHECK (priority IN ('emergency', 'urgent', 'routine',
                           'planned')),
    status             text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested',
                           'approved', 'scheduled', 'in_progress', 'completed', 'no_access',
                           'cancelled')),
    due_at             timestamptz NOT NULL,
    scheduled_start    timestamptz,
    scheduled_end      timestamptz,
    operative_id       bigint REFERENCES operatives,
    tenant_window_start time,
    tenant_window_end   time,
    cost_pence         integer CHECK (cost_pence >= 0),
    no_access_attempts integer NOT NULL DEFAULT 0 CHECK (no_access_attempts >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    version            integer NOT NULL DEFAULT 1,
    area_id            text REFERENCES areas,
    CHECK (scheduled_end IS NULL OR scheduled_end > scheduled_start)
);
CREATE INDEX work_orders_provider_status ON work_orders (provider_org_id, status);
CREATE INDEX work_orders_uprn ON work_orders (uprn);
ALTER TABLE installed_measures ADD FOREIGN KEY (work_order_id) REFERENCES work_orders;

CREATE TABLE cctv_sites (
    site_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,
    source_ref    text NOT NULL,
    name          text,
    owner_org_id  text REFERENCES organisations,
    bearing_deg   double precision NOT NULL CHECK (bearing_deg >= 0 AND bearing_deg < 360),
    fov_deg       double precision NOT NULL CHECK (fov_deg > 0 AND fov_deg <= 360),
    range_m       double precision NOT NULL CHECK (range_m > 0 AND range_m <= 1000),
    status        text NOT NULL DEFAULT 'working' CHECK (status IN ('working', 'faulty',
                      'planned', 'removed')),
    area_id       text REFERENCES areas,
    geom          geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(geom)),
    UNIQUE (source, source_ref)
);
CREATE INDEX cctv_sites_geom_gist ON cctv_sites USING gist (geom);

CREATE TABLE anpr_sites (
    site_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source        text NOT NULL,
    source_ref    text NOT NULL,
    name          text,
    owner_org_id  text REFERENCES organisations,
    road_id       bigint REFERENCES roads,
    road_name     text,
    direction     text,
    status        text NOT NULL DEFAULT 'working' CHECK (status IN ('working', 'faulty',
                      'planned', 'removed')),
    area_id       text REFERENCES areas,
    geom          geometry(Point, 27700) NOT NULL CHECK (bng_geometry_ok(geom)),
    UNIQUE (source, source_ref)
);
CREATE INDEX anpr_sites_geom_gist ON anpr_sites USING gist (geom);

CREATE TABLE risk_models (
    model_version text PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    params        jsonb NOT NULL,
    metrics       jsonb NOT NULL DEFAULT '{}',
    rationale     text,
    is_default    boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX risk_models_one_default ON risk_models (is_default) WHERE is_default;

CREATE TABLE risk_scores (
    uprn          bigint NOT NULL REFERENCES addresses,
    model_version text NOT NULL REFERENCES risk_models,
    score         double precision NOT NULL CHECK (score >= 0 AND score <= 100),
    band          text NOT NULL CHECK (band IN ('low', 'medium', 'high', 'very_high')),
    computed_at   timestamptz NOT NULL DEFAULT now(),
    area_id       text REFERENCES areas,
    PRIMARY KEY (uprn, model_version)
);
CREATE INDEX risk_scores_area ON risk_scores (area_id);

-- Factor contributions live apart from the band: they can be derived from intelligence, and
-- row-level security keeps them from partners who may only see the band (housing).
CREATE TABLE risk_explanations (
    uprn          bigint NOT NULL,
    model_version text NOT NULL,
    contributions jsonb NOT NULL,
    area_id       text REFERENCES areas,
    PRIMARY KEY (uprn, model_version),
    FOREIGN KEY (uprn, model_version) REFERENCES risk_scores ON DELETE CASCADE
);

-- DPA 2018 s.62 logging: hash chaining and append-only grants come with access control.
CREATE TABLE audit_log (
    audit_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint,
    actor_org_id   text,
    action         text NOT NULL CHECK (action IN ('collection', 'alteration', 'consultation',
                       'disclosure', 'combination', 'erasure')),
    object_type    text NOT NULL,
    object_id      text,
    justification  text,
    recipient      text,
    details        jsonb NOT NULL DEFAULT '{}',
    prev_hash      text,
    row_hash       text
);
CREATE INDEX audit_log_at ON audit_log (at);

GRANT USAGE ON SCHEMA public TO hardening_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hardening_app;
-- UPDATE lets bulk loads of generated data keep their ids and move the sequence past them.
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO hardening_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hardening_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO hardening_app;
