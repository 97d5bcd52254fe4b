-- The supervisors' view: logins, sessions and the audit log of the API (web/), campaign
-- topics and the coverage targets of the provinces' plans.

-- A password for the dashboard's login: "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX"
-- (campaigns/users.c). NULL: the user has only the API token. A disabled user keeps the rows
-- that name them (approvals, answers, the audit log) but is refused everywhere.
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- A dashboard session: the cookie's value is shown to the browser only; the database keeps
-- its SHA-256, like the API tokens.
CREATE TABLE sessions (
    token_sha256 text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Every request of the API that changed something: who, what, when. Written in the same
-- statement as the change, so there is no change without its row.
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    user_name   text NOT NULL,
    action      text NOT NULL,                  -- "campaign.approve", "reply.answer", "login", …
    object      text,                           -- "campaign:12", "reply:7"
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit (at);

-- What a campaign is about, for coverage: general BHXH or voluntary BHXH.
ALTER TABLE campaigns ADD COLUMN topic text NOT NULL DEFAULT 'general'
    CHECK (topic IN ('general','voluntary'));

-- The plans' targets (`loa targets import`): per year, commune and topic, the working-age
-- population and the share of it to reach.
CREATE TABLE coverage_targets (
    year         int NOT NULL CHECK (year BETWEEN 2000 AND 2999),
    commune_code text NOT NULL REFERENCES communes(code),
    topic        text NOT NULL DEFAULT 'general' CHECK (topic IN ('general','voluntary')),
    population   bigint NOT NULL CHECK (population >= 0),
    target_pct   numeric(5,2) NOT NULL CHECK (target_pct BETWEEN 0 AND 100),
    PRIMARY KEY (year, commune_code, topic)
);

-- The API's campaign lifecycle in one statement: checks the status (P_FROM: the statuses from
-- which P_TO is a legal move, decided by the transition table in campaigns/campaign.c), moves
-- it, cancels the messages not yet handed to a gateway when it is cancelled (P_CANCEL: the
-- message states that may become cancelled, from campaigns/message.c), writes the audit row
-- and notifies the daemon. P_ACTION 'approve' records the approver instead of moving the
-- status; 'start' also refuses a campaign that has ended, has no channels, or needs an
-- approval it lacks (P_NEEDS: the segment is larger than [policy] approval_threshold).
-- No row: no such campaign. done = false: refused, nothing changed, with the reason.
CREATE OR REPLACE FUNCTION web_campaign_act(p_id bigint, p_action text, p_to text, p_from text[],
                                            p_cancel text[], p_needs boolean, p_user bigint,
                                            p_user_name text)
RETURNS TABLE (done boolean, name text, status text, reason text, messages bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c campaigns%ROWTYPE;
    n bigint := 0;
BEGIN
    SELECT * INTO c FROM campaigns WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_action = 'resume' THEN
        p_to := coalesce(c.paused_from, 'scheduled');  -- back to where it was paused from
    END IF;
    IF NOT (c.status = ANY (p_from)) THEN
        RETURN QUERY SELECT false, c.name, c.status, 'status', 0::bigint;
        RETURN;
    END IF;
    IF p_action = 'approve' THEN
        UPDATE campaigns SET approved_by = p_user_name, approved_at = now() WHERE id = p_id;
    ELSE
        IF p_action = 'start' THEN
            IF c.ends_at IS NOT NULL AND c.ends_at <= now() THEN
                RETURN QUERY SELECT false, c.name, c.status, 'ended', 0::bigint;
                RETURN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM campaign_channels WHERE campaign_id = p_id) THEN
                RETURN QUERY SELECT false, c.name, c.status, 'no_channels', 0::bigint;
                RETURN;
            END IF;
            IF p_needs AND c.approved_at IS NULL THEN
                UPDATE campaigns SET needs_approval = true WHERE id = p_id;
                RETURN QUERY SELECT false, c.name, c.status, 'approval', 0::bigint;
                RETURN;
            END IF;
            UPDATE campaigns SET needs_approval = p_needs WHERE id = p_id;
        END IF;
        UPDATE campaigns SET status = p_to,
            paused_from = CASE WHEN p_to = 'paused' THEN c.status END,
            started_at = CASE WHEN p_to = 'running' THEN coalesce(c.started_at, now()) ELSE c.started_at END,
            completed_at = CASE WHEN p_to IN ('completed','cancelled') THEN now() ELSE c.completed_at END
        WHERE id = p_id;
        IF p_to = 'cancelled' THEN
            UPDATE messages SET state = 'cancelled', final_at = now(), reason = 'campaign cancelled'
            WHERE campaign_id = p_id AND state = ANY (p_cancel);
            GET DIAGNOSTICS n = ROW_COUNT;
        END IF;
    END IF;
    INSERT INTO audit (user_id, user_name, action, object, detail)
    VALUES (p_user, p_user_name, 'campaign.' || p_action, 'campaign:' || p_id,
            jsonb_build_object('campaign', c.name, 'from', c.status, 'to', coalesce(p_to, c.status),
                               'messages_cancelled', n));
    PERFORM pg_notify('loa_campaigns', p_id::text);
    RETURN QUERY SELECT true, c.name, coalesce(p_to, c.status), NULL::text, n;
