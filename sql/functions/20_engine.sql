-- The daemon's statements: leasing, recording results in batches, handing messages over to the
-- next channel, applying delivery reports (replies: 60_answers.sql). Owned by engine/dispatcher.c,
-- engine/scheduler.c and engine/events.c. Every function is one statement (or one transaction),
-- so each change of state happens together with its side effects; counters follow, and the
-- transition is checked, by the trigger on messages (10_messages.sql). Their tables are in
-- sql/004_engine.sql.

-- True when the citizen refused messages on CHANNEL (or on every channel). Two lookups of
-- opt_outs' primary key; inlined by the planner where it is used.
CREATE OR REPLACE FUNCTION loa_opted_out(p_citizen bigint, p_channel text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM opt_outs o WHERE o.citizen_id = p_citizen AND o.channel IN ('all', p_channel))
$$;

-- Whether a delivery report or receipt of any kind has come for the message. One whose
-- submission's answer was lost is then 'submitted', not 'in_doubt' (loa_flush): the gateway had
-- it. Kannel reports the SMSC's acknowledgement within milliseconds, usually while the message
-- is still leased, before its answer is written. A lease that expires stays 'in_doubt' either
-- way (loa_expire_leases); loa_resend_in_doubt counts such a one as reported, never resent.
CREATE OR REPLACE FUNCTION loa_reported(p_campaign bigint, p_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM delivery_events e WHERE e.campaign_id = p_campaign AND e.message_id = p_id)
$$;

