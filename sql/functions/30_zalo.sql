-- Zalo: falling back to the next channel when no receipt comes, and applying receipts so that a
-- citizen is never sent the SMS once the Zalo message is known delivered. Owned by
-- gateways/zalo_zns.c and engine/fallback.c.

-- Moves Zalo messages submitted longer ago than their gateway's receipt timeout to 'fallback' and
-- creates the message of the campaign's next channel step, in one statement. P_GATEWAYS and
-- P_TIMEOUTS are parallel arrays (gateway name, seconds); P_SMS / P_ZALO name the gateway of a
-- step whose campaign_channels.gateway is NULL. A message whose campaign has no later step stays
-- submitted: with nowhere to go, a late receipt is still its best outcome. Rows locked by another
-- daemon's sweep are skipped. Returns the number of messages moved.
CREATE OR REPLACE FUNCTION zalo_fallback_sweep(p_gateways text[], p_timeouts int[], p_sms text, p_zalo text,
                                    p_limit int) RETURNS int
LANGUAGE sql AS $$
    WITH due AS (
        SELECT m.campaign_id, m.id, m.citizen_id, m.gateway, g.timeout_s,
               nx.position, nx.channel,
               COALESCE(nx.gateway, CASE nx.channel WHEN 'sms' THEN p_sms ELSE p_zalo END) AS next_gw
          FROM unnest(p_gateways, p_timeouts) AS g(name, timeout_s)
          JOIN messages m ON m.gateway = g.name AND m.channel = 'zalo' AND m.state = 'submitted'
                         AND m.submitted_at < loa_now() - make_interval(secs => g.timeout_s)
          JOIN campaigns c ON c.id = m.campaign_id AND c.status IN ('running', 'paused')
          CROSS JOIN LATERAL (
                SELECT cc.position, cc.channel, cc.gateway FROM campaign_channels cc
                 WHERE cc.campaign_id = m.campaign_id AND cc.position > m.step
                 ORDER BY cc.position LIMIT 1) nx
         ORDER BY m.submitted_at
         LIMIT p_limit
           FOR UPDATE OF m SKIP LOCKED
    ), moved AS (
        UPDATE messages m
           SET state = 'fallback', final_at = loa_now(),
               reason = 'no zalo receipt within ' || d.timeout_s || 's'
          FROM due d
         WHERE m.campaign_id = d.campaign_id AND m.id = d.id AND m.state = 'submitted'
        RETURNING m.campaign_id, m.id
    ), ins AS (
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, reason, final_at)
        SELECT d.campaign_id, d.citizen_id, d.position, d.channel, d.next_gw,
               CASE WHEN d.next_gw IS NULL OR d.next_gw = '' THEN 'failed'
                    WHEN r.reason IS NOT NULL THEN 'suppressed' ELSE 'pending' END,
               CASE WHEN d.next_gw IS NULL OR d.next_gw = '' THEN 'no gateway configured for ' || d.channel
                    ELSE r.reason END,
               CASE WHEN d.next_gw IS NULL OR d.next_gw = '' OR r.reason IS NOT NULL THEN loa_now() END
          FROM due d JOIN moved USING (campaign_id, id)
          CROSS JOIN LATERAL (SELECT loa_unsendable_reason(d.citizen_id, d.channel) AS reason) r
        ON CONFLICT (campaign_id, citizen_id, step) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::int FROM moved
$$;

