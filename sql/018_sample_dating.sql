-- 018_sample_dating: the day the synthetic sample town was dated to when it was first loaded.
-- The generator writes the sample for a fixed reference day; `hardening sample load` moves every
-- date by whole weeks to the day it is loaded, so the town looks like a working week. The shift
-- is recorded here on the first load, and every later load reuses it: the sample's rows keep
-- their natural keys (county_line_status is keyed on a date) and re-loading changes nothing.
-- One row at most; it holds no personal data. Only the system actor (loaders) writes it.

CREATE TABLE sample_dating (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    reference_date date NOT NULL,                          -- the generator's fixed day
    shift_days     integer NOT NULL CHECK (shift_days % 7 = 0),
    loaded_on      date NOT NULL,                          -- the day of the first load
    loaded_at      timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE sample_dating ENABLE ROW LEVEL SECURITY;
ALTER TABLE sample_dating FORCE ROW LEVEL SECURITY;
CREATE POLICY maintenance ON sample_dating TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY read_all ON sample_dating FOR SELECT TO hardening_app USING (true);
CREATE POLICY system_all ON sample_dating FOR ALL TO hardening_app
    USING ((SELECT app_is_system())) WITH CHECK ((SELECT app_is_system()));
GRANT SELECT, INSERT, UPDATE, DELETE ON sample_dating TO hardening_app;
