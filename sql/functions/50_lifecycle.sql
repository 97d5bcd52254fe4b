-- The writers of campaigns.status and the daemon's housekeeping writers of messages.state that
-- used to be SQL text in C (campaigns/campaign.c, campaigns/campaign_cmd.c, engine/scheduler.c,
-- engine/dispatcher.c): every change of a state or status goes through a function of
-- sql/functions/, and the triggers of 10_messages.sql check it against the transition tables.

-- Moves campaign P_ID to P_TO if its status is one of P_FROM and the table allows the move;
-- pausing records the status paused from, running records started_at, a final status
-- completed_at. The old status is read in the same statement (a self-join on the locked row),
-- so WAS is exactly the status this call moved from. No row: refused (campaign_set_status()
-- says why).
CREATE OR REPLACE FUNCTION loa_campaign_set_status(p_id bigint, p_to text, p_from text[])
RETURNS TABLE (was text, name text)
LANGUAGE sql AS $$
    UPDATE campaigns c SET status = p_to,
           paused_from = CASE WHEN p_to = 'paused' THEN o.status ELSE NULL END,
           started_at = CASE WHEN p_to = 'running' THEN coalesce(c.started_at, loa_now())
                             ELSE c.started_at END,
           completed_at = CASE WHEN p_to IN ('completed', 'cancelled') THEN loa_now()
                               WHEN p_to = 'running' AND o.status = 'completed' THEN NULL
                               ELSE c.completed_at END
      FROM (SELECT k.id, k.status FROM campaigns k WHERE k.id = p_id FOR UPDATE) o
     WHERE c.id = o.id AND o.status = ANY (p_from)
       AND EXISTS (SELECT 1 FROM campaign_transitions t
                    WHERE t.from_status = o.status AND t.to_status = p_to)
    RETURNING o.status, c.name
$$;

-- The scheduler: scheduled campaigns that are due (and approved when they must be) run.
-- Returns their ids.
CREATE OR REPLACE FUNCTION loa_campaign_start_due() RETURNS TABLE (id bigint)
LANGUAGE sql AS $$
    UPDATE campaigns k SET status = 'running', started_at = COALESCE(k.started_at, loa_now())
     WHERE k.status = 'scheduled' AND (k.starts_at IS NULL OR k.starts_at <= loa_now())
       AND (NOT k.needs_approval OR k.approved_at IS NOT NULL)
    RETURNING k.id
$$;

-- The scheduler: campaigns whose end has passed are completed, and their messages still
-- waiting expire in the same statement. Leased messages are left to finish: their answer is
-- recorded whatever the campaign's status. Returns each campaign and how many expired.
CREATE OR REPLACE FUNCTION loa_campaign_end() RETURNS TABLE (id bigint, expired bigint)
LANGUAGE sql AS $$
    WITH k AS (
        UPDATE campaigns c SET status = 'completed', completed_at = loa_now(), materialised = true
         WHERE c.status IN ('running', 'paused') AND c.ends_at <= loa_now()
        RETURNING c.id
    ), x AS (
        UPDATE messages m SET state = 'expired', reason = 'campaign ended', final_at = loa_now()
          FROM k WHERE m.campaign_id = k.id AND m.state IN ('pending', 'retry_wait')
        RETURNING m.campaign_id
    )
    SELECT k.id, (SELECT count(*) FROM x WHERE x.campaign_id = k.id) FROM k
$$;

-- The scheduler: leases that expired (their daemon died or hung) may have reached the gateway.
-- On a gateway of P_IDEMPOTENT (it de-duplicates resends by key) the message is pending again;
-- elsewhere it is in_doubt, and counts against the frequency cap from now (loa_cap_counts).
-- Returns the messages (one row each, so that the caller's row count
-- is the number of leases expired).
CREATE OR REPLACE FUNCTION loa_expire_leases(p_idempotent text[])
RETURNS TABLE (campaign_id bigint, id bigint)
LANGUAGE sql AS $$
    UPDATE messages m
       SET state = CASE WHEN m.gateway = ANY (p_idempotent) THEN 'pending' ELSE 'in_doubt' END,
           reason = CASE WHEN m.gateway = ANY (p_idempotent) THEN m.reason
                         ELSE 'lease expired: the gateway may have taken it' END,
           submitted_at = CASE WHEN m.gateway = ANY (p_idempotent) THEN m.submitted_at
                               ELSE COALESCE(m.submitted_at, loa_now()) END,
           lease_owner = NULL, lease_until = NULL
     WHERE m.state = 'leased' AND m.lease_until < loa_now()
    RETURNING m.campaign_id, m.id
$$;

-- The scheduler: running campaigns with nothing left to do are completed. Nothing waiting (by
-- the counters, cheap) and no submission younger than P_SETTLE_S seconds (so that most reports
-- have arrived); in_doubt rows of a gateway of P_IDEMPOTENT are still waiting, since they will
-- be resent (unless their citizen opted out meanwhile: loa_lease never resends those); nor a Zalo message that may still fall back (zalo_awaiting_receipt); nor a
-- delivery report still parked (it beat its submission's answer, and loa_dlr_reconcile applies
-- it on a later pass: completing first would freeze the counters one report short). Returns the
-- ids completed.
CREATE OR REPLACE FUNCTION loa_campaign_complete(p_settle_s int, p_idempotent text[])
RETURNS TABLE (id bigint)
LANGUAGE sql AS $$
    UPDATE campaigns k SET status = 'completed', completed_at = loa_now()
     WHERE k.status = 'running' AND k.materialised
       AND NOT EXISTS (SELECT 1 FROM campaign_counters n WHERE n.campaign_id = k.id AND n.n > 0
                         AND n.state IN ('pending', 'leased', 'retry_wait'))
       AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = k.id
                         AND ((m.state = 'submitted'
                               AND m.submitted_at > loa_now() - make_interval(secs => p_settle_s))
                              OR (m.state = 'in_doubt' AND m.gateway = ANY (p_idempotent)
                                  AND NOT loa_opted_out(m.citizen_id, m.channel))))
       AND NOT zalo_awaiting_receipt(k.id)
       AND NOT EXISTS (SELECT 1 FROM dlr_parked d WHERE d.campaign_id = k.id)
    RETURNING k.id
