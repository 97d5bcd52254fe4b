-- The triggers that keep every change of a message's state and of a campaign's status honest:
-- counters kept in the same transaction, and no change that message_transitions or
-- campaign_transitions (008, generated from campaigns/message.c and campaigns/campaign_status.c)
-- does not list. Every file of sql/functions/ is applied again by each `loa db migrate`, so a
-- trigger is dropped and created again here rather than left as the first release made it.

-- One UPSERT of campaign_counters per statement, whatever the number of rows it touched, and
-- the dashboard's counters (loa_tally(), below). An
-- UPDATE that moves any message along an edge the table does not hold fails as a whole, naming
-- the first such pair: "illegal message transition pending → delivered".
--
-- The dispatcher runs these statements by the thousand a second (a lease, a batch of results),
-- so the common cases are cut short: a statement that touched no row (the fallback INSERT of a
-- batch without fallbacks) returns at once; when every old row has one state and every new
-- row one other, that one pair is checked without pairing the rows; and a change that
-- reports, delivers, creates or removes nothing (a lease) moves only gateway_queue, without
-- building the arrays of rows loa_tally() reads.
CREATE OR REPLACE FUNCTION messages_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    o_min text;
    o_max text;
    n_min text;
    n_max text;
    o_sub boolean;
    n_sub boolean;
    o_del boolean;
    n_del boolean;
    illegal boolean := false;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
            RETURN NULL;
        END IF;
        INSERT INTO campaign_counters AS c (campaign_id, channel, state, n, parts, cost_vnd)
        SELECT campaign_id, channel, state, count(*), sum(parts), sum(cost_vnd)
          FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (campaign_id, channel, state) DO UPDATE
           SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts,
               cost_vnd = c.cost_vnd + EXCLUDED.cost_vnd;
        -- A materialisation's chunk: every row its citizen's first step in the campaign
        -- (unique per step, and a later step is created only from an earlier one), none sent.
        -- Each is then a citizen newly targeted, which loa_tally() would find by counting the
        -- citizen's messages in the campaign, one lookup per row (a third of a chunk's time).
        IF NOT EXISTS (SELECT 1 FROM new_rows n
                         LEFT JOIN (SELECT cc.campaign_id, min(cc.position) AS first FROM campaign_channels cc
                                     GROUP BY 1) f ON f.campaign_id = n.campaign_id
                        WHERE n.submitted_at IS NOT NULL OR n.state = 'delivered'
                           OR n.step IS DISTINCT FROM f.first) THEN
            INSERT INTO gateway_queue AS q (gateway, state, n)
            SELECT gateway, state, count(*) FROM new_rows
             WHERE gateway IS NOT NULL AND state IN ('pending', 'retry_wait', 'leased')
             GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (gateway, state) DO UPDATE SET n = q.n + EXCLUDED.n;
            INSERT INTO campaign_reach AS k (campaign_id, commune_code, group_code, targeted, reached)
            SELECT n.campaign_id, c.commune_code, coalesce(c.group_code, ''), count(*), 0
              FROM new_rows n JOIN citizens c ON c.id = n.citizen_id
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (campaign_id, commune_code, group_code) DO UPDATE
               SET targeted = k.targeted + EXCLUDED.targeted;
            RETURN NULL;
        END IF;
        PERFORM loa_tally('{}', ARRAY(SELECT n::messages FROM new_rows n));
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT min(state), max(state), bool_or(submitted_at IS NOT NULL), bool_or(state = 'delivered')
          INTO o_min, o_max, o_sub, o_del FROM old_rows;
        IF o_min IS NULL THEN
            RETURN NULL;
        END IF;
        SELECT min(state), max(state), bool_or(submitted_at IS NOT NULL), bool_or(state = 'delivered')
          INTO n_min, n_max, n_sub, n_del FROM new_rows;
        IF o_min = o_max AND n_min = n_max THEN
            -- One pair for every row: any row names it.
            IF o_min <> n_min AND NOT EXISTS (SELECT 1 FROM message_transitions t
                                               WHERE t.from_state = o_min AND t.to_state = n_min) THEN
                SELECT o.state AS from_state, n_min AS to_state, o.campaign_id, o.id INTO bad
                  FROM old_rows o LIMIT 1;
                illegal := true;
            END IF;
        ELSE
            SELECT o.state AS from_state, n.state AS to_state, o.campaign_id, o.id INTO bad
              FROM old_rows o JOIN new_rows n ON n.campaign_id = o.campaign_id AND n.id = o.id
             WHERE n.state <> o.state
               AND NOT EXISTS (SELECT 1 FROM message_transitions t
                                WHERE t.from_state = o.state AND t.to_state = n.state)
             LIMIT 1;
            illegal := FOUND;
        END IF;
        IF illegal THEN
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
        IF o_sub OR n_sub OR o_del OR n_del THEN
            PERFORM loa_tally(ARRAY(SELECT o::messages FROM old_rows o), ARRAY(SELECT n::messages FROM new_rows n));
        ELSE
            -- What loa_tally() does with rows never submitted: the queue's counts alone.
            INSERT INTO gateway_queue AS q (gateway, state, n)
            SELECT gateway, state, sum(s)
              FROM (SELECT -1 AS s, gateway, state FROM old_rows
                    UNION ALL SELECT 1, gateway, state FROM new_rows) d
             WHERE gateway IS NOT NULL AND state IN ('pending', 'retry_wait', 'leased')
             GROUP BY 1, 2 HAVING sum(s) <> 0 ORDER BY 1, 2
            ON CONFLICT (gateway, state) DO UPDATE SET n = q.n + EXCLUDED.n;
        END IF;
    ELSE
        INSERT INTO campaign_counters AS c (campaign_id, channel, state, n, parts, cost_vnd)
        SELECT campaign_id, channel, state, -count(*), -sum(parts), -sum(cost_vnd)
          FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (campaign_id, channel, state) DO UPDATE
           SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts,
               cost_vnd = c.cost_vnd + EXCLUDED.cost_vnd;
        PERFORM loa_tally(ARRAY(SELECT o::messages FROM old_rows o), '{}');
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

