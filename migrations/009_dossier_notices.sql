-- Result notices and evaluation offers to citizens linked to a dossier (issue #7,
-- docs/decisions/007-dossier-notifications.md). The notifier reads new result_ready / returned
-- status events in id order from a persisted cursor and writes one notice per (dossier, contact,
-- kind): the UNIQUE constraint is what makes a notice exactly once, whatever the number of
-- notifiers, restarts or repeated status changes. The send is claimed (pending → sending, with a
-- lease) before the platform is called and settled after, like a broadcast delivery.

-- Where the notifier has read dossier_events up to. One row; claimed FOR UPDATE SKIP LOCKED by
-- the notifier that advances it (another one finds it taken and does nothing meanwhile).
CREATE TABLE dossier_notice_cursor (
  name           text PRIMARY KEY,
  last_event_id  bigint NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Starts after the events already recorded: what happened before notices existed is not announced.
INSERT INTO dossier_notice_cursor (name, last_event_id) SELECT 'outcomes', coalesce(max(id), 0) FROM dossier_events;

CREATE TABLE dossier_notices (
  id           bigserial PRIMARY KEY,
  dossier_id   bigint NOT NULL REFERENCES dossiers(id) ON DELETE CASCADE,
  contact_id   bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  -- result_ready: "your result is ready, collect it at …"; evaluation: the one-time offer of the
  -- per-dossier evaluation once the result was handed over (returned).
  kind         text NOT NULL CHECK (kind IN ('result_ready', 'evaluation')),
  -- The status event that (last) asked for it.
  event_id     bigint NOT NULL,
  account_id   bigint NOT NULL REFERENCES channel_accounts(id) ON DELETE CASCADE,
  platform     text NOT NULL CHECK (platform IN ('messenger', 'zalo', 'web')),
  -- pending: to send (a job is queued); sending: claimed by a worker since attempt_at (a lease);
  -- held: waits for the citizen's next message (Messenger outside 24 h) or visit (website);
  -- sent: delivered (pushed, or with an answer); skipped / failed: never delivered, see reason.
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'held', 'sent', 'skipped', 'failed')),
  reason       text CHECK (length(reason) <= 100),
  attempts     integer NOT NULL DEFAULT 0,
  attempt_at   timestamptz,
  -- The suffix of the current send job's id (dn-<id>-<generation>): grows when a job is re-driven.
  generation   integer NOT NULL DEFAULT 0,
  message_id   text,
  held_at      timestamptz,
  settled_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dossier_notices_once UNIQUE (dossier_id, contact_id, kind),
  CHECK (status <> 'held' OR held_at IS NOT NULL)
);
-- The tick re-drives unfinished sends; the inbound path looks up a contact's held notices.
CREATE INDEX dossier_notices_open ON dossier_notices (updated_at) WHERE status IN ('pending', 'sending');
CREATE INDEX dossier_notices_held ON dossier_notices (contact_id) WHERE status = 'held';
