-- The extension installs into schema inventory and tells psql what it is.
CREATE EXTENSION inventory_reservation;
SELECT extname, extversion, extrelocatable, nspname
  FROM pg_extension JOIN pg_namespace n ON n.oid = extnamespace
 WHERE extname = 'inventory_reservation';
\dv inventory.*
\dt inventory.*
-- Every function, with its arguments as a psql user sees them. None is STRICT.
\x on
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments, pg_get_function_result(p.oid) AS returns,
       p.provolatile, p.proisstrict
  FROM pg_proc p WHERE p.pronamespace = 'inventory'::regnamespace ORDER BY 1, 2;
\x off