-- Why a citizen cannot be sent to on CHANNEL, or NULL when they can.
CREATE OR REPLACE FUNCTION loa_unsendable_reason(p_citizen bigint, p_channel text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN loa_opted_out(c.id, p_channel) THEN 'opted out'
        WHEN p_channel = 'sms' AND (c.phone IS NULL OR c.phone_invalid) THEN 'no usable address'
        WHEN p_channel = 'zalo' AND c.zalo_user_id IS NULL
             AND (c.phone IS NULL OR c.has_zalo IS FALSE) THEN 'no usable address'
        END
      FROM citizens c WHERE c.id = p_citizen
$$;

-- True when now, in time zone TZ, is inside the campaign's window (WS-WE) or, when the campaign
-- has none, the policy window (DWS-DWE). '24:00' is a valid end.
CREATE OR REPLACE FUNCTION loa_window_open(ws time, we time, dws time, dwe time, tz text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (loa_now() AT TIME ZONE tz)::time >= COALESCE(ws, dws)
       AND (loa_now() AT TIME ZONE tz)::time < COALESCE(we, dwe)
$$;

-- The frequency cap ([policy] frequency_cap, N messages in D days) is one count per recipient
-- across every campaign and channel: a recipient is a phone number (a household sharing one
-- phone is one recipient) or, without a phone, the citizen. A message counts once it may have
-- reached them (submitted, delivered, undelivered, in_doubt: by submitted_at) and while it is
-- leased (it is on its way). Materialisation suppresses who is over the cap already
-- (engine/scheduler.c); loa_lease() checks again, since campaigns materialised together, or one
-- started while another sends, do not see each other's messages there.
CREATE OR REPLACE FUNCTION loa_cap_counts(p_state text, p_submitted_at timestamptz, p_since timestamptz)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_state = 'leased'
        OR (p_state IN ('submitted', 'delivered', 'undelivered', 'in_doubt') AND p_submitted_at >= p_since)
$$;

-- Leases up to P_N due messages of gateway P_GATEWAY of the campaigns P_CAMPAIGNS (those whose
-- templates the dispatcher has loaded), only for running campaigns inside their sending window.
-- attempts is counted here, before the dispatcher calls the gateway: the lease is the
-- "submitting" marker. The dispatcher submits every row it leases at once, so a lease that
-- expires (the daemon died or hung) may have reached the gateway. P_IN_DOUBT (idempotent
-- gateways only) also takes in_doubt messages: they are resent with the same key.
-- P_CAP_N/P_CAP_DAYS: the frequency cap (0: none). A picked message whose recipient has had
-- P_CAP_N counted messages in P_CAP_DAYS days, those of this lease included (in campaign, id
-- order), is suppressed with the reason 'frequency cap' instead, in the same statement, and is
-- not returned. The count is skipped for a campaign that cannot take anyone over the cap (see
-- capped below): a lone campaign of one message per phone pays nothing for it. Leases are serialised by a transaction advisory lock while a cap applies, so
-- that two gateways leasing at once each see the other's leases (READ COMMITTED: the UPDATE's
-- snapshot is taken after the lock). A campaign with a daily cap (campaigns.daily_cap) gives
-- at most its cap less what it sent today (campaign_daily_sent) and what it has leased now.
-- A picked message of a citizen who opted out of its channel (an import, a reply whose
-- transaction began after this lease had locked the row, an officer) is suppressed the same
-- way, 'opted out', and takes no room; an in_doubt one is never resent.
DROP FUNCTION IF EXISTS loa_lease(text, text, int, int, bigint[], text, time, time, boolean);
CREATE OR REPLACE FUNCTION loa_lease(p_gateway text, p_owner text, p_n int, p_lease_s int, p_campaigns bigint[],
                          p_tz text, p_ws time, p_we time, p_in_doubt boolean,
                          p_cap_n int, p_cap_days int)
RETURNS TABLE (campaign_id bigint, id bigint, step smallint, attempts smallint, citizen_id bigint,
               full_name text, phone text, commune_code text, commune_name text,
               province_code text, gender text, birth_date text, group_code text, language text,
               bhxh_code text, participation text, voluntary_due_date text, zalo_user_id text,
               tags text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    got int;
BEGIN
    IF p_cap_n > 0 THEN
        PERFORM pg_advisory_xact_lock(7140003);
    END IF;
    -- Per campaign, an index scan of its partition that stops after P_N rows: no sort of every
    -- due row. The state lists are written out so that the partial indexes apply.
    RETURN QUERY
    WITH k AS (
        SELECT * FROM (
        SELECT k.id, CASE WHEN k.daily_cap IS NULL THEN p_n
                          ELSE least(p_n, greatest(0, k.daily_cap
                                 - COALESCE((SELECT d.sent FROM campaign_daily_sent d WHERE d.campaign_id = k.id
                                               AND d.day = (loa_now() AT TIME ZONE p_tz)::date), 0)
                                 - (SELECT count(*) FROM messages l
                                     WHERE l.campaign_id = k.id AND l.state = 'leased'))) END AS room,
               -- Which counts its rows need. A campaign's own messages reach a citizen once, and
               -- materialisation checked what others had sent before, so a citizen's own
               -- messages are counted only when another campaign may have crossed this one within
               -- the cap's days (crossed), and the others on their phone only then or when the
               -- campaign sends to every member of a phone (capped).
               p_cap_n > 0 AND x.crossed AS crossed,
               p_cap_n > 0 AND (k.per_phone = 'all' OR x.crossed) AS capped
          FROM campaigns k CROSS JOIN LATERAL (
               SELECT EXISTS (SELECT 1 FROM campaigns o WHERE o.id <> k.id
                                 AND (o.status IN ('running', 'paused')
                                      OR o.completed_at >= loa_now() - make_interval(days => p_cap_days)))
                      AS crossed) x
         WHERE k.id = ANY (p_campaigns) AND k.status = 'running'
           AND (k.ends_at IS NULL OR k.ends_at > loa_now())
           AND loa_window_open(k.window_start, k.window_end, p_ws, p_we, p_tz)) k0
         WHERE k0.room > 0
    ), pick AS (
        -- LIMIT P_N, a constant of the statement: with the room (a column) the planner would
        -- expect thousands of rows and plan for them.
        -- loa_opted_out()'s rule written out: a function whose body holds a subquery is not
        -- inlined, and calling it costs more than the probe (8 µs a row of the lease).
        SELECT x.campaign_id, x.id, x.citizen_id,
               EXISTS (SELECT 1 FROM opt_outs o WHERE o.citizen_id = x.citizen_id
                          AND o.channel IN ('all', x.channel)) AS opted,
               k.crossed, k.capped, k.room FROM k CROSS JOIN LATERAL (
            SELECT m.campaign_id, m.id, m.citizen_id, m.channel FROM messages m
             WHERE m.campaign_id = k.id AND m.gateway = p_gateway
               AND m.state IN ('pending', 'retry_wait') AND m.due_at <= loa_now()
             ORDER BY m.due_at LIMIT p_n
               FOR UPDATE OF m SKIP LOCKED) x
        LIMIT p_n
    ), capped AS MATERIALIZED (
        -- MATERIALIZED: inlined into the UPDATE, "over" (with its two counts) was computed
        -- again for each of the SET clauses that read it.
        SELECT r.campaign_id, r.id, r.opted, NOT r.opted AND r.capped AND r.nth + u.used > p_cap_n AS over
          FROM (SELECT pick.*, ph.phone,
                       row_number() OVER (PARTITION BY COALESCE(ph.phone, '#' || pick.citizen_id::text), pick.opted
                                          ORDER BY pick.campaign_id, pick.id) AS nth,
                       row_number() OVER (PARTITION BY pick.campaign_id, pick.opted ORDER BY pick.id) AS nk
                  -- The phone by its key for each picked row (OFFSET 0 keeps it a lookup per
                  -- row: joined after the CTE, the planner would hash the whole citizens table).
                  FROM pick CROSS JOIN LATERAL (SELECT c.phone FROM citizens c
                                                 WHERE c.id = pick.citizen_id OFFSET 0) ph) r
          CROSS JOIN LATERAL (
                -- The citizen's own messages, and those of the others on their phone.
                SELECT CASE WHEN r.crossed AND NOT r.opted THEN
                           (SELECT count(*) FROM messages x WHERE x.citizen_id = r.citizen_id
                               AND loa_cap_counts(x.state, x.submitted_at, loa_now() - make_interval(days => p_cap_days)))
                       ELSE 0 END
                     + CASE WHEN r.capped AND NOT r.opted THEN
                           (SELECT count(*) FROM citizens h JOIN messages x ON x.citizen_id = h.id
                             WHERE h.phone = r.phone AND h.id <> r.citizen_id
                               AND loa_cap_counts(x.state, x.submitted_at, loa_now() - make_interval(days => p_cap_days)))
                       ELSE 0 END AS used) u
         WHERE r.opted OR r.nk <= r.room
    ), upd AS (
        UPDATE messages m
           SET state = CASE WHEN q.opted OR q.over THEN 'suppressed' ELSE 'leased' END,
               reason = CASE WHEN q.opted THEN 'opted out' WHEN q.over THEN 'frequency cap' ELSE m.reason END,
               final_at = CASE WHEN q.opted OR q.over THEN loa_now() ELSE m.final_at END,
               lease_owner = CASE WHEN q.opted OR q.over THEN NULL ELSE p_owner END,
               lease_until = CASE WHEN q.opted OR q.over THEN NULL
                                  ELSE loa_now() + make_interval(secs => p_lease_s) END,
               attempts = CASE WHEN q.opted OR q.over THEN m.attempts ELSE m.attempts + 1 END
          FROM capped q, citizens c LEFT JOIN communes co ON co.code = c.commune_code
         WHERE m.campaign_id = q.campaign_id AND m.id = q.id AND c.id = m.citizen_id
        RETURNING m.campaign_id, m.id, m.step, m.attempts, c.id AS cid, c.full_name, c.phone, c.commune_code,
                  co.name, c.province_code, c.gender, c.birth_date::text AS bd, c.group_code, c.language,
                  c.bhxh_code, c.participation, c.voluntary_due_date::text AS vd, c.zalo_user_id,
                  c.tags::text AS tg, m.state AS st, m.due_at AS due
    )
    -- In the order they came due: the dispatcher sends a lease's rows in the order it gets them
    -- (its ready queue), and an UPDATE returns them in whatever order its join found them.
    SELECT u.campaign_id, u.id, u.step, u.attempts, u.cid, u.full_name, u.phone, u.commune_code, u.name,
           u.province_code, u.gender, u.bd, u.group_code, u.language, u.bhxh_code, u.participation, u.vd,
           u.zalo_user_id, u.tg
      FROM upd u WHERE u.st = 'leased'
     ORDER BY u.due, u.campaign_id, u.id;
    GET DIAGNOSTICS got = ROW_COUNT;
    IF NOT p_in_doubt OR got >= p_n THEN
        RETURN;
    END IF;
    -- In-doubt messages are resent with the key they went with: no new message, no cap.
    RETURN QUERY
    WITH k AS (
        SELECT k.id FROM campaigns k
         WHERE k.id = ANY (p_campaigns) AND k.status = 'running'
           AND (k.ends_at IS NULL OR k.ends_at > loa_now())
           AND loa_window_open(k.window_start, k.window_end, p_ws, p_we, p_tz)
    ), pick AS (
        SELECT x.campaign_id, x.id FROM k CROSS JOIN LATERAL (
            SELECT m.campaign_id, m.id FROM messages m
             WHERE m.campaign_id = k.id AND m.gateway = p_gateway AND m.state = 'in_doubt'
               AND NOT loa_opted_out(m.citizen_id, m.channel)
             ORDER BY m.due_at LIMIT p_n - got
               FOR UPDATE OF m SKIP LOCKED) x
        LIMIT p_n - got
    )
    UPDATE messages m
       SET state = 'leased', lease_owner = p_owner,
           lease_until = loa_now() + make_interval(secs => p_lease_s), attempts = m.attempts + 1
      FROM pick, citizens c LEFT JOIN communes co ON co.code = c.commune_code
     WHERE m.campaign_id = pick.campaign_id AND m.id = pick.id AND c.id = m.citizen_id
    RETURNING m.campaign_id, m.id, m.step, m.attempts, c.id, c.full_name, c.phone, c.commune_code,
              co.name, c.province_code, c.gender, c.birth_date::text, c.group_code, c.language,
              c.bhxh_code, c.participation, c.voluntary_due_date::text, c.zalo_user_id,
              c.tags::text;
END $$;

-- Records the results of many submissions at once (the arrays are parallel, one element per
-- message). Only rows still leased change. A 'fallback' creates the message of the campaign's
-- next step (its gateway, else P_SMS / P_ZALO for its channel) in the same statement; without a
-- next step the message is 'failed' with the reason. FLAGS: 1 = Zalo says no account
-- (citizens.has_zalo = false), 2 = phone invalid. 'pending' is a message held back unsent
-- (its campaign stopped running while it waited in the dispatcher's queue): its attempt is given
-- back, and it is cancelled or expired instead when its campaign was cancelled or has ended. An
-- 'in_doubt' for a message already reported is 'submitted' (see loa_apply_dlr()). Accepted, delivered and in_doubt messages count
-- against the gateway's daily quota, kept in gateway_state under quota:YYYY-MM-DD (P_TZ), and
-- against their campaign's daily cap when it has one (campaign_daily_sent, 018_daily_cap.sql).
CREATE OR REPLACE FUNCTION loa_flush(p_gateway text, p_tz text, p_sms text, p_zalo text,
                          p_cid bigint[], p_id bigint[], p_state text[], p_reason text[],
                          p_gwid text[], p_parts int[], p_cost int[], p_delay int[], p_flags int[])
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    written int;
BEGIN
    -- PL/pgSQL, not SQL: an SQL function's statement is parsed and planned again on every call,
    -- and this one is run for every batch of results; PL/pgSQL keeps its plan for the session.
    -- The rows are locked first, in key order, as loa_apply_dlrs() locks its own: a group of
    -- delivery reports for messages of this batch (Kannel reports within milliseconds) would
    -- otherwise lock them in another order, and one of the two would wait a second
    -- (deadlock_timeout) to be refused as a deadlock, holding up the gateway's results.
    PERFORM 1 FROM messages m
      JOIN unnest(p_cid, p_id) AS v(campaign_id, id) ON m.campaign_id = v.campaign_id AND m.id = v.id
     ORDER BY m.campaign_id, m.id
       FOR UPDATE OF m;
    WITH v AS (
        SELECT * FROM unnest(p_cid, p_id, p_state, p_reason, p_gwid, p_parts, p_cost, p_delay, p_flags)
               AS v(campaign_id, id, state, reason, gwid, parts, cost, delay, flags)
    ), cur AS MATERIALIZED (
        -- MATERIALIZED: inlined, the test cur_state = 'leased' below became m.state = 'leased'
        -- here, and the plan PL/pgSQL keeps after five calls (a generic one, which takes the
        -- arrays for ten rows) read every leased row through messages_leased for each result.
        SELECT v.*, m.citizen_id, m.state AS cur_state, nx.position AS next_pos, nx.channel AS next_channel,
               COALESCE(nx.gateway, CASE nx.channel WHEN 'sms' THEN p_sms ELSE p_zalo END) AS next_gw,
               CASE WHEN v.state = 'in_doubt' AND loa_reported(v.campaign_id, v.id) THEN 'submitted'
                    WHEN v.state <> 'pending' THEN v.state
                    WHEN ks.status = 'cancelled' THEN 'cancelled'
                    WHEN ks.status = 'completed' THEN 'expired' ELSE 'pending' END AS held
          FROM v
          JOIN messages m ON m.campaign_id = v.campaign_id AND m.id = v.id
          LEFT JOIN LATERAL (
                SELECT cc.position, cc.channel, cc.gateway FROM campaign_channels cc
                 WHERE cc.campaign_id = m.campaign_id AND cc.position > m.step
                 ORDER BY cc.position LIMIT 1) nx ON v.state = 'fallback'
          LEFT JOIN LATERAL (SELECT k.status FROM campaigns k WHERE k.id = v.campaign_id) ks
            ON v.state = 'pending'
    ), upd AS (
        UPDATE messages m
           SET state = CASE WHEN cur.state = 'fallback' AND cur.next_pos IS NULL THEN 'failed'
                            ELSE cur.held END,
               reason = CASE WHEN cur.state = 'fallback' AND cur.next_pos IS NULL
                             THEN COALESCE(NULLIF(cur.reason, ''), 'fallback') || ' (no further channel)'
                             WHEN cur.held = 'cancelled' THEN 'campaign cancelled'
                             WHEN cur.held = 'expired' THEN 'campaign ended'
                             ELSE NULLIF(cur.reason, '') END,
               attempts = CASE WHEN cur.state = 'pending' THEN greatest(m.attempts - 1, 0) ELSE m.attempts END,
               gateway_msg_id = COALESCE(NULLIF(cur.gwid, ''), m.gateway_msg_id),
               parts = cur.parts, cost_vnd = cur.cost,
               due_at = CASE WHEN cur.state = 'retry_wait'
                             THEN loa_now() + make_interval(secs => cur.delay) ELSE m.due_at END,
               submitted_at = CASE WHEN cur.state IN ('submitted', 'delivered', 'in_doubt')
                                   THEN loa_now() ELSE m.submitted_at END,
               final_at = CASE WHEN cur.held IN ('delivered', 'failed', 'fallback', 'cancelled', 'expired',
                                                 'suppressed')
                               THEN loa_now() ELSE NULL END,
               lease_owner = NULL, lease_until = NULL
          FROM cur
         -- Only rows still leased, checked again on the row's latest version (a concurrent change
         -- re-evaluates this WHERE). Not written "m.state = 'leased'": that matches the partial
         -- index messages_leased, whose statistics say next to no row is leased (leases last
         -- milliseconds), and the planner then scanned every leased row once per result row.
         -- Written so, each result row finds its message by the primary key.
         WHERE m.campaign_id = cur.campaign_id AND m.id = cur.id
           AND cur.cur_state = 'leased' AND m.state IS NOT DISTINCT FROM cur.cur_state
        RETURNING m.campaign_id, m.citizen_id, m.state, cur.flags, cur.next_pos, cur.next_channel,
                  cur.next_gw
    ), ins AS (
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, reason, final_at)
        SELECT u.campaign_id, u.citizen_id, u.next_pos, u.next_channel, u.next_gw,
               CASE WHEN u.next_gw IS NULL OR u.next_gw = '' THEN 'failed'
                    WHEN r.reason IS NOT NULL THEN 'suppressed' ELSE 'pending' END,
               CASE WHEN u.next_gw IS NULL OR u.next_gw = '' THEN 'no gateway configured for ' || u.next_channel
                    ELSE r.reason END,
               CASE WHEN u.next_gw IS NULL OR u.next_gw = '' OR r.reason IS NOT NULL THEN loa_now() END
          FROM upd u
          CROSS JOIN LATERAL (SELECT loa_unsendable_reason(u.citizen_id, u.next_channel) AS reason) r
         WHERE u.state = 'fallback'
        ON CONFLICT (campaign_id, citizen_id, step) DO NOTHING
        RETURNING 1
    ), facts AS (
        UPDATE citizens c
           SET has_zalo = CASE WHEN f.no_zalo THEN false ELSE c.has_zalo END,
               phone_invalid = c.phone_invalid OR f.bad_phone, updated_at = loa_now()
          FROM (SELECT citizen_id, bool_or(flags & 1 <> 0) AS no_zalo, bool_or(flags & 2 <> 0) AS bad_phone
                  FROM upd WHERE flags <> 0 GROUP BY citizen_id) f
         WHERE c.id = f.citizen_id
        RETURNING 1
    ), quota AS (
        INSERT INTO gateway_state AS g (gateway, key, value)
        SELECT p_gateway, 'quota:' || to_char(loa_now() AT TIME ZONE p_tz, 'YYYY-MM-DD'), n::text
          FROM (SELECT count(*) AS n FROM upd WHERE state IN ('submitted', 'delivered', 'in_doubt')) s
         WHERE n > 0
        ON CONFLICT (gateway, key) DO UPDATE
           SET value = (g.value::bigint + EXCLUDED.value::bigint)::text, updated_at = loa_now()
        RETURNING 1
    ), days AS (
        INSERT INTO campaign_daily_sent AS d (campaign_id, day, sent)
        SELECT s.campaign_id, (loa_now() AT TIME ZONE p_tz)::date, s.n
          FROM (SELECT u.campaign_id, count(*) AS n FROM upd u
                 WHERE u.state IN ('submitted', 'delivered', 'in_doubt') GROUP BY u.campaign_id) s
          JOIN campaigns k ON k.id = s.campaign_id AND k.daily_cap IS NOT NULL
        ON CONFLICT (campaign_id, day) DO UPDATE SET sent = d.sent + EXCLUDED.sent
        RETURNING 1
    )
    SELECT count(*)::int INTO written FROM upd;
    RETURN written;
END $$;

-- Hands the waiting messages (pending, retry_wait) of gateway P_GATEWAY over to the next
-- channel step: all of them (P_CAMPAIGN NULL: the gateway is paused beyond today's window) or
-- those of one campaign step (P_CAMPAIGN, P_STEP: the step cannot work, e.g. its template was
-- refused). A message with no next step stays waiting when the whole gateway is paused (the
-- pause ends), and fails when its step is stopped (it never will). Returns the number moved.
CREATE OR REPLACE FUNCTION loa_handover(p_gateway text, p_campaign bigint, p_step smallint, p_reason text,
                             p_sms text, p_zalo text) RETURNS int
LANGUAGE sql AS $$
    WITH due AS (
        SELECT m.campaign_id, m.id, m.citizen_id, nx.position, nx.channel,
               COALESCE(nx.gateway, CASE nx.channel WHEN 'sms' THEN p_sms ELSE p_zalo END) AS next_gw
          FROM messages m
          JOIN campaigns k ON k.id = m.campaign_id AND k.status IN ('running', 'paused')
          LEFT JOIN LATERAL (
                SELECT cc.position, cc.channel, cc.gateway FROM campaign_channels cc
                 WHERE cc.campaign_id = m.campaign_id AND cc.position > m.step
                 ORDER BY cc.position LIMIT 1) nx ON true
         WHERE m.gateway = p_gateway AND m.state IN ('pending', 'retry_wait')
           AND (p_campaign IS NULL OR (m.campaign_id = p_campaign AND m.step = p_step))
           AND (p_campaign IS NOT NULL OR nx.position IS NOT NULL)
           FOR UPDATE OF m SKIP LOCKED
    ), moved AS (
        UPDATE messages m
           SET state = CASE WHEN d.position IS NULL THEN 'failed' ELSE 'fallback' END,
               reason = p_reason || CASE WHEN d.position IS NULL THEN ' (no further channel)' ELSE '' END,
               final_at = loa_now()
          FROM due d
         WHERE m.campaign_id = d.campaign_id AND m.id = d.id AND m.state IN ('pending', 'retry_wait')
        RETURNING m.campaign_id, m.id, m.state
    ), ins AS (
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, reason, final_at)
        SELECT d.campaign_id, d.citizen_id, d.position, d.channel, d.next_gw,
               CASE WHEN d.next_gw IS NULL OR d.next_gw = '' THEN 'failed'
                    WHEN r.reason IS NOT NULL THEN 'suppressed' ELSE 'pending' END,
               CASE WHEN d.next_gw IS NULL OR d.next_gw = '' THEN 'no gateway configured for ' || d.channel
                    ELSE r.reason END,
               CASE WHEN d.next_gw IS NULL OR d.next_gw = '' OR r.reason IS NOT NULL THEN loa_now() END
          FROM due d JOIN moved mv ON mv.campaign_id = d.campaign_id AND mv.id = d.id AND mv.state = 'fallback'
          CROSS JOIN LATERAL (SELECT loa_unsendable_reason(d.citizen_id, d.channel) AS reason) r
        ON CONFLICT (campaign_id, citizen_id, step) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::int FROM moved
$$;

-- Applies a delivery report in one transaction. The message is found by (campaign, id), else by
-- (gateway, gateway_msg_id). The report is always appended to delivery_events. P_FINAL is
-- 'delivered', 'undelivered', or NULL for an intermediate report (only recorded). Returns
--   'applied'    submitted / in_doubt → P_FINAL
--   'parked'     the message is still leased (the report beat the submit's answer): kept in
--                dlr_parked and applied by loa_dlr_reconcile()
--   'recorded'   intermediate, duplicate or already final: nothing changed
--   'unknown'    no such message
CREATE OR REPLACE FUNCTION loa_apply_dlr(p_gateway text, p_campaign bigint, p_message bigint, p_gwid text,
                              p_kind text, p_status text, p_raw text, p_final text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    cid bigint;
    mid bigint;
    st text;
BEGIN
    IF p_campaign IS NOT NULL AND p_message IS NOT NULL THEN
        SELECT m.campaign_id, m.id, m.state INTO cid, mid, st FROM messages m
         WHERE m.campaign_id = p_campaign AND m.id = p_message FOR UPDATE;
    ELSIF p_gwid IS NOT NULL THEN
        SELECT m.campaign_id, m.id, m.state INTO cid, mid, st FROM messages m
         WHERE m.gateway = p_gateway AND m.gateway_msg_id = p_gwid
         ORDER BY m.created_at DESC LIMIT 1 FOR UPDATE;
    END IF;
    INSERT INTO delivery_events (gateway, campaign_id, message_id, kind, status, raw)
    VALUES (p_gateway, COALESCE(cid, p_campaign), COALESCE(mid, p_message), p_kind, p_status,
            COALESCE(p_raw, ''));
    IF cid IS NULL THEN
        RETURN 'unknown';
    END IF;
    IF p_final IS NULL THEN
        -- Not final, but from the gateway about this message (the SMSC's acknowledgement): an
        -- in-doubt message did reach it, and is sent.
        IF st = 'in_doubt' THEN
            UPDATE messages SET state = 'submitted', submitted_at = COALESCE(submitted_at, loa_now())
             WHERE campaign_id = cid AND id = mid;
        END IF;
        RETURN 'recorded';
    END IF;
    -- A delivery for a message waiting to be resent: an earlier attempt reached the citizen
    -- (see loa_dlr_reconcile), and the resend must not go.
    IF st IN ('submitted', 'in_doubt') OR (st = 'retry_wait' AND p_final = 'delivered') THEN
        UPDATE messages SET state = p_final, final_at = loa_now(), submitted_at = COALESCE(submitted_at, loa_now()),
                            reason = CASE WHEN st = 'retry_wait' THEN NULL ELSE reason END
         WHERE campaign_id = cid AND id = mid;
        RETURN 'applied';
    END IF;
    IF st = 'leased' THEN
        INSERT INTO dlr_parked (campaign_id, message_id, final_state) VALUES (cid, mid, p_final)
        ON CONFLICT (campaign_id, message_id) DO UPDATE SET final_state = EXCLUDED.final_state;
        RETURN 'parked';
    END IF;
    RETURN 'recorded';
END $$;

-- Applies many delivery reports in one transaction (engine/events.c gathers those that arrive
-- within a few milliseconds), with the meaning of loa_apply_dlr() for each, taken in order: the
-- arrays are parallel, one element per report, and the answer is the array of what
-- loa_apply_dlr() would have answered for each. Of several final reports for one message the
-- first that can apply applies and the others are recorded; several for a leased message park
-- the last. One commit, one statement of each kind and one run of the counters trigger for the
-- whole batch, instead of one of each per report.
CREATE OR REPLACE FUNCTION loa_apply_dlrs(p_gateway text[], p_campaign bigint[], p_message bigint[], p_gwid text[],
                               p_kind text[], p_status text[], p_raw text[], p_final text[]) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    answers text[];
BEGIN
    -- The reports' messages locked first, in key order, as loa_flush() locks the results' (see
    -- there): locked one by one in the order the reports came, they deadlocked with a flush.
    -- Held by this transaction, they are read below without FOR UPDATE: the statement's
    -- snapshot, taken after the locks, has their latest state. Reports found by the
    -- gateway's id alone (no campaign and message in the report) are locked as they are found.
    PERFORM 1 FROM messages m
      JOIN unnest(p_campaign, p_message) AS v(campaign_id, id) ON m.campaign_id = v.campaign_id AND m.id = v.id
     ORDER BY m.campaign_id, m.id
       FOR UPDATE OF m;
    WITH v AS (
        SELECT * FROM unnest(p_gateway, p_campaign, p_message, p_gwid, p_kind, p_status, p_raw, p_final)
               WITH ORDINALITY AS v(gateway, campaign_id, message_id, gwid, kind, status, raw, final, ord)
    ), t AS (
        SELECT v.*, COALESCE(a.campaign_id, b.campaign_id) AS cid, COALESCE(a.id, b.id) AS mid,
               COALESCE(a.state, b.state) AS st
          FROM v
          LEFT JOIN LATERAL (
                SELECT m.campaign_id, m.id, m.state FROM messages m
                 WHERE v.campaign_id IS NOT NULL AND v.message_id IS NOT NULL
                   AND m.campaign_id = v.campaign_id AND m.id = v.message_id) a ON true
          LEFT JOIN LATERAL (
                SELECT m.campaign_id, m.id, m.state FROM messages m
                 WHERE (v.campaign_id IS NULL OR v.message_id IS NULL) AND v.gwid IS NOT NULL
                   AND m.gateway = v.gateway AND m.gateway_msg_id = v.gwid
                 ORDER BY m.created_at DESC LIMIT 1
                   FOR UPDATE) b ON true
    ), ev AS (
        INSERT INTO delivery_events (gateway, campaign_id, message_id, kind, status, raw)
        SELECT t.gateway, COALESCE(t.cid, t.campaign_id), COALESCE(t.mid, t.message_id), t.kind, t.status,
               COALESCE(t.raw, '')
          FROM t ORDER BY t.ord
        RETURNING 1
    ), apply AS (
        SELECT DISTINCT ON (t.cid, t.mid) t.cid, t.mid, t.st, t.final, t.ord
          FROM t
         WHERE t.cid IS NOT NULL AND t.final IS NOT NULL
           AND (t.st IN ('submitted', 'in_doubt') OR (t.st = 'retry_wait' AND t.final = 'delivered'))
         ORDER BY t.cid, t.mid, t.ord
    ), upd AS (
        UPDATE messages m SET state = a.final, final_at = loa_now(), submitted_at = COALESCE(m.submitted_at, loa_now()),
                              reason = CASE WHEN a.st = 'retry_wait' THEN NULL ELSE m.reason END
          FROM apply a
         WHERE m.campaign_id = a.cid AND m.id = a.mid
        RETURNING a.ord
    ), acked AS (
        -- As loa_apply_dlr(): a report that is not final shows an in-doubt message reached the
        -- gateway. Not for a message a final report of the group settles (apply): one
        -- statement cannot update a row twice.
        UPDATE messages m SET state = 'submitted', submitted_at = COALESCE(m.submitted_at, loa_now())
          FROM (SELECT DISTINCT t.cid, t.mid FROM t
                 WHERE t.cid IS NOT NULL AND t.final IS NULL AND t.st = 'in_doubt'
                   AND NOT EXISTS (SELECT 1 FROM apply a WHERE a.cid = t.cid AND a.mid = t.mid)) k
         WHERE m.campaign_id = k.cid AND m.id = k.mid
        RETURNING 1
    ), park AS (
        INSERT INTO dlr_parked (campaign_id, message_id, final_state)
        SELECT DISTINCT ON (t.cid, t.mid) t.cid, t.mid, t.final
          FROM t
         WHERE t.cid IS NOT NULL AND t.final IS NOT NULL AND t.st = 'leased'
         ORDER BY t.cid, t.mid, t.ord DESC
        ON CONFLICT (campaign_id, message_id) DO UPDATE SET final_state = EXCLUDED.final_state
        RETURNING 1
    )
    SELECT array_agg(CASE WHEN t.cid IS NULL THEN 'unknown'
                          WHEN t.final IS NULL THEN 'recorded'
                          WHEN u.ord IS NOT NULL THEN 'applied'
                          WHEN t.st = 'leased' THEN 'parked'
                          ELSE 'recorded' END ORDER BY t.ord)
      INTO answers
      FROM t LEFT JOIN upd u ON u.ord = t.ord;
    RETURN answers;
END $$;

-- Applies parked reports whose message has left 'leased'; drops those that can no longer apply
-- (the message failed or was retried: a report for an attempt that the gateway refused is not
-- a delivery). One whose message is 'pending' again (its lease expired on an idempotent gateway,
-- which resends it with the same key) waits for that resend, as for a lease. A message in retry_wait with a report of delivery is the exception: an earlier
-- attempt reached the citizen though its answer was lost (a time-out, then a resend refused
-- with a 5xx), and the next resend would be answered "duplicate" (eSMS RequestId) with no
-- second report, or reach the citizen twice; the ZNS receipt (zalo_receipt_apply in
-- 30_zalo.sql) settles it the same way. Only a delivery settles it so: retry_wait →
-- undelivered is no transition. Returns the number applied.
CREATE OR REPLACE FUNCTION loa_dlr_reconcile() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    -- The scheduler calls this on every pass, and nearly always nothing is parked: answer that
    -- from the (tiny) table alone. A join of dlr_parked with messages was planned as a hash
    -- join over a sequential scan of the partitions, which in a campaign's first minutes walk
    -- pages of dead row versions: up to 1.5 s a call, on every pass.
    IF NOT EXISTS (SELECT 1 FROM dlr_parked) THEN
        RETURN 0;
    END IF;
    -- The parked reports' messages locked first, in key order as loa_flush() locks them, each
    -- by its primary key (a lookup per parked row, never a scan of messages). Read unlocked,
    -- a message taken from in_doubt by a lease committing meanwhile (an idempotent resend)
    -- looked settled to the DELETE and leased to the UPDATE: its report was dropped and
    -- applied nowhere, and the resend, answered "duplicate" with no report of its own, stayed
    -- 'submitted'. Locked, the statement below (a new snapshot) reads each state as it stays.
    PERFORM 1 FROM (SELECT d.campaign_id, d.message_id FROM dlr_parked d
                     ORDER BY d.campaign_id, d.message_id OFFSET 0) d
      CROSS JOIN LATERAL (SELECT 1 FROM messages m
                           WHERE m.campaign_id = d.campaign_id AND m.id = d.message_id
                             FOR UPDATE) x;
    WITH p AS (
        DELETE FROM dlr_parked d
         WHERE (SELECT m.state FROM messages m
                 WHERE m.campaign_id = d.campaign_id AND m.id = d.message_id) NOT IN ('leased', 'pending')
        RETURNING d.campaign_id, d.message_id, d.final_state
    ), stale AS (
        DELETE FROM dlr_parked d WHERE d.received_at < loa_now() - interval '1 day'
        RETURNING 1
    ), upd AS (
        UPDATE messages m SET state = p.final_state, final_at = loa_now(),
                              reason = CASE WHEN m.state = 'retry_wait' THEN NULL ELSE m.reason END,
                              submitted_at = COALESCE(m.submitted_at, loa_now())
          FROM p
         WHERE m.campaign_id = p.campaign_id AND m.id = p.message_id
           AND (m.state IN ('submitted', 'in_doubt')
                OR (m.state = 'retry_wait' AND p.final_state = 'delivered'))
        RETURNING 1
    )
    SELECT count(*)::int INTO n FROM upd;
    RETURN n;
END $$;

