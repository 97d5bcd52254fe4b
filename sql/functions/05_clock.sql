-- The time by which loa decides: a campaign's start and end, the sending window, leases,
-- expiry, the frequency cap, the local day of a quota. Every function and statement that
-- decides by time uses loa_now(), never now(), so that a test can run the calendar ahead
-- (core/clock.h): only a daemon or CLI started with LOA_TEST_CLOCK gives its sessions the
-- setting loa.clock_offset; everywhere else it is unset and loa_now() is now(). A plain SQL
-- expression of STABLE functions, so the planner inlines it: now() and one lookup of a setting.
CREATE OR REPLACE FUNCTION loa_now() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() + COALESCE(NULLIF(current_setting('loa.clock_offset', true), '')::interval, interval '0')
$$;