-- Applies a ZNS receipt (Zalo's user_received_message) in one transaction. The message is found
-- by (campaign, id) from the tracking_id, else by the gateway's msg_id. A message that has not
-- fallen back is handled by loa_apply_dlr() (20_engine.sql: submitted / in_doubt → delivered, parked while
-- still leased, 'recorded' when already final, 'unknown'); one waiting to be resent after a
-- lost answer (retry_wait) is delivered ('applied'). One that fell back for want of a receipt
-- returns:
--   'withdrawn'  the next step had not been sent yet: that message is deleted and this one is
--                delivered. Deleted rather than cancelled: a citizen is counted by exactly one
--                non-fallback message (campaign show's outcomes add up to targeted), and a
--                cancelled SMS beside a delivered ZNS would count them twice.
--   'too_late'   the next step is already on its way: only the receipt is recorded.
-- A receipt also records that the citizen has Zalo. A second receipt for a message that has
-- one already returns 'duplicate' and changes nothing.
CREATE OR REPLACE FUNCTION zalo_receipt_apply(p_gateway text, p_campaign bigint, p_message bigint,
                                   p_msg_id text, p_raw text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    m messages%ROWTYPE;
    nxt messages%ROWTYPE;
BEGIN
    IF p_campaign > 0 AND p_message > 0 THEN
        SELECT * INTO m FROM messages
         WHERE campaign_id = p_campaign AND id = p_message AND channel = 'zalo' FOR UPDATE;
    ELSIF p_msg_id IS NOT NULL THEN
        SELECT * INTO m FROM messages
         WHERE gateway = p_gateway AND gateway_msg_id = p_msg_id AND channel = 'zalo'
         ORDER BY created_at DESC LIMIT 1 FOR UPDATE;
    END IF;
    -- A ZNS has one receipt: another for the same message is Zalo retrying a webhook it got no
    -- 200 for in time (the daemon answers 503 when the database is slow, and the first write
    -- still completes). It is recognised here, after the row lock, so two deliveries of one
    -- receipt racing each other record it once.
    IF m.id IS NOT NULL AND EXISTS (SELECT 1 FROM delivery_events e
                                     WHERE e.campaign_id = m.campaign_id AND e.message_id = m.id
                                       AND e.kind = 'zns_receipt') THEN
        RETURN 'duplicate';
    END IF;
    IF m.id IS NOT NULL THEN
        UPDATE citizens SET has_zalo = true, updated_at = loa_now()
         WHERE id = m.citizen_id AND has_zalo IS DISTINCT FROM true;
    END IF;
    -- A ZNS in retry_wait had an answer that refused it or could not be read (an answer lost
    -- after the request left is in_doubt, and never resent). A receipt for it shows Zalo sent
    -- it anyway: it settles the message instead of being dropped as a report for a refused
    -- attempt, so the retry does not send it a second time.
    IF m.state = 'retry_wait' THEN
        INSERT INTO delivery_events (gateway, campaign_id, message_id, kind, status, raw)
        VALUES (p_gateway, m.campaign_id, m.id, 'zns_receipt', 'delivered', COALESCE(p_raw, ''));
        UPDATE messages SET state = 'delivered', final_at = loa_now(), reason = NULL,
                            gateway_msg_id = COALESCE(gateway_msg_id, p_msg_id),
                            submitted_at = COALESCE(submitted_at, loa_now())
         WHERE campaign_id = m.campaign_id AND id = m.id;
        RETURN 'applied';
    END IF;
    IF m.id IS NULL OR m.state <> 'fallback' THEN
        RETURN loa_apply_dlr(p_gateway, m.campaign_id, m.id, p_msg_id, 'zns_receipt', 'delivered',
                             p_raw, 'delivered');
    END IF;
    INSERT INTO delivery_events (gateway, campaign_id, message_id, kind, status, raw)
    VALUES (p_gateway, m.campaign_id, m.id, 'zns_receipt', 'delivered', COALESCE(p_raw, ''));
    SELECT * INTO nxt FROM messages
     WHERE campaign_id = m.campaign_id AND citizen_id = m.citizen_id AND step > m.step
     ORDER BY step LIMIT 1 FOR UPDATE;
    IF nxt.id IS NULL OR nxt.state NOT IN ('pending', 'retry_wait', 'suppressed') THEN
        RETURN 'too_late';
    END IF;
    DELETE FROM messages WHERE campaign_id = nxt.campaign_id AND id = nxt.id;
    UPDATE messages SET state = 'delivered', final_at = loa_now(),
                        reason = 'receipt after fallback; next step withdrawn',
                        gateway_msg_id = COALESCE(gateway_msg_id, p_msg_id)
     WHERE campaign_id = m.campaign_id AND id = m.id;
    RETURN 'withdrawn';
END $$;

-- True while a campaign still has Zalo messages waiting for their receipt that may yet fall back
-- to a later step: the scheduler does not complete such a campaign, or its fallback messages
-- would be created in a campaign no longer sent. Messages already past their timeout count too:
-- the sweep that moves them may be running at this very moment. Only gateways with a receipt
-- timeout, written to gateway_state (receipt_timeout_s) when a zalo_zns gateway opens, count.
CREATE OR REPLACE FUNCTION zalo_awaiting_receipt(p_campaign bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM messages m
          JOIN gateway_state g ON g.gateway = m.gateway AND g.key = 'receipt_timeout_s'
         WHERE m.campaign_id = p_campaign AND m.channel = 'zalo' AND m.state = 'submitted'
           AND g.value::int > 0
           AND EXISTS (SELECT 1 FROM campaign_channels cc
                        WHERE cc.campaign_id = m.campaign_id AND cc.position > m.step))
$$;
