-- Webhook events acknowledged while Redis was unreachable (issue #8): kept here until a drain
-- moves them into the inbound queue, then deleted. Zalo does not retry an event answered 503,
-- so without this table such an event would be lost. Rows hold citizens' messages (personal
-- data, Decree 13/2023): they live only until drained (src/jobs/inbound-spool-drain.ts).
CREATE TABLE inbound_spool (
  -- Insertion order: breaks ties between events of one body (same received_at).
  id bigserial NOT NULL,
  -- The dedupe key `platform:dedupeKey`: a retried body is not spooled twice.
  key text PRIMARY KEY,
  account_id integer NOT NULL,
  unit_id text NOT NULL,
  -- The parsed event as JSON text (text, not jsonb: jsonb refuses \u0000 in a citizen's text).
  event text NOT NULL,
  received_at timestamptz NOT NULL,
  -- A drain working on the row: others leave it until the lease lapses (its drainer died).
  lease_token text,
  lease_until timestamptz
);

CREATE INDEX inbound_spool_order ON inbound_spool (received_at, id);
CREATE INDEX inbound_spool_leased ON inbound_spool (lease_until) WHERE lease_until IS NOT NULL;
