-- A per-campaign daily cap (`loa campaign create ... --daily-cap N`): at most N of the campaign's
-- messages reach a gateway in one local day (Asia/Ho_Chi_Minh, [policy] timezone); the rest wait
-- for the next day's window. NULL: no cap. campaign_daily_sent counts, per campaign and local day, the
-- messages that may have reached the citizen (submitted, delivered, in_doubt), kept by loa_flush
-- for campaigns with a cap only, and read by loa_lease (sql/functions/20_engine.sql) with the
-- campaign's messages leased at that moment.
ALTER TABLE campaigns ADD COLUMN daily_cap integer CHECK (daily_cap IS NULL OR daily_cap > 0);

CREATE TABLE campaign_daily_sent (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    day date NOT NULL,
    sent bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, day)
);
