-- 013_site_dates: when each camera site came into service and when it was taken out, so the
-- yearly report can compare coverage at the start and the end of a year.
-- NULL means unknown: a site with no installed_on is taken as present from the start, one with
-- no removed_on as never removed (a 'removed' site with no date is simply absent).
-- Camera sites hold no personal data; their policies (002_security.sql) are unchanged.

ALTER TABLE cctv_sites
    ADD COLUMN installed_on date,
    ADD COLUMN removed_on   date,
    ADD CONSTRAINT cctv_sites_dates_in_order
        CHECK (installed_on IS NULL OR removed_on IS NULL OR removed_on >= installed_on);

ALTER TABLE anpr_sites
    ADD COLUMN installed_on date,
    ADD COLUMN removed_on   date,
    ADD CONSTRAINT anpr_sites_dates_in_order
        CHECK (installed_on IS NULL OR removed_on IS NULL OR removed_on >= installed_on);
