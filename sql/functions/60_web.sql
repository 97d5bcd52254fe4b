-- The supervisors' side (web/, and `loa campaign approve`): approvals by a known supervisor,
-- the API's campaign changes with their audit rows, and the history of participation that
-- conversions are measured on (tables in sql/011_web.sql).

-- Approves draft P_ID by user P_USER, who must exist, be enabled and have role supervisor or
-- admin; records the approver and the audit row and notifies the daemon, in one statement.
-- reason: NULL when done; 'no_campaign', 'status' (not a draft: status says which),
-- 'not_supervisor' (no such user, disabled, or another role) otherwise, and nothing changed.
CREATE OR REPLACE FUNCTION loa_campaign_approve(p_id bigint, p_user text)
RETURNS TABLE (reason text, name text, status text, approved_by text)
LANGUAGE plpgsql AS $$
DECLARE
    c campaigns%ROWTYPE;
    u users%ROWTYPE;
BEGIN
    SELECT * INTO c FROM campaigns k WHERE k.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_campaign'::text, NULL::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    IF c.status <> 'draft' THEN
        RETURN QUERY SELECT 'status'::text, c.name, c.status, c.approved_by;
        RETURN;
    END IF;
    SELECT * INTO u FROM users x WHERE x.name = p_user AND x.disabled_at IS NULL
                                   AND x.role IN ('supervisor', 'admin');
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_supervisor'::text, c.name, c.status, c.approved_by;
        RETURN;
    END IF;
    UPDATE campaigns k SET approved_by = u.name, approved_at = loa_now() WHERE k.id = p_id;
    INSERT INTO audit (user_id, user_name, action, object, detail)
    VALUES (u.id, u.name, 'campaign.approve', 'campaign:' || p_id,
            jsonb_build_object('campaign', c.name, 'from', c.status, 'to', c.status));
    PERFORM pg_notify('loa_campaigns', p_id::text);
    RETURN QUERY SELECT NULL::text, c.name, c.status, u.name;
END $$;

-- The API's lifecycle in one statement: start, pause, resume and cancel move the status with
-- loa_campaign_set_status() (P_TO from one of P_FROM, which the caller takes from the
-- transition table of campaigns/campaign_status.c; resume goes back to where it was paused
-- from), cancel also cancels the messages not yet handed to a gateway (P_CANCEL: the states
-- that may become cancelled, from campaigns/message.c); approve goes through
-- loa_campaign_approve(). The audit row and the NOTIFY are written in the same statement.
-- 'start' also refuses a campaign that has ended, has no channels, or needs an approval it
-- lacks (P_NEEDS: its segment is larger than [policy] approval_threshold).
-- No row: no such campaign. done = false: refused, nothing changed, with the reason.
CREATE OR REPLACE FUNCTION web_campaign_act(p_id bigint, p_action text, p_to text, p_from text[],
                                            p_cancel text[], p_needs boolean, p_user bigint,
                                            p_user_name text)
