-- inventory_reservation 0.9.0 -> 0.10.0 (ALTER EXTENSION inventory_reservation UPDATE).
-- PostgreSQL 16, 17 and 18; see CHANGELOG.md. The schema does not change: the library builds
-- for each major, and only the WARNING that CREATE EXTENSION prints without the preload
-- names a pg_cron schedule that every pg_cron takes. Tested in
-- tests/integration/tests/upgrade.rs against a fresh install of 0.10.0.

\echo Use "ALTER EXTENSION inventory_reservation UPDATE" to load this file. \quit
