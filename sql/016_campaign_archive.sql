-- Archiving a finished campaign (`loa campaign archive`, campaigns/archive.c): its partition of
-- messages is detached from the live table and attached to archive.messages, so that the live
-- table and its indexes stay the size of the campaigns still running, across years of
-- campaigns, while the archived rows stay readable (messages_all, sql/functions/60_archive.sql)
-- and the campaign's counters (campaign_counters) are not touched.
--
-- archive.messages has the columns of messages, in the same order and with the same types: a
-- later migration that changes messages changes archive.messages the same way. It has no
-- indexes and no triggers of its own: each archived partition keeps the indexes it had, and its
-- rows no longer change.
CREATE SCHEMA archive;
CREATE TABLE archive.messages (LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (campaign_id);
ALTER TABLE campaigns ADD COLUMN archived_at timestamptz;