$$;

-- The dispatcher at shutdown: the messages of the parallel arrays P_CID, P_ID, which it leased
-- after the stop began and never handed to a gateway, are pending again with the attempt given
-- back, if still leased by P_OWNER. Nothing else is: a message a gateway was given stays leased
-- until its result is written or its lease expires (in_doubt), whatever happened to the write
-- of its result, so that a restart never sends it twice. Returns the messages returned (one row
-- each).
DROP FUNCTION IF EXISTS loa_return_unsent(text, bigint[], bigint[]);
CREATE FUNCTION loa_return_unsent(p_owner text, p_unsent_cid bigint[], p_unsent_id bigint[])
RETURNS TABLE (campaign_id bigint, id bigint)
LANGUAGE sql AS $$
    UPDATE messages m SET state = 'pending', lease_owner = NULL, lease_until = NULL,
           attempts = greatest(m.attempts - 1, 0)
      FROM unnest(p_unsent_cid, p_unsent_id) AS u(campaign_id, id)
     WHERE m.campaign_id = u.campaign_id AND m.id = u.id
       AND m.state = 'leased' AND m.lease_owner = p_owner
    RETURNING m.campaign_id, m.id
$$;

-- `loa campaign cancel`, in the transaction that cancels the campaign: every message of
-- P_CAMPAIGN not yet handed to a gateway (in one of P_FROM, the states that may become
-- cancelled) is cancelled. A leased message is in a dispatcher's hands; the daemon settles it
-- when its answer comes. Returns the number cancelled.
CREATE OR REPLACE FUNCTION loa_cancel_messages(p_campaign bigint, p_from text[]) RETURNS bigint
LANGUAGE sql AS $$
    WITH c AS (
        UPDATE messages m SET state = 'cancelled', final_at = loa_now(), reason = 'campaign cancelled'
         WHERE m.campaign_id = p_campaign AND m.state = ANY (p_from)
        RETURNING 1
    )
    SELECT count(*) FROM c
$$;

-- The in-doubt messages of campaign P_CAMPAIGN that provably never reached their gateway's
-- SMSC, for `loa campaign resend --in-doubt`. A Kannel message whose request was cut (smsbox
-- stopped with it in hand) is in doubt: it may or may not have reached bearerbox. On a gateway
-- that asks for the SMSC's acknowledgement (dlr_mask with 8, P_ACKED), every message that
-- reached the SMSC is reported within seconds; so one with no report of any kind, older than
-- P_SETTLE_S, while a message of the same campaign handed to the same gateway after it was
-- reported, never got there. With P_APPLY those go back to 'pending' (the daemon sends them
-- once more, leased as any other, opt-outs and caps checked again). Answers how the in-doubt
-- messages divide: reported (a report came: the SMSC has it), recent, unprovable (no SMSC
-- acknowledgement asked for, nothing reported after it, or not SMS), opted_out, and resend.
CREATE OR REPLACE FUNCTION loa_resend_in_doubt(p_campaign bigint, p_acked text[], p_settle_s int, p_apply boolean)
RETURNS TABLE (in_doubt bigint, reported bigint, recent bigint, unprovable bigint, opted_out bigint,
               resend bigint)
LANGUAGE sql AS $$
    -- Per gateway, the latest submission of the campaign that a report came for: one pass over
    -- the campaign's reports, not one scan of its messages per in-doubt row.
    WITH reported_until AS (
        SELECT m.gateway, max(m.submitted_at) AS at
          FROM delivery_events e
          JOIN messages m ON m.campaign_id = e.campaign_id AND m.id = e.message_id
         WHERE e.campaign_id = p_campaign
         GROUP BY 1
    ), pick AS (
        SELECT m.id,
               CASE WHEN loa_reported(m.campaign_id, m.id) THEN 'reported'
                    WHEN loa_opted_out(m.citizen_id, m.channel) THEN 'opted_out'
                    WHEN m.submitted_at > loa_now() - make_interval(secs => p_settle_s) THEN 'recent'
                    WHEN m.channel <> 'sms' OR NOT (m.gateway = ANY (p_acked)) THEN 'unprovable'
                    WHEN r.at > m.submitted_at THEN 'resend'
                    ELSE 'unprovable' END AS verdict
          FROM messages m LEFT JOIN reported_until r ON r.gateway = m.gateway
         WHERE m.campaign_id = p_campaign AND m.state = 'in_doubt'
           FOR UPDATE OF m
    ), upd AS (
        UPDATE messages m
           SET state = 'pending', due_at = loa_now(), final_at = NULL, lease_owner = NULL, lease_until = NULL,
               reason = 'resent: in doubt, never reported while later messages were'
          FROM pick p
         WHERE p_apply AND p.verdict = 'resend' AND m.campaign_id = p_campaign AND m.id = p.id
        RETURNING 1
    )
    SELECT count(*), count(*) FILTER (WHERE p.verdict = 'reported'), count(*) FILTER (WHERE p.verdict = 'recent'),
           count(*) FILTER (WHERE p.verdict = 'unprovable'), count(*) FILTER (WHERE p.verdict = 'opted_out'),
           count(*) FILTER (WHERE p.verdict = 'resend')
      FROM pick p
$$;
