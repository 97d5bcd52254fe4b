-- One message per phone number (issue 13): in rural communes one phone often serves a whole
-- household. per_phone = 'one' sends each phone number of a campaign's first step once, to the
-- member chosen by segment_household_order_sql() (segments/filter.c), and suppresses the others
-- with the reason "same phone as citizen N"; 'all' sends to every citizen as before.
-- Campaigns that exist already keep the behaviour they were created under ('all'); new ones
-- default to 'one'. same_phone counts the citizens so suppressed, kept by the materialisation
-- statement in the daemon (engine/scheduler.c), as targeted is.
ALTER TABLE campaigns
    ADD COLUMN per_phone text NOT NULL DEFAULT 'all' CHECK (per_phone IN ('one', 'all')),
    ADD COLUMN same_phone bigint NOT NULL DEFAULT 0;
ALTER TABLE campaigns ALTER COLUMN per_phone SET DEFAULT 'one';
