-- The trigger that keeps campaign_counters in the same transaction as every change of a
-- message. Every file of sql/functions/ is applied again by each `loa db migrate`, so a trigger
-- is dropped and created again here rather than left as the first release made it.

-- One UPSERT of campaign_counters per statement, whatever the number of rows it touched.
CREATE OR REPLACE FUNCTION messages_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO campaign_counters AS c (campaign_id, channel, state, n, parts, cost_vnd)
        SELECT campaign_id, channel, state, count(*), sum(parts), sum(cost_vnd)
          FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (campaign_id, channel, state) DO UPDATE
           SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts,
               cost_vnd = c.cost_vnd + EXCLUDED.cost_vnd;
    ELSIF TG_OP = 'UPDATE' THEN
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

-- Creates the partition of a campaign's messages; idempotent.
CREATE OR REPLACE FUNCTION campaign_partition_ensure(cid bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF messages FOR VALUES IN (%s)',
                   'messages_c' || cid, cid);
END $$;
