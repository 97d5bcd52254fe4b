-- Replies and the answers to them (sql/010_replies.sql, sql/014_answers.sql). Owned by
-- engine/intake.c (loa_take_reply), engine/answers.c (lease, result, delivery report) and
-- campaigns/replies.c (loa_answer_officer). An answer moves through the message states along
-- message_transitions, like a campaign's message, and is counted in answer_counters only.

-- One UPSERT of answer_counters per statement; an UPDATE that moves an answer along an edge
-- message_transitions does not hold fails as a whole. A statement has only the transition tables
-- of its event, so each branch reads its own.
CREATE OR REPLACE FUNCTION outbound_answers_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO answer_counters AS c (kind, channel, state, n, parts)
        SELECT kind, channel, state, count(*), sum(parts) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (kind, channel, state) DO UPDATE SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts;
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO answer_counters AS c (kind, channel, state, n, parts)
        SELECT kind, channel, state, -count(*), -sum(parts) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (kind, channel, state) DO UPDATE SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts;
        RETURN NULL;
    END IF;
    SELECT o.state AS from_state, n.state AS to_state, o.id INTO bad
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE n.state <> o.state
       AND NOT EXISTS (SELECT 1 FROM message_transitions t WHERE t.from_state = o.state AND t.to_state = n.state)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'illegal answer transition % → %', bad.from_state, bad.to_state
            USING ERRCODE = 'check_violation', DETAIL = format('answer %s', bad.id);
    END IF;
    INSERT INTO answer_counters AS c (kind, channel, state, n, parts)
    SELECT kind, channel, state, sum(n), sum(parts) FROM (
        SELECT kind, channel, state, -1 AS n, -parts AS parts FROM old_rows
        UNION ALL
        SELECT kind, channel, state, 1, parts FROM new_rows) d
     GROUP BY 1, 2, 3
    HAVING sum(n) <> 0 OR sum(parts) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (kind, channel, state) DO UPDATE SET n = c.n + EXCLUDED.n, parts = c.parts + EXCLUDED.parts;
    RETURN NULL;
END $$;


DROP TRIGGER IF EXISTS outbound_answers_count_ins ON outbound_answers;
CREATE TRIGGER outbound_answers_count_ins AFTER INSERT ON outbound_answers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outbound_answers_count();
DROP TRIGGER IF EXISTS outbound_answers_count_upd ON outbound_answers;
CREATE TRIGGER outbound_answers_count_upd AFTER UPDATE ON outbound_answers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION outbound_answers_count();
DROP TRIGGER IF EXISTS outbound_answers_count_del ON outbound_answers;
CREATE TRIGGER outbound_answers_count_del AFTER DELETE ON outbound_answers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION outbound_answers_count();

