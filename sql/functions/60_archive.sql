-- Archiving a finished campaign (sql/016_campaign_archive.sql; campaigns/archive.c).

-- Every message, live or archived: what reads a campaign's messages after it may have been
-- archived (the breakdowns of `loa campaign show --by`, the yearly report) reads this.
-- Partition pruning applies to each side, so a campaign's rows are found in its own partition.
CREATE OR REPLACE VIEW messages_all AS
    SELECT * FROM messages
    UNION ALL
    SELECT * FROM archive.messages;

-- Moves the messages of campaign P_CAMPAIGN, which must be completed or cancelled and not
-- archived yet, from the live messages table to archive.messages: the partition is detached,
-- moved to the schema archive and attached there, in one transaction. Returns the archived
-- table (NULL when the campaign never had messages), its message count (from the counters)
-- and its size with its indexes. Refuses anything else with the reason.
CREATE OR REPLACE FUNCTION loa_campaign_archive(p_campaign bigint)
RETURNS TABLE (archive_table text, messages bigint, bytes bigint)
LANGUAGE plpgsql AS $$
DECLARE
    k record;
    part text := 'messages_c' || p_campaign;
    n bigint;
    sz bigint;
BEGIN
    SELECT c.name, c.status, c.archived_at INTO k FROM campaigns c WHERE c.id = p_campaign FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no campaign %', p_campaign;
    END IF;
    IF k.archived_at IS NOT NULL THEN
        RAISE EXCEPTION 'campaign ''%'' was archived on %', k.name, k.archived_at;
    END IF;
    IF k.status NOT IN ('completed', 'cancelled') THEN
        RAISE EXCEPTION 'campaign ''%'' is %: only a completed or cancelled campaign can be archived', k.name, k.status;
    END IF;
    SELECT COALESCE(sum(cc.n), 0) INTO n FROM campaign_counters cc WHERE cc.campaign_id = p_campaign;
    UPDATE campaigns SET archived_at = loa_now() WHERE id = p_campaign;
    IF to_regclass(format('%I', part)) IS NULL THEN
        RETURN QUERY SELECT NULL::text, n, 0::bigint;
        RETURN;
    END IF;
    sz := pg_total_relation_size(format('%I', part)::regclass);
    EXECUTE format('ALTER TABLE messages DETACH PARTITION %I', part);
    EXECUTE format('ALTER TABLE %I SET SCHEMA archive', part);
    EXECUTE format('ALTER TABLE archive.messages ATTACH PARTITION archive.%I FOR VALUES IN (%s)', part, p_campaign);
    RETURN QUERY SELECT 'archive.' || part, n, sz;
END $$;
