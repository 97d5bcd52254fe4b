-- Gateway decisions that must outlive the daemon and be seen by the command line.
-- Owned by gateways/breaker.c and engine/dispatch_actions.c; written only by loa_breaker_set()
-- and loa_step_stop() (sql/functions/60_gateways.sql), read by `loa gateway status` and
-- `loa campaign show`.

-- The circuit breaker of each gateway (gateways/breaker.h): 'closed' sends, 'open' sends
-- nothing but a probe at probe_at, 'half_open' has its probe in flight. SINCE is when it last
-- went from closed to open or back; REASON the answer that opened it (or of the last failed
-- probe); FAILURES the faults in a row.
CREATE TABLE gateway_breakers (
    gateway    text PRIMARY KEY,
    state      text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
    reason     text,
    failures   int NOT NULL DEFAULT 0,
    since      timestamptz NOT NULL DEFAULT now(),
    probe_at   timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A campaign step a gateway refused for good (Zalo -131, template not approved): the daemon
-- hands its messages to the next channel instead of asking again after a restart or a new day.
ALTER TABLE campaign_channels ADD COLUMN stopped_at timestamptz, ADD COLUMN stop_reason text;