-- Whether a message in STATE on CHANNEL is charged its cost_vnd: an SMS once the gateway has
-- taken it (submitted, delivered, undelivered or in doubt), a Zalo message only once it is
-- delivered, as Zalo bills it (gateways.md). The price is recorded at submit either way. The
-- one definition of what a campaign costs: `campaign show`, the API and every sheet of the
-- report apply it (campaigns/stats.h CAMPAIGN_COUNTERS_SQL, campaigns/report.c).
CREATE OR REPLACE FUNCTION loa_charged(p_channel text, p_state text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_state = 'delivered'
        OR (p_channel = 'sms' AND p_state IN ('submitted', 'undelivered', 'in_doubt'))
$$;

-- Creates the partition of a campaign's messages; idempotent.
CREATE OR REPLACE FUNCTION campaign_partition_ensure(cid bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF messages FOR VALUES IN (%s)',
                   'messages_c' || cid, cid);
END $$;

-- ---- The dashboard's counters (sql/017_dashboard_counters.sql), kept by messages_count ----

-- The UTC year of a delivery at AT when it falls in that year in every time zone (at least 12
-- hours after the UTC new year and more than 14 before the next), else NULL: such a delivery
-- is kept in coverage_edge with its time.
CREATE OR REPLACE FUNCTION loa_sure_year(p_at timestamptz) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_at >= (date_trunc('year', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + interval '12 hours'
                 AND p_at < ((date_trunc('year', p_at AT TIME ZONE 'UTC') + interval '1 year') AT TIME ZONE 'UTC')
                            - interval '14 hours'
                THEN extract(year FROM p_at AT TIME ZONE 'UTC')::int END
$$;

-- Applies one statement's change of messages to campaign_reach, campaign_days, coverage_*
-- and gateway_queue: P_OLD the rows as they were (updated or deleted), P_NEW as they are now
-- (inserted or updated). Each counter adds what the new rows bring and takes away what the old
-- ones brought. The distinct counts (a citizen targeted or reached by a campaign, reached
-- about a topic in a year) look at the citizen's other messages after the change: only the
-- citizens whose messages were created, removed, or moved in or out of delivered.
CREATE OR REPLACE FUNCTION loa_tally(p_old messages[], p_new messages[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    -- What the statement can change, so that the statements of the dispatcher (leases and
    -- results by the thousand a second, none of them delivered) skip what they cannot touch.
    pairs boolean := cardinality(p_old) = 0 OR cardinality(p_new) = 0;
    delivered boolean := EXISTS (SELECT 1 FROM unnest(p_old) WHERE state = 'delivered')
                         OR EXISTS (SELECT 1 FROM unnest(p_new) WHERE state = 'delivered');
    reported boolean := EXISTS (SELECT 1 FROM unnest(p_old) WHERE submitted_at IS NOT NULL)
                        OR EXISTS (SELECT 1 FROM unnest(p_new) WHERE submitted_at IS NOT NULL);
BEGIN
    INSERT INTO gateway_queue AS q (gateway, state, n)
    SELECT gateway, state, sum(s)
      FROM (SELECT -1 AS s, gateway, state FROM unnest(p_old)
            UNION ALL SELECT 1, gateway, state FROM unnest(p_new)) d
     WHERE gateway IS NOT NULL AND state IN ('pending', 'retry_wait', 'leased')
     GROUP BY 1, 2 HAVING sum(s) <> 0 ORDER BY 1, 2
    ON CONFLICT (gateway, state) DO UPDATE SET n = q.n + EXCLUDED.n;

    IF reported THEN
    INSERT INTO campaign_days AS k (campaign_id, at, n, sent, delivered, failed)
    SELECT campaign_id, date_bin('15 minutes', at, timestamptz '2000-01-01 00:00+00'), sum(s),
           coalesce(sum(s) FILTER (WHERE state IN ('submitted', 'delivered', 'undelivered', 'in_doubt')), 0),
           coalesce(sum(s) FILTER (WHERE state = 'delivered'), 0),
           coalesce(sum(s) FILTER (WHERE state IN ('failed', 'undelivered')), 0)
      FROM (SELECT -1 AS s, campaign_id, state, coalesce(final_at, submitted_at) AS at FROM unnest(p_old)
             WHERE submitted_at IS NOT NULL
            UNION ALL SELECT 1, campaign_id, state, coalesce(final_at, submitted_at) FROM unnest(p_new)
             WHERE submitted_at IS NOT NULL) d
     GROUP BY 1, 2
    HAVING sum(s) <> 0 OR sum(s) FILTER (WHERE state IN ('submitted', 'delivered', 'undelivered', 'in_doubt')) <> 0
        OR sum(s) FILTER (WHERE state = 'delivered') <> 0 OR sum(s) FILTER (WHERE state IN ('failed', 'undelivered')) <> 0
     ORDER BY 1, 2
    ON CONFLICT (campaign_id, at) DO UPDATE
       SET n = k.n + EXCLUDED.n, sent = k.sent + EXCLUDED.sent, delivered = k.delivered + EXCLUDED.delivered,
           failed = k.failed + EXCLUDED.failed;
    END IF;

    -- An update moves no message from one citizen to another: only its deliveries count here.
    IF pairs OR delivered THEN
    WITH d AS (SELECT -1 AS s, campaign_id, citizen_id, state FROM unnest(p_old) WHERE pairs OR state = 'delivered'
               UNION ALL SELECT 1, campaign_id, citizen_id, state FROM unnest(p_new) WHERE pairs OR state = 'delivered'),
    p AS (SELECT campaign_id, citizen_id, CASE WHEN pairs THEN sum(s) ELSE 0 END AS any_d,
                 coalesce(sum(s) FILTER (WHERE state = 'delivered'), 0) AS del_d
            FROM d GROUP BY 1, 2
          HAVING sum(s) <> 0 OR sum(s) FILTER (WHERE state = 'delivered') <> 0),
    ch AS (SELECT p.campaign_id, p.citizen_id,
                  (x.n_any > 0)::int - (x.n_any - p.any_d > 0)::int AS t,
                  (x.n_del > 0)::int - (x.n_del - p.del_d > 0)::int AS r
             FROM p CROSS JOIN LATERAL (
                  SELECT count(*) AS n_any, count(*) FILTER (WHERE m.state = 'delivered') AS n_del
                    FROM messages m WHERE m.campaign_id = p.campaign_id AND m.citizen_id = p.citizen_id) x)
    INSERT INTO campaign_reach AS k (campaign_id, commune_code, group_code, targeted, reached)
    SELECT ch.campaign_id, c.commune_code, coalesce(c.group_code, ''), sum(ch.t), sum(ch.r)
      FROM ch JOIN citizens c ON c.id = ch.citizen_id
     GROUP BY 1, 2, 3 HAVING sum(ch.t) <> 0 OR sum(ch.r) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (campaign_id, commune_code, group_code) DO UPDATE
       SET targeted = k.targeted + EXCLUDED.targeted, reached = k.reached + EXCLUDED.reached;
    END IF;

    IF NOT delivered THEN
        RETURN;
    END IF;
    WITH d AS (SELECT -1 AS s, campaign_id, citizen_id, coalesce(final_at, submitted_at) AS at FROM unnest(p_old)
                WHERE state = 'delivered' AND coalesce(final_at, submitted_at) IS NOT NULL
               UNION ALL SELECT 1, campaign_id, citizen_id, coalesce(final_at, submitted_at) FROM unnest(p_new)
                WHERE state = 'delivered' AND coalesce(final_at, submitted_at) IS NOT NULL),
    y AS (SELECT k.topic, d.at, loa_sure_year(d.at) AS year, d.citizen_id, sum(d.s) AS s
            FROM d JOIN campaigns k ON k.id = d.campaign_id
           GROUP BY 1, 2, 3, 4 HAVING sum(d.s) <> 0),
    e AS (INSERT INTO coverage_edge AS g (topic, at, citizen_id, n)
          SELECT topic, at, citizen_id, s FROM y WHERE year IS NULL ORDER BY 1, 2, 3
          ON CONFLICT (topic, at, citizen_id) DO UPDATE SET n = g.n + EXCLUDED.n
          RETURNING 1),
    r AS (SELECT topic, year, citizen_id, sum(s) AS s FROM y WHERE year IS NOT NULL
           GROUP BY 1, 2, 3 HAVING sum(s) <> 0),
    u AS (INSERT INTO coverage_reach AS c (topic, year, citizen_id, n)
          SELECT topic, year, citizen_id, s FROM r ORDER BY 1, 2, 3
          ON CONFLICT (topic, year, citizen_id) DO UPDATE SET n = c.n + EXCLUDED.n
          RETURNING c.topic, c.year, c.citizen_id, c.n)
    INSERT INTO coverage_counts AS k (topic, year, commune_code, group_code, n)
    SELECT u.topic, u.year, c.commune_code, coalesce(c.group_code, ''),
           sum((u.n > 0)::int - (u.n - r.s > 0)::int)
      FROM u JOIN r USING (topic, year, citizen_id) JOIN citizens c ON c.id = u.citizen_id
     GROUP BY 1, 2, 3, 4 HAVING sum((u.n > 0)::int - (u.n - r.s > 0)::int) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (topic, year, commune_code, group_code) DO UPDATE SET n = k.n + EXCLUDED.n;
END $$;

-- A citizen moved to another commune or group (a re-import): the counters keyed by the
-- citizen's commune and group move their share, for every campaign, live or archived, and
-- every year of coverage, and the citizens on file. Row-level, and only for a real move, so
-- that an import that changes nobody's commune pays nothing here.
CREATE OR REPLACE FUNCTION citizens_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_reach AS k (campaign_id, commune_code, group_code, targeted, reached)
    SELECT p.campaign_id, v.commune_code, v.group_code, sum(v.s), sum(v.s * p.del)
      FROM (SELECT campaign_id, max((state = 'delivered')::int) AS del FROM messages_all
             WHERE citizen_id = NEW.id GROUP BY 1) p
     CROSS JOIN (VALUES (-1, OLD.commune_code, coalesce(OLD.group_code, '')),
                        (1, NEW.commune_code, coalesce(NEW.group_code, ''))) v(s, commune_code, group_code)
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (campaign_id, commune_code, group_code) DO UPDATE
       SET targeted = k.targeted + EXCLUDED.targeted, reached = k.reached + EXCLUDED.reached;
    INSERT INTO coverage_counts AS k (topic, year, commune_code, group_code, n)
    SELECT r.topic, r.year, v.commune_code, v.group_code, sum(v.s)
      FROM coverage_reach r
     CROSS JOIN (VALUES (-1, OLD.commune_code, coalesce(OLD.group_code, '')),
                        (1, NEW.commune_code, coalesce(NEW.group_code, ''))) v(s, commune_code, group_code)
     WHERE r.citizen_id = NEW.id AND r.n > 0
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (topic, year, commune_code, group_code) DO UPDATE SET n = k.n + EXCLUDED.n;
    INSERT INTO citizen_counts AS k (commune_code, group_code, n)
    VALUES (OLD.commune_code, coalesce(OLD.group_code, ''), -1), (NEW.commune_code, coalesce(NEW.group_code, ''), 1)
    ON CONFLICT (commune_code, group_code) DO UPDATE SET n = k.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- Citizens added or removed: one UPSERT of citizen_counts per statement (an import's COPY is
-- one statement).
CREATE OR REPLACE FUNCTION citizens_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO citizen_counts AS k (commune_code, group_code, n)
        SELECT commune_code, coalesce(group_code, ''), count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (commune_code, group_code) DO UPDATE SET n = k.n + EXCLUDED.n;
    ELSE
        INSERT INTO citizen_counts AS k (commune_code, group_code, n)
        SELECT commune_code, coalesce(group_code, ''), -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (commune_code, group_code) DO UPDATE SET n = k.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS citizens_count_ins ON citizens;
CREATE TRIGGER citizens_count_ins AFTER INSERT ON citizens
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION citizens_count();
DROP TRIGGER IF EXISTS citizens_count_del ON citizens;
CREATE TRIGGER citizens_count_del AFTER DELETE ON citizens
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION citizens_count();

DROP TRIGGER IF EXISTS citizens_move ON citizens;
CREATE TRIGGER citizens_move AFTER UPDATE OF commune_code, group_code ON citizens
    FOR EACH ROW WHEN (OLD.commune_code IS DISTINCT FROM NEW.commune_code
                       OR OLD.group_code IS DISTINCT FROM NEW.group_code)
    EXECUTE FUNCTION citizens_move();
