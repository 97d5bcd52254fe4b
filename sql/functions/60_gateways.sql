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

-- Which daemon sends through each gateway (docs/design.md, "Several daemons"): a lease row
-- gateway_state(gateway, 'owner') = instance, renewed every few seconds by its owner. Instance
-- P_INSTANCE takes or keeps every gateway of P_GATEWAYS whose owner is itself, nobody, or a
-- daemon that has not renewed for P_TTL_S seconds (it died or lost its database), or P_DEAD: an
-- owner the caller knows has ended (a process of its own host that is gone). One row per
-- gateway: its owner after the call and whether that is P_INSTANCE. The expiry is in real
-- time, by the database's clock, so the daemons' clocks need not agree. The leases P_DEAD held
-- end now rather than after their time (two minutes by default): its process is gone, so it
-- will send none of them, and the scheduler's next pass settles them as any expired lease
-- (in_doubt, or pending again on a gateway that de-duplicates).
CREATE OR REPLACE FUNCTION loa_gateway_own(p_gateways text[], p_instance text, p_ttl_s int,
                                           p_dead text DEFAULT NULL)
RETURNS TABLE (gateway text, owner text, mine boolean)
LANGUAGE sql AS $$
    WITH gone AS (
        UPDATE messages m SET lease_until = loa_now() - interval '1 second'
         WHERE p_dead IS NOT NULL AND m.state = 'leased' AND m.lease_owner = p_dead
           AND m.lease_until >= loa_now()
        RETURNING 1
    ), took AS (
        INSERT INTO gateway_state AS s (gateway, key, value, updated_at)
        SELECT g, 'owner', p_instance, now() FROM unnest(p_gateways) g
        ON CONFLICT (gateway, key) DO UPDATE
           SET value = EXCLUDED.value, updated_at = now()
         WHERE s.value = EXCLUDED.value OR s.value = p_dead
            OR s.updated_at < now() - make_interval(secs => p_ttl_s)
        RETURNING s.gateway
    )
    SELECT g, COALESCE(CASE WHEN t.gateway IS NOT NULL THEN p_instance END, o.value, ''),
           t.gateway IS NOT NULL
      FROM unnest(p_gateways) g
      LEFT JOIN took t ON t.gateway = g
      LEFT JOIN gateway_state o ON o.gateway = g AND o.key = 'owner'
$$;

-- A daemon stopping cleanly gives its gateways up, so another takes them over at once rather
-- than after the lease's time to live.
CREATE OR REPLACE FUNCTION loa_gateway_disown(p_instance text) RETURNS int
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM gateway_state WHERE key = 'owner' AND value = p_instance RETURNING 1)
    SELECT count(*)::int FROM d
$$;
