-- What the daemon decides about a gateway, kept where a restart and the command line find it:
-- the circuit breaker of each gateway (gateway_breakers) and the campaign steps a gateway
-- refused for good (campaign_channels.stopped_at). Tables in sql/013_breakers.sql. Owned by
-- gateways/breaker.c and engine/dispatch_actions.c.

-- Records the breaker of P_GATEWAY as P_STATE ('closed', 'open', 'half_open') with the reason,
-- the faults in a row and, when open, the milliseconds until its next probe. SINCE moves only
-- when the breaker goes from closed to not closed or back, so it says since when a gateway is
-- out, whatever the probes do in between.
CREATE OR REPLACE FUNCTION loa_breaker_set(p_gateway text, p_state text, p_reason text, p_failures int,
                                p_probe_in_ms bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO gateway_breakers AS b (gateway, state, reason, failures, since, probe_at, updated_at)
    VALUES (p_gateway, p_state, p_reason, p_failures, loa_now(),
            loa_now() + make_interval(secs => p_probe_in_ms / 1000.0), loa_now())
    ON CONFLICT (gateway) DO UPDATE
       SET state = EXCLUDED.state,
           reason = CASE WHEN EXCLUDED.state = 'closed' THEN b.reason ELSE EXCLUDED.reason END,
           failures = EXCLUDED.failures,
           since = CASE WHEN (b.state = 'closed') <> (EXCLUDED.state = 'closed') THEN loa_now() ELSE b.since END,
           probe_at = EXCLUDED.probe_at,
           updated_at = loa_now()
$$;

-- Stops step P_STEP of campaign P_CAMPAIGN on gateway P_GATEWAY for good (its template was
-- refused) and hands its waiting messages to the next channel (loa_handover), in one
-- transaction. A step stopped already keeps its first reason. Returns the messages moved.
CREATE OR REPLACE FUNCTION loa_step_stop(p_gateway text, p_campaign bigint, p_step smallint, p_reason text,
                              p_sms text, p_zalo text) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_channels
       SET stopped_at = loa_now(), stop_reason = p_reason
     WHERE campaign_id = p_campaign AND position = p_step AND stopped_at IS NULL;
    RETURN loa_handover(p_gateway, p_campaign, p_step, p_reason, p_sms, p_zalo);
END $$;
