-- 003: building footprints can carry a UPRN, so they sit under row-level security too:
-- readable by anyone acting, written by the system actor and analysts.
ALTER TABLE buildings ENABLE ROW LEVEL SECURITY;
ALTER TABLE buildings FORCE ROW LEVEL SECURITY;
DO $$ BEGIN
    EXECUTE format('CREATE POLICY maintenance ON buildings TO %I USING (true) WITH CHECK (true)',
                   current_user);
END $$;
CREATE POLICY read_any_actor ON buildings FOR SELECT TO hardening_app
    USING ((SELECT app_is_system() OR app_user_id() IS NOT NULL));
CREATE POLICY write_analyst ON buildings FOR ALL TO hardening_app
    USING ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')))
    WITH CHECK ((SELECT app_is_system() OR app_has_any_role('{analyst,admin}')));
