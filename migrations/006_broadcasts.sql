-- Subscriber groups, citizens' consent, announcements and their deliveries (issue #5,
-- DESIGN §8, PLATFORMS §4 and §8). A subscription exists only because the citizen asked for it
-- in chat: there is no import. Every consent change is kept in consent_events.

CREATE TABLE subscriber_groups (
  id          bigserial PRIMARY KEY,
  unit_id     text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('village', 'topic', 'audience')),
  name        text NOT NULL,
  description text,
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (unit_id, name)
);

-- Who consented to which group. withdrawn_at set = unsubscribed (the row stays as the record).
CREATE TABLE subscriptions (
  contact_id    bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  group_id      bigint NOT NULL REFERENCES subscriber_groups(id) ON DELETE CASCADE,
  consented_at  timestamptz NOT NULL,
  withdrawn_at  timestamptz,
  PRIMARY KEY (contact_id, group_id)
);
CREATE INDEX subscriptions_group_active ON subscriptions (group_id, contact_id) WHERE withdrawn_at IS NULL;

-- The consent record: when, through which account (the contact's), which group, what.
CREATE TABLE consent_events (
  id          bigserial PRIMARY KEY,
  contact_id  bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  group_id    bigint REFERENCES subscriber_groups(id) ON DELETE SET NULL,
  action      text NOT NULL CHECK (action IN ('subscribe', 'unsubscribe', 'unsubscribe_all')),
  via         text NOT NULL,            -- 'chat:button', 'chat:text', 'platform:unfollow', …
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_events_contact ON consent_events (contact_id, at);

CREATE TABLE announcements (
  id             bigserial PRIMARY KEY,
  unit_id        text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  title          text NOT NULL,
  body           text NOT NULL,
  link_url       text,
  image_url      text,
  group_ids      bigint[] NOT NULL,
  channels       text[] NOT NULL,       -- subset of messenger, zalo, web
  status         text NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'scheduled', 'fanning_out', 'sending', 'done', 'cancelled')),
  scheduled_at   timestamptz,           -- NULL = as soon as it is sent
  hold_days      integer NOT NULL DEFAULT 7 CHECK (hold_days BETWEEN 0 AND 30),
  -- Fan-out progress: the last contact id paged through (keyset), so a crash resumes there.
  fanout_cursor  bigint NOT NULL DEFAULT 0,
  fanout_done    boolean NOT NULL DEFAULT false,
  created_by     bigint REFERENCES staff_users(id) ON DELETE SET NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  finished_at    timestamptz,
  cancelled_at   timestamptz
);
CREATE INDEX announcements_unit ON announcements (unit_id, created_at DESC);

-- One row per (announcement, contact). status: pending → sending → sent | held | skipped |
-- failed; held → sent (delivered with the next reply) | expired; 'sending' is the claim taken
-- just before calling the platform (attempt_at): a send found 'sending' after a crash is
-- reconciled with the platform before it is ever sent again.
CREATE TABLE deliveries (
  announcement_id  bigint NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
  contact_id       bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  account_id       bigint NOT NULL REFERENCES channel_accounts(id) ON DELETE CASCADE,
  platform         text NOT NULL CHECK (platform IN ('messenger', 'zalo', 'web')),
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sending', 'sent', 'held', 'skipped', 'failed', 'expired', 'cancelled')),
  reason           text,                -- skipped:<reason> / failed:<code>
  attempt_at       timestamptz,
  attempts         integer NOT NULL DEFAULT 0,
  message_id       text,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (announcement_id, contact_id)
);
CREATE INDEX deliveries_status ON deliveries (announcement_id, status);
CREATE INDEX deliveries_held ON deliveries (contact_id) WHERE status = 'held';
-- Zalo's per-follower caps (1 promotion a day, a monthly cap by OA package) are counted here.
CREATE INDEX deliveries_contact_sent ON deliveries (contact_id, updated_at) WHERE status = 'sent';