RETURNS TABLE (done boolean, name text, status text, reason text, messages bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c campaigns%ROWTYPE;
    n bigint := 0;
    why text;
BEGIN
    SELECT * INTO c FROM campaigns k WHERE k.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_action = 'approve' THEN
        SELECT a.reason INTO why FROM loa_campaign_approve(p_id, p_user_name) a;
        RETURN QUERY SELECT why IS NULL, c.name, c.status, why, 0::bigint;
        RETURN;
    END IF;
    IF p_action = 'resume' THEN
        p_to := CASE WHEN c.paused_from = 'running' THEN 'running' ELSE 'scheduled' END;
    END IF;
    IF NOT (c.status = ANY (p_from)) THEN
        RETURN QUERY SELECT false, c.name, c.status, 'status'::text, 0::bigint;
        RETURN;
    END IF;
    IF p_action = 'start' THEN
        IF c.ends_at IS NOT NULL AND c.ends_at <= loa_now() THEN
            RETURN QUERY SELECT false, c.name, c.status, 'ended'::text, 0::bigint;
            RETURN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM campaign_channels cc WHERE cc.campaign_id = p_id) THEN
            RETURN QUERY SELECT false, c.name, c.status, 'no_channels'::text, 0::bigint;
            RETURN;
        END IF;
        UPDATE campaigns k SET needs_approval = p_needs WHERE k.id = p_id;
        IF p_needs AND c.approved_at IS NULL THEN
            -- needs_approval stays recorded, as `campaign start` records it.
            RETURN QUERY SELECT false, c.name, c.status, 'approval'::text, 0::bigint;
            RETURN;
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM loa_campaign_set_status(p_id, p_to, p_from)) THEN
        RETURN QUERY SELECT false, c.name, c.status, 'status'::text, 0::bigint;
        RETURN;
    END IF;
    IF p_to = 'cancelled' THEN
        n := loa_cancel_messages(p_id, p_cancel);
    END IF;
    INSERT INTO audit (user_id, user_name, action, object, detail)
    VALUES (p_user, p_user_name, 'campaign.' || p_action, 'campaign:' || p_id,
            jsonb_build_object('campaign', c.name, 'from', c.status, 'to', p_to,
                               'messages_cancelled', n));
    PERFORM pg_notify('loa_campaigns', p_id::text);
    RETURN QUERY SELECT true, c.name, p_to, NULL::text, n;
END $$;

-- The API's `campaign create`: a draft campaign, its channel steps (P_CHANNELS, P_TEMPLATES,
-- P_GATEWAYS in order; a gateway NULL: the channel's first), its messages' partition, the
-- audit row and the NOTIFY, in one statement. Times are text: with an offset they are
-- timestamptz, without one (P_*_LOCAL) local time in P_TZ. A refusal changes nothing and says
-- why in `error` (id NULL), worded as `loa campaign create` words it. P_PER_PHONE and
-- P_DAILY_CAP are `--per-phone` and `--daily-cap` (NULL: the column's default, no cap).
-- The first release's signature had neither; a call with its 15 arguments would be ambiguous
-- beside this one, so it goes.
DROP FUNCTION IF EXISTS web_campaign_create(text, text, text, boolean, text, boolean, text, time, time,
        text, text[], text[], text[], bigint, text);
CREATE OR REPLACE FUNCTION web_campaign_create(p_name text, p_segment text, p_starts text,
        p_starts_local boolean, p_ends text, p_ends_local boolean, p_tz text, p_ws time, p_we time,
        p_topic text, p_channels text[], p_templates text[], p_gateways text[], p_user bigint,
        p_user_name text, p_per_phone text, p_daily_cap int)
RETURNS TABLE (id bigint, error text) LANGUAGE plpgsql AS $$
DECLARE
    seg bigint;
    s timestamptz;
    e timestamptz;
    cid bigint;
    pp text;
    tpl bigint;
    kind text;
    want text;
BEGIN
    IF EXISTS (SELECT 1 FROM campaigns c WHERE c.name = p_name) THEN
        RETURN QUERY SELECT NULL::bigint, format('a campaign named ''%s'' already exists', p_name);
        RETURN;
    END IF;
    SELECT sg.id INTO seg FROM segments sg WHERE sg.name = p_segment;
    IF seg IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, format('no segment ''%s''', p_segment);
        RETURN;
    END IF;
    s := CASE WHEN p_starts IS NULL THEN NULL WHEN p_starts_local THEN p_starts::timestamp AT TIME ZONE p_tz
              ELSE p_starts::timestamptz END;
    e := CASE WHEN p_ends IS NULL THEN NULL WHEN p_ends_local THEN p_ends::timestamp AT TIME ZONE p_tz
              ELSE p_ends::timestamptz END;
    IF e IS NOT NULL AND e <= loa_now() THEN
        RETURN QUERY SELECT NULL::bigint, format('end %s is already past', p_ends);
        RETURN;
    END IF;
    IF s IS NOT NULL AND e IS NOT NULL AND s >= e THEN
        RETURN QUERY SELECT NULL::bigint, 'start must be before end'::text;
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_channels, 1), 0) LOOP
        SELECT t.id, t.channel INTO tpl, kind FROM templates t WHERE t.name = p_templates[i];
        IF tpl IS NULL THEN
            RETURN QUERY SELECT NULL::bigint, format('no template ''%s''', p_templates[i]);
            RETURN;
        END IF;
        -- (a CASE in an IF condition would end at its first THEN)
        want := CASE p_channels[i] WHEN 'sms' THEN 'sms' ELSE 'zns' END;
        IF kind <> want THEN
            RETURN QUERY SELECT NULL::bigint, format('template ''%s'' is a %s template; channel %s needs a %s template',
                p_templates[i], kind, p_channels[i], want);
            RETURN;
        END IF;
    END LOOP;
    INSERT INTO campaigns (name, segment_id, starts_at, ends_at, window_start, window_end, topic,
                           per_phone, daily_cap)
    VALUES (p_name, seg, s, e, p_ws, p_we, p_topic, coalesce(p_per_phone, 'one'), p_daily_cap)
    RETURNING campaigns.id, campaigns.per_phone INTO cid, pp;
    INSERT INTO campaign_channels (campaign_id, position, channel, template_id, gateway)
    SELECT cid, (i - 1)::smallint, p_channels[i], t.id, p_gateways[i]
    FROM generate_subscripts(p_channels, 1) i JOIN templates t ON t.name = p_templates[i];
    PERFORM campaign_partition_ensure(cid);
    INSERT INTO audit (user_id, user_name, action, object, detail)
    VALUES (p_user, p_user_name, 'campaign.create', 'campaign:' || cid,
            jsonb_build_object('campaign', p_name, 'segment', p_segment, 'topic', p_topic,
                               'per_phone', pp, 'daily_cap', p_daily_cap));
    PERFORM pg_notify('loa_campaigns', cid::text);
    RETURN QUERY SELECT cid, NULL::text;