END $$;

-- Each change of a citizen's participation as imports write it (an UPDATE, including the
-- ON CONFLICT DO UPDATE of `import citizens`): the history conversions are measured on. One
-- statement-level trigger, so a large import pays one insert, not one call per row. No
-- foreign key: the bulk import drops and rebuilds those of citizens.
CREATE TABLE participation_changes (
    citizen_id  bigint NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    old_value   text,
    new_value   text
);
CREATE INDEX participation_changes_citizen ON participation_changes (citizen_id, changed_at);

CREATE OR REPLACE FUNCTION citizens_participation_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO participation_changes (citizen_id, old_value, new_value)
    SELECT n.id, o.participation, n.participation
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.participation IS DISTINCT FROM n.participation;
    RETURN NULL;
END $$;
CREATE TRIGGER citizens_participation_log AFTER UPDATE ON citizens
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION citizens_participation_log();

-- The API's `campaign create`: a draft campaign, its channel steps (P_CHANNELS, P_TEMPLATES,
-- P_GATEWAYS in order; a gateway NULL: the channel's first), its messages' partition, the
-- audit row and the NOTIFY, in one statement. Times are text: with an offset they are
-- timestamptz, without one (P_*_LOCAL) local time in P_TZ. A refusal changes nothing and says
-- why in `error` (id NULL), worded as `loa campaign create` words it.
CREATE OR REPLACE FUNCTION web_campaign_create(p_name text, p_segment text, p_starts text,
        p_starts_local boolean, p_ends text, p_ends_local boolean, p_tz text, p_ws time, p_we time,
        p_topic text, p_channels text[], p_templates text[], p_gateways text[], p_user bigint,
        p_user_name text)
RETURNS TABLE (id bigint, error text) LANGUAGE plpgsql AS $$
DECLARE
    seg bigint;
    s timestamptz;
    e timestamptz;
    cid bigint;
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
    IF e IS NOT NULL AND e <= now() THEN
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
    INSERT INTO campaigns (name, segment_id, starts_at, ends_at, window_start, window_end, topic)
    VALUES (p_name, seg, s, e, p_ws, p_we, p_topic) RETURNING campaigns.id INTO cid;
    INSERT INTO campaign_channels (campaign_id, position, channel, template_id, gateway)
    SELECT cid, (i - 1)::smallint, p_channels[i], t.id, p_gateways[i]
    FROM generate_subscripts(p_channels, 1) i JOIN templates t ON t.name = p_templates[i];
    PERFORM campaign_partition_ensure(cid);
    INSERT INTO audit (user_id, user_name, action, object, detail)
    VALUES (p_user, p_user_name, 'campaign.create', 'campaign:' || cid,
            jsonb_build_object('campaign', p_name, 'segment', p_segment, 'topic', p_topic));
    PERFORM pg_notify('loa_campaigns', cid::text);
    RETURN QUERY SELECT cid, NULL::text;
END $$;