-- Queues an answer of KIND to reply P_REPLY (P_ANSWER fills {{answer}} of its text) and says so
-- with NOTIFY loa_answers. It goes by Zalo consultation message when the citizen (or this Zalo
-- user) wrote to the OA within the last 7 days, Zalo's limit for it, else by SMS to the phone;
-- the gateway is the one the chosen channel's reply came in on (the daemon maps a gateway that
-- cannot send it to one that can). An automatic answer (every kind but 'officer') is not queued
-- when P_PER_HOUR of them went to the same sender in the last hour: a flood is stored, not
-- answered; a citizen who writes both by SMS and on Zalo has one limit. An opt-out's confirmation counts only earlier confirmations: a STOP after a few
-- questions is confirmed, and only a new opt-out is confirmed at all (loa_take_reply). Returns the answer's id, or NULL when none was queued.
CREATE OR REPLACE FUNCTION loa_answer_queue(p_reply bigint, p_kind text, p_answer text, p_by text,
                                            p_per_hour int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r replies%ROWTYPE;
    z replies%ROWTYPE;
    v_channel text;
    v_gateway text;
    v_addr text;
    v_state text := 'pending';
    v_reason text;
    v_id bigint;
BEGIN
    SELECT * INTO r FROM replies WHERE id = p_reply;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_kind <> 'officer' AND (SELECT count(*) FROM outbound_answers a JOIN replies q ON q.id = a.reply_id
                                 WHERE (q.from_addr = r.from_addr OR q.citizen_id = r.citizen_id)
                                   AND q.received_at > loa_now() - interval '1 hour'
                                   AND a.kind <> 'officer' AND a.created_at > loa_now() - interval '1 hour'
                                   AND (p_kind <> 'opt_out' OR a.kind = 'opt_out')) >= p_per_hour THEN
        RETURN NULL;
    END IF;
    SELECT * INTO z FROM replies q
     WHERE q.channel = 'zalo' AND q.received_at > loa_now() - interval '7 days'
       AND (q.id = r.id OR (r.channel = 'zalo' AND q.from_addr = r.from_addr)
            OR (r.citizen_id IS NOT NULL AND q.citizen_id = r.citizen_id))
     ORDER BY q.received_at DESC LIMIT 1;
    IF FOUND THEN
        v_channel := 'zalo';
        v_gateway := z.gateway;
        v_addr := z.from_addr;
    ELSE
        v_channel := 'sms';
        IF r.channel = 'sms' THEN
            v_gateway := r.gateway;
            v_addr := r.from_addr;
        ELSE
            SELECT c.phone INTO v_addr FROM citizens c WHERE c.id = r.citizen_id AND NOT c.phone_invalid;
        END IF;
        IF v_addr IS NULL THEN
            v_addr := r.from_addr;
            v_state := 'failed';
            v_reason := 'no Zalo message in 7 days and no phone number';
        END IF;
    END IF;
    INSERT INTO outbound_answers (reply_id, kind, citizen_id, channel, gateway, address, body,
                                  answered_by, state, reason, final_at)
    SELECT r.id, p_kind, r.citizen_id, v_channel, v_gateway, v_addr,
           replace(t.text, '{{answer}}', COALESCE(p_answer, '')), p_by, v_state, v_reason,
           CASE WHEN v_state = 'failed' THEN loa_now() END
      FROM answer_texts t WHERE t.kind = p_kind
    RETURNING id INTO v_id;
    IF v_id IS NOT NULL AND v_state = 'pending' THEN
        PERFORM pg_notify('loa_answers', v_id::text);
    END IF;
    RETURN v_id;
END $$;

-- Records a citizen's reply and acts on it in one transaction, with the intent the keyword table
-- gave it (sql/010_replies.sql). The citizen is found by phone (SMS) or by Zalo user id or phone
-- (Zalo); the campaign is the latest that sent them something within P_WINDOW_DAYS. A reply
-- already recorded (same gateway and external id) changes nothing and returns 'duplicate'.
--   opt_out  every citizen with that address is opted out of every channel and their waiting
--            messages suppressed at once; a new opt-out is confirmed once.
--   opt_in   lifts the opt-outs that replies made (an officer's or an import's stays), confirmed.
--   a question or unknown text that the daemon matched in the FAQ bank (P_FAQ_ANSWER) is
--            answered with it and leaves the officers' queue; other unknown text gets the help
--            text, at most once in P_HELP_HOURS per sender.
-- Every automatic answer is subject to loa_answer_queue's limit of P_PER_HOUR.
CREATE OR REPLACE FUNCTION loa_take_reply(p_gateway text, p_channel text, p_from text, p_body text,
                                          p_external text, p_intent text, p_source text,
                                          p_window_days int, p_per_hour int, p_help_hours int,
                                          p_faq_answer text)
RETURNS TABLE (reply_id bigint, reply_intent text, answer_id bigint, answer_kind text)
LANGUAGE plpgsql AS $$
DECLARE
    v_cz bigint[];
    v_citizen bigint;
    v_campaign bigint;
    v_id bigint;
    v_kind text;
    v_answer bigint;
    n bigint := 0;
BEGIN
    -- Replies from one sender are taken one at a time: the limits below count the answers
    -- already queued, and two replies taken at once by two connections each counted the
    -- other's answer as not yet there (a flood of 8 got 5 answers with a limit of 4).
    PERFORM pg_advisory_xact_lock(7140004, hashtext(p_from));
    SELECT array_agg(c.id ORDER BY c.id) INTO v_cz FROM citizens c
     WHERE c.phone = p_from OR (p_channel = 'zalo' AND c.zalo_user_id = p_from);
    -- And one citizen at a time, whichever address they write from (their phone by SMS, their
    -- Zalo id): the limits count per citizen too. Always after the sender's lock, so that two
    -- replies never wait for each other in opposite orders.
    IF v_cz IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(7140004, hashtext('citizen:' || v_cz[1]::text));
    END IF;
    SELECT m.campaign_id, m.citizen_id INTO v_campaign, v_citizen FROM messages m
     WHERE m.citizen_id = ANY (v_cz)
       AND m.state IN ('submitted', 'delivered', 'undelivered', 'in_doubt')
       AND m.submitted_at > loa_now() - make_interval(days => p_window_days)
     ORDER BY m.submitted_at DESC LIMIT 1;
    INSERT INTO replies (channel, gateway, external_id, from_addr, citizen_id, campaign_id, body, intent)
    VALUES (p_channel, p_gateway, p_external, p_from, COALESCE(v_citizen, v_cz[1]), v_campaign, p_body, p_intent)
    ON CONFLICT (gateway, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'duplicate'::text, NULL::bigint, NULL::text;
        RETURN;
    END IF;
    IF p_intent = 'opt_out' THEN
        INSERT INTO opt_outs (citizen_id, channel, source)
        SELECT unnest(v_cz), 'all', p_source
        ON CONFLICT (citizen_id, channel) DO NOTHING;
        GET DIAGNOSTICS n = ROW_COUNT;
        UPDATE messages m SET state = 'suppressed', reason = 'opted out by reply', final_at = loa_now()
         WHERE m.citizen_id = ANY (v_cz) AND m.state IN ('pending', 'retry_wait');
        v_kind := CASE WHEN n > 0 THEN 'opt_out' END;
    ELSIF p_intent = 'opt_in' THEN
        DELETE FROM opt_outs o
         WHERE o.citizen_id = ANY (v_cz) AND o.source IN ('sms_reply', 'zalo_reply');
        GET DIAGNOSTICS n = ROW_COUNT;
        v_kind := CASE WHEN n > 0 THEN 'opt_in' END;
    ELSIF p_faq_answer IS NOT NULL AND p_intent IN ('question', 'other') THEN
        UPDATE replies SET answer = p_faq_answer, answered_by = 'faq', answered_at = loa_now() WHERE id = v_id;
        v_kind := 'faq';
    ELSIF p_intent = 'other' AND NOT EXISTS (
            SELECT 1 FROM outbound_answers a JOIN replies q ON q.id = a.reply_id
             WHERE a.kind = 'help' AND a.created_at > loa_now() - make_interval(hours => p_help_hours)
               AND (q.from_addr = p_from OR q.citizen_id = ANY (v_cz))) THEN
        v_kind := 'help';
    END IF;
    IF v_kind IS NOT NULL THEN
        v_answer := loa_answer_queue(v_id, v_kind, p_faq_answer, 'loa', p_per_hour);
    END IF;
    RETURN QUERY SELECT v_id, p_intent, v_answer, CASE WHEN v_answer IS NOT NULL THEN v_kind END;
END $$;

-- The reply intake of earlier releases, for callers that only need the intent: the defaults of
-- [replies] (engine/answers.h), no FAQ answer.
CREATE OR REPLACE FUNCTION loa_apply_reply(p_gateway text, p_channel text, p_from text, p_body text,
                                           p_external text, p_intent text, p_source text) RETURNS text
LANGUAGE sql AS $$
    SELECT reply_intent FROM loa_take_reply(p_gateway, p_channel, p_from, p_body, p_external,
                                            p_intent, p_source, 14, 4, 24, NULL)
$$;

-- An officer's answer TEXT by BY to reply P_REPLY, recorded on the reply and queued. NULL when
-- the reply does not exist or was answered first (two officers answering at once cannot both
-- send).
CREATE OR REPLACE FUNCTION loa_answer_officer(p_reply bigint, p_text text, p_by text)
RETURNS TABLE (answer_id bigint, channel text, address text, state text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_id bigint;
BEGIN
    UPDATE replies SET answer = p_text, answered_by = p_by, answered_at = loa_now()
     WHERE id = p_reply AND answered_at IS NULL;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_id := loa_answer_queue(p_reply, 'officer', p_text, p_by, 0);
    RETURN QUERY SELECT a.id, a.channel, a.address, a.state FROM outbound_answers a WHERE a.id = v_id;
END $$;

-- Leases up to P_N due answers for gateway P_GATEWAY of CHANNEL: its own and, when P_CATCH_ALL,
-- those of the channel whose gateway is none of P_SENDERS (the gateways that can send the
-- channel's answers: a Zalo reply may have come in on a ZNS gateway). Leases of answers whose
-- daemon did not finish them become in_doubt first: the gateway may have taken them. The lease
-- counts the attempt.
CREATE OR REPLACE FUNCTION loa_answer_lease(p_gateway text, p_channel text, p_catch_all boolean,
                                            p_senders text[], p_owner text, p_n int, p_lease_s int)
RETURNS TABLE (id bigint, kind text, address text, body text, attempts int, full_name text,
               gender text, birth_date text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    UPDATE outbound_answers a SET state = 'in_doubt', reason = 'lease expired', lease_owner = NULL
     WHERE a.state = 'leased' AND a.lease_until < loa_now();
    RETURN QUERY
    WITH due AS (
        SELECT a.id FROM outbound_answers a
         WHERE a.state IN ('pending', 'retry_wait') AND a.due_at <= loa_now() AND a.channel = p_channel
           AND (a.gateway = p_gateway
                OR (p_catch_all AND (a.gateway IS NULL OR NOT a.gateway = ANY (p_senders))))
         ORDER BY a.due_at, a.id
         LIMIT p_n
         FOR UPDATE SKIP LOCKED
    ), upd AS (
        UPDATE outbound_answers a SET state = 'leased', attempts = a.attempts + 1, lease_owner = p_owner,
                                      lease_until = loa_now() + make_interval(secs => p_lease_s),
                                      gateway = p_gateway
          FROM due WHERE a.id = due.id
        RETURNING a.id, a.kind, a.address, a.body, a.attempts, a.citizen_id
    )
    SELECT u.id, u.kind, u.address, u.body, u.attempts, c.full_name, c.gender,
           to_char(c.birth_date, 'YYYY-MM-DD')
      FROM upd u LEFT JOIN citizens c ON c.id = u.citizen_id
     ORDER BY u.id;
END $$;

-- The outcome of one leased answer: P_STATE is what engine/outcome.c decided (submitted,
-- delivered, retry_wait after P_DELAY_S, failed, in_doubt, or fallback: Zalo cannot reach the
-- citizen, and the answer goes again by SMS to their phone when there is one). 1 when recorded.
CREATE OR REPLACE FUNCTION loa_answer_result(p_id bigint, p_state text, p_gwid text, p_reason text,
                                             p_parts int, p_delay_s int) RETURNS int
LANGUAGE sql AS $$
    WITH a AS (
        SELECT a.id, (SELECT c.phone FROM citizens c WHERE c.id = a.citizen_id AND NOT c.phone_invalid) AS phone
          FROM outbound_answers a WHERE a.id = p_id AND a.state = 'leased'
    ), upd AS (
        UPDATE outbound_answers o
           SET state = CASE WHEN p_state IN ('submitted', 'in_doubt') AND o.parked_dlr IS NOT NULL THEN o.parked_dlr
                            WHEN p_state <> 'fallback' THEN p_state
                            WHEN a.phone IS NOT NULL THEN 'pending' ELSE 'failed' END,
               parked_dlr = NULL,
               channel = CASE WHEN p_state = 'fallback' AND a.phone IS NOT NULL THEN 'sms' ELSE o.channel END,
               address = CASE WHEN p_state = 'fallback' AND a.phone IS NOT NULL THEN a.phone ELSE o.address END,
               gateway = CASE WHEN p_state = 'fallback' AND a.phone IS NOT NULL THEN NULL ELSE o.gateway END,
               parts = p_parts,
               gateway_msg_id = NULLIF(p_gwid, ''),
               reason = NULLIF(p_reason, ''),
               due_at = loa_now() + make_interval(secs => COALESCE(p_delay_s, 0)),
               sent_at = CASE WHEN p_state IN ('submitted', 'delivered', 'in_doubt') THEN loa_now() ELSE o.sent_at END,
               final_at = CASE WHEN p_state IN ('delivered', 'failed')
                                 OR (p_state IN ('submitted', 'in_doubt') AND o.parked_dlr IS NOT NULL)
                                 OR (p_state = 'fallback' AND a.phone IS NULL) THEN loa_now() END,
               lease_owner = NULL, lease_until = NULL
          FROM a WHERE o.id = a.id
        RETURNING 1
    )
    SELECT count(*)::int FROM upd
$$;

-- Leased answers this daemon did not send (it is stopping) go back to pending, not counted.
CREATE OR REPLACE FUNCTION loa_answer_return(p_owner text, p_ids bigint[]) RETURNS int
LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE outbound_answers a SET state = 'pending', attempts = a.attempts - 1, lease_owner = NULL,
                                      lease_until = NULL
         WHERE a.id = ANY (p_ids) AND a.state = 'leased' AND a.lease_owner = p_owner
        RETURNING 1
    )
    SELECT count(*)::int FROM upd
$$;

-- A delivery report for answer P_ID sent through P_GATEWAY: P_FINAL 'delivered' or
-- 'undelivered' (NULL for an intermediate report, which changes nothing). A report for an answer
-- still leased (its submission's answer is not recorded yet) is parked on the row and applied by
-- loa_answer_result. 1 when applied or parked.
CREATE OR REPLACE FUNCTION loa_answer_dlr(p_gateway text, p_id bigint, p_final text) RETURNS int
LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE outbound_answers a
           SET state = CASE WHEN a.state = 'leased' THEN a.state ELSE p_final END,
               parked_dlr = CASE WHEN a.state = 'leased' THEN p_final END,
               final_at = CASE WHEN a.state = 'leased' THEN a.final_at ELSE loa_now() END
         WHERE a.id = p_id AND a.gateway = p_gateway AND p_final IN ('delivered', 'undelivered')
           AND a.state IN ('leased', 'submitted', 'in_doubt')
        RETURNING 1
    )
    SELECT count(*)::int FROM upd
$$;

-- Zalo says which OA messages a user has read (user_seen_message, message.msg_ids): an answer
-- sent by the consultation API with one of P_MSG_IDS as its message_id was delivered. Zalo's
-- documentation names no delivery receipt for consultation messages, so a read one is the
-- proof there is; an answer nobody reads stays submitted. Ids of other messages (campaign ZNS,
-- messages sent from Zalo's own console) change nothing. Returns the answers delivered.
CREATE OR REPLACE FUNCTION loa_answers_seen(p_msg_ids text[]) RETURNS int
LANGUAGE sql AS $$
    WITH upd AS (
        UPDATE outbound_answers a
           SET state = 'delivered', final_at = now()
         WHERE a.channel = 'zalo' AND a.gateway_msg_id = ANY (p_msg_ids)
           AND a.state IN ('submitted', 'in_doubt')
        RETURNING 1
    )
    SELECT count(*)::int FROM upd
$$;

-- Every new opt-out, whatever made it (a reply, an import, an officer), is announced with
-- NOTIFY loa_opt_outs at commit: the daemons drop the citizens' messages they leased before and
-- hold for room in a throttle (engine/dispatch_optout.c). The payload names each citizen with the
-- channel refused (CITIZEN_ID:CHANNEL, comma-separated), or is '*' when too many for one
-- notification (8000 bytes).
CREATE OR REPLACE FUNCTION opt_outs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text;
    n bigint;
BEGIN
    SELECT count(*), string_agg(citizen_id::text || ':' || channel, ',') INTO n, ids FROM new_rows;
    IF n > 0 THEN
        PERFORM pg_notify('loa_opt_outs', CASE WHEN n <= 300 THEN ids ELSE '*' END);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS opt_outs_notify_ins ON opt_outs;
CREATE TRIGGER opt_outs_notify_ins AFTER INSERT ON opt_outs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION opt_outs_notify();

-- The policy figures an FAQ answer may quote, so that the bank follows the law as the policies
-- table holds it (sql/003_policy.sql: a new decree is a new row) instead of repeating figures
-- that go stale. Rendered when the bank is loaded (FAQ_BANK_SQL, campaigns/faq.c), for the
-- local day P_DAY:
--   {{poverty_line_vnd}} {{contribution_pct}} {{min_contribution_vnd}} {{policy_source}}
--   {{policy_from}}          of the policy of the rule that matches everybody (match 'any');
--   {{support_pct:CODE}} {{support_vnd:CODE}} {{own_vnd:CODE}}   of policy CODE (poor, near_poor,
--                            ethnic_minority, other…): the state's share in percent, in đồng,
--                            and what the citizen pays on the minimum.
-- Amounts and percentages are written as templates write them (campaigns/policy.c): 330.000 đ,
-- 22, 12,5. {{name}} is left for the answer's rendering (campaigns/answer.c).
CREATE OR REPLACE FUNCTION loa_vnd_text(p_vnd numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(to_char(round(p_vnd), 'FM999,999,999,999,990'), ',', '.') || ' đ'
$$;

CREATE OR REPLACE FUNCTION loa_pct_text(p_pct numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(trim_scale(p_pct)::text, '.', ',')
$$;

CREATE OR REPLACE FUNCTION loa_policy_text(p_text text, p_day date) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_out text := p_text;
    v_base_code text;
    p record;
    v_min numeric;
    v_support numeric;
BEGIN
    IF p_text IS NULL OR position('{{' IN p_text) = 0 THEN
        RETURN p_text;
    END IF;
    SELECT policy_code INTO v_base_code FROM policy_rules WHERE match_field = 'any' ORDER BY priority LIMIT 1;
    FOR p IN SELECT code, poverty_line_vnd, contribution_pct, support_pct, source, valid_from FROM policies
              WHERE valid_from <= p_day AND (valid_to IS NULL OR valid_to > p_day) ORDER BY code LOOP
        -- As campaigns/policy.c rounds it: to the đồng, half up.
        v_min := round(p.poverty_line_vnd * p.contribution_pct / 100);
        v_support := round(v_min * p.support_pct / 100);
        v_out := replace(v_out, '{{support_pct:' || p.code || '}}', loa_pct_text(p.support_pct));
        v_out := replace(v_out, '{{support_vnd:' || p.code || '}}', loa_vnd_text(v_support));
        v_out := replace(v_out, '{{own_vnd:' || p.code || '}}', loa_vnd_text(v_min - v_support));
        IF p.code = v_base_code THEN
            v_out := replace(v_out, '{{poverty_line_vnd}}', loa_vnd_text(p.poverty_line_vnd));
            v_out := replace(v_out, '{{contribution_pct}}', loa_pct_text(p.contribution_pct));
            v_out := replace(v_out, '{{min_contribution_vnd}}', loa_vnd_text(v_min));
            v_out := replace(v_out, '{{policy_source}}', COALESCE(p.source, ''));
            v_out := replace(v_out, '{{policy_from}}', to_char(p.valid_from, 'DD/MM/YYYY'));
        END IF;
    END LOOP;
    RETURN v_out;
END $$;

-- The first placeholder of P_TEXT that loa_policy_text() does not know, or NULL: `loa faq add`
-- and `import` refuse an answer that would reach citizens with braces in it.
CREATE OR REPLACE FUNCTION loa_policy_text_unknown(p_text text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT t.m[1] FROM regexp_matches(p_text, '\{\{([^{}]*)\}\}', 'g') AS t(m)
     WHERE t.m[1] NOT IN ('name', 'poverty_line_vnd', 'contribution_pct', 'min_contribution_vnd',
                          'policy_source', 'policy_from')
       AND NOT EXISTS (SELECT 1 FROM policies p
                        WHERE t.m[1] IN ('support_pct:' || p.code, 'support_vnd:' || p.code, 'own_vnd:' || p.code))
     LIMIT 1
$$;
