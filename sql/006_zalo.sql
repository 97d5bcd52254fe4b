-- Zalo: falling back to the next channel when no receipt comes, and applying receipts so that a
-- citizen is never sent the SMS once the Zalo message is known delivered. Owned by
-- gateways/zalo_zns.c and engine/fallback.c. Tokens and quotas live in gateway_state (001).

-- The sweep looks only at Zalo messages waiting for a receipt.
CREATE INDEX messages_zalo_submitted ON messages (gateway, submitted_at)
    WHERE state = 'submitted' AND channel = 'zalo';

-- The state a message of the next step starts in: suppressed when the citizen opted out of its
-- channel, or when an SMS step has no usable phone; else pending.
CREATE FUNCTION fallback_next_state(p_citizen bigint, p_channel text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM opt_outs o WHERE o.citizen_id = p_citizen
                       AND o.channel IN (p_channel, 'all')) THEN 'suppressed'
        WHEN p_channel = 'sms' AND EXISTS (SELECT 1 FROM citizens c WHERE c.id = p_citizen
                       AND (c.phone IS NULL OR c.phone_invalid)) THEN 'suppressed'
        WHEN p_channel = 'zalo' AND EXISTS (SELECT 1 FROM citizens c WHERE c.id = p_citizen
                       AND c.has_zalo = false AND c.zalo_user_id IS NULL) THEN 'suppressed'
        ELSE 'pending' END
$$;

-- Moves Zalo messages submitted longer ago than their gateway's receipt timeout to 'fallback' and
-- creates the message of the campaign's next channel step, in one statement. P_GATEWAYS and
-- P_TIMEOUTS are parallel arrays (gateway name, seconds); P_SMS / P_ZALO name the gateway of a
-- step whose campaign_channels.gateway is NULL. A message whose campaign has no later step stays
-- submitted: with nowhere to go, a late receipt is still its best outcome. Rows locked by another
-- daemon's sweep are skipped. Returns the number of messages moved.
CREATE FUNCTION zalo_fallback_sweep(p_gateways text[], p_timeouts int[], p_sms text, p_zalo text,
                                    p_limit int) RETURNS int
LANGUAGE sql AS $$
    WITH due AS (
        SELECT m.campaign_id, m.id, m.citizen_id, m.gateway, g.timeout_s,
               nx.position, nx.channel,
               COALESCE(nx.gateway, CASE nx.channel WHEN 'sms' THEN p_sms ELSE p_zalo END) AS next_gw
          FROM unnest(p_gateways, p_timeouts) AS g(name, timeout_s)
          JOIN messages m ON m.gateway = g.name AND m.channel = 'zalo' AND m.state = 'submitted'
                         AND m.submitted_at < now() - make_interval(secs => g.timeout_s)
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
           SET state = 'fallback', final_at = now(),
               reason = 'no zalo receipt within ' || d.timeout_s || 's'
          FROM due d
         WHERE m.campaign_id = d.campaign_id AND m.id = d.id AND m.state = 'submitted'
        RETURNING m.campaign_id, m.id
    ), ins AS (
        INSERT INTO messages (campaign_id, citizen_id, step, channel, gateway, state, reason)
        SELECT d.campaign_id, d.citizen_id, d.position, d.channel, d.next_gw, s.state,
               CASE WHEN s.state = 'suppressed' THEN 'no usable address or opted out' END
          FROM due d JOIN moved USING (campaign_id, id)
          CROSS JOIN LATERAL (SELECT fallback_next_state(d.citizen_id, d.channel) AS state) s
        ON CONFLICT (campaign_id, citizen_id, step) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::int FROM moved
$$;

-- Applies a ZNS receipt (Zalo's user_received_message) in one transaction. The message is found
-- by (campaign, id) from the tracking_id, else by the gateway's msg_id. Returns what happened:
--   'delivered'       leased / submitted / in_doubt → delivered (a receipt may beat the answer
--                     of the submit itself, hence leased)
--   'withdrawn'       the message had fallen back for want of a receipt, and the next step had
--                     not been sent yet: that next message is deleted and this one is delivered.
--                     Deleted rather than cancelled: the citizen is counted by exactly one
--                     non-fallback message (campaign show's outcomes add up to targeted), and a
--                     cancelled SMS beside a delivered ZNS would count them twice.
--   'too_late'        the next step is already on its way: only the receipt is recorded
--   'duplicate'       already final
--   'unknown'         no such message (another sender on the OA, or an archived campaign)
-- The receipt itself is always appended to delivery_events.
CREATE FUNCTION zalo_receipt_apply(p_gateway text, p_campaign bigint, p_message bigint,
                                   p_msg_id text, p_raw text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    m messages%ROWTYPE;
    nxt messages%ROWTYPE;
    outcome text;
BEGIN
    IF p_campaign > 0 AND p_message > 0 THEN
        SELECT * INTO m FROM messages
         WHERE campaign_id = p_campaign AND id = p_message AND channel = 'zalo' FOR UPDATE;
    ELSIF p_msg_id IS NOT NULL THEN
        SELECT * INTO m FROM messages
         WHERE gateway = p_gateway AND gateway_msg_id = p_msg_id AND channel = 'zalo'
         LIMIT 1 FOR UPDATE;
    END IF;
    INSERT INTO delivery_events (gateway, campaign_id, message_id, kind, status, raw)
    VALUES (p_gateway, m.campaign_id, m.id, 'zns_receipt', 'delivered', p_raw);
    IF m.id IS NULL THEN
        RETURN 'unknown';
    END IF;
    UPDATE citizens SET has_zalo = true, updated_at = now()
     WHERE id = m.citizen_id AND has_zalo IS DISTINCT FROM true;
    IF m.state IN ('leased', 'submitted', 'in_doubt') THEN
        UPDATE messages SET state = 'delivered', final_at = now(), reason = NULL,
                            gateway_msg_id = COALESCE(gateway_msg_id, p_msg_id),
                            submitted_at = COALESCE(submitted_at, now())
         WHERE campaign_id = m.campaign_id AND id = m.id;
        RETURN 'delivered';
    END IF;
    IF m.state <> 'fallback' THEN
        RETURN 'duplicate';
    END IF;
    SELECT * INTO nxt FROM messages
     WHERE campaign_id = m.campaign_id AND citizen_id = m.citizen_id AND step > m.step
     ORDER BY step LIMIT 1 FOR UPDATE;
    IF nxt.id IS NOT NULL AND nxt.state IN ('pending', 'retry_wait', 'suppressed') THEN
        DELETE FROM messages WHERE campaign_id = nxt.campaign_id AND id = nxt.id;
        UPDATE messages SET state = 'delivered', final_at = now(),
                            reason = 'receipt after fallback; next step withdrawn',
                            gateway_msg_id = COALESCE(gateway_msg_id, p_msg_id)
         WHERE campaign_id = m.campaign_id AND id = m.id;
        outcome := 'withdrawn';
    ELSE
        outcome := 'too_late';
    END IF;
    RETURN outcome;
END $$;