END $$;

-- Each change of a citizen's participation as imports write it (an UPDATE, including the
-- ON CONFLICT DO UPDATE of `import citizens`): the history conversions are measured on. One
-- statement-level trigger, so a large import pays one insert, not one call per row.
CREATE OR REPLACE FUNCTION citizens_participation_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO participation_changes (citizen_id, old_value, new_value)
    SELECT n.id, o.participation, n.participation
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.participation IS DISTINCT FROM n.participation;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS citizens_participation_log ON citizens;
CREATE TRIGGER citizens_participation_log AFTER UPDATE ON citizens
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION citizens_participation_log();

-- Answers reply P_ID with P_TEXT by P_BY and queues the answer on the reply's channel
-- (outbound_answers, NOTIFY loa_answers), in one statement; with P_USER (an API user), also the
-- audit row. answered_at IS NULL: two officers answering at once cannot both send. No row: no
-- such reply, or it was answered first; nothing changed.
CREATE OR REPLACE FUNCTION loa_reply_answer(p_id bigint, p_text text, p_by text, p_user bigint)
RETURNS TABLE (answer_id bigint, channel text, address text, state text)
LANGUAGE plpgsql AS $$
DECLARE
    a record;
BEGIN
    -- loa_answer_officer (60_answers.sql) records it only while the reply is unanswered and
    -- queues it on the channel the citizen can be reached by.
    SELECT * INTO a FROM loa_answer_officer(p_id, p_text, p_by);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_user IS NOT NULL THEN
        INSERT INTO audit (user_id, user_name, action, object, detail)
        VALUES (p_user, p_by, 'reply.answer', 'reply:' || p_id,
                jsonb_build_object('answer_id', a.answer_id, 'channel', a.channel));
    END IF;
    RETURN QUERY SELECT a.answer_id, a.channel, a.address, a.state;
END $$;
