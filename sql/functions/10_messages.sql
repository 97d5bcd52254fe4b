-- The triggers that keep every change of a message's state and of a campaign's status honest:
-- counters kept in the same transaction, and no change that message_transitions or
-- campaign_transitions (008, generated from campaigns/message.c and campaigns/campaign_status.c)
-- does not list. Every file of sql/functions/ is applied again by each `loa db migrate`, so a
-- trigger is dropped and created again here rather than left as the first release made it.

-- One UPSERT of campaign_counters per statement, whatever the number of rows it touched. An
-- UPDATE that moves any message along an edge the table does not hold fails as a whole, naming
-- the first such pair: "illegal message transition pending → delivered".
CREATE OR REPLACE FUNCTION messages_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO campaign_counters AS c (campaign_id, channel, state, n, parts, cost_vnd)
        SELECT campaign_id, channel, state, count(*), sum(parts), sum(cost_vnd)
          FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (campaign_id, channel, state) DO UPDATE
           SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts,
               cost_vnd = c.cost_vnd + EXCLUDED.cost_vnd;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT o.state AS from_state, n.state AS to_state, o.campaign_id, o.id INTO bad
          FROM old_rows o JOIN new_rows n ON n.campaign_id = o.campaign_id AND n.id = o.id
         WHERE n.state <> o.state
           AND NOT EXISTS (SELECT 1 FROM message_transitions t
                            WHERE t.from_state = o.state AND t.to_state = n.state)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'illegal message transition % → %', bad.from_state, bad.to_state
                USING ERRCODE = 'check_violation',
                      DETAIL = format('message %s of campaign %s', bad.id, bad.campaign_id);
        END IF;
        INSERT INTO campaign_counters AS c (campaign_id, channel, state, n, parts, cost_vnd)
        SELECT campaign_id, channel, state, sum(n), sum(parts), sum(cost_vnd) FROM (
            SELECT campaign_id, channel, state, -1 AS n, -parts AS parts, -cost_vnd AS cost_vnd FROM old_rows
            UNION ALL
            SELECT campaign_id, channel, state, 1, parts, cost_vnd FROM new_rows) d
         GROUP BY 1, 2, 3
        HAVING sum(n) <> 0 OR sum(parts) <> 0 OR sum(cost_vnd) <> 0
         ORDER BY 1, 2, 3
        ON CONFLICT (campaign_id, channel, state) DO UPDATE
           SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts,
               cost_vnd = c.cost_vnd + EXCLUDED.cost_vnd;
    ELSE
        INSERT INTO campaign_counters AS c (campaign_id, channel, state, n, parts, cost_vnd)
        SELECT campaign_id, channel, state, -count(*), -sum(parts), -sum(cost_vnd)
          FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (campaign_id, channel, state) DO UPDATE
           SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts,
               cost_vnd = c.cost_vnd + EXCLUDED.cost_vnd;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS messages_count_ins ON messages;
CREATE TRIGGER messages_count_ins AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_count();
DROP TRIGGER IF EXISTS messages_count_upd ON messages;
CREATE TRIGGER messages_count_upd AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_count();
DROP TRIGGER IF EXISTS messages_count_del ON messages;
CREATE TRIGGER messages_count_del AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_count();

-- A campaign's status moves only along campaign_transitions.
CREATE OR REPLACE FUNCTION campaigns_status_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM campaign_transitions t
                    WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
        RAISE EXCEPTION 'illegal campaign status transition % → %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', DETAIL = format('campaign %s', OLD.id);
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS campaigns_status_check ON campaigns;
CREATE TRIGGER campaigns_status_check BEFORE UPDATE OF status ON campaigns
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION campaigns_status_check();

-- Creates the partition of a campaign's messages; idempotent.
CREATE OR REPLACE FUNCTION campaign_partition_ensure(cid bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF messages FOR VALUES IN (%s)',
                   'messages_c' || cid, cid);
END $$;
