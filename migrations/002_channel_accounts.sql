-- Channel accounts (a Facebook Page, a Zalo OA, a website widget) of a unit, and the citizens
-- (contacts) as each account sees them.

CREATE TABLE channel_accounts (
  id            bigserial PRIMARY KEY,
  unit_id       text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  platform      text NOT NULL CHECK (platform IN ('messenger', 'zalo', 'web')),
  external_id   text NOT NULL,          -- Page id / OA id / widget id: a string, always
  name          text,
  -- Secrets (tokens, app secret, OA secret key) as one AES-256-GCM sealed JSON object.
  secrets       text,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reconnect_required', 'paused')),
  status_reason text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (platform, external_id)
);
CREATE INDEX channel_accounts_unit ON channel_accounts (unit_id);

CREATE TABLE contacts (
  id                   bigserial PRIMARY KEY,
  account_id           bigint NOT NULL REFERENCES channel_accounts(id) ON DELETE CASCADE,
  platform_user_id     text NOT NULL,   -- PSID / Zalo user id: a string, always
  first_seen_at        timestamptz NOT NULL DEFAULT now(),
  -- Drives every messaging-window decision (Messenger 24 h, Zalo 48 h free / 7 days).
  last_interaction_at  timestamptz NOT NULL DEFAULT now(),
  following            boolean,        -- Zalo follow state; NULL where the platform has none
  reachable            boolean NOT NULL DEFAULT true,
  unreachable_reason   text,
  UNIQUE (account_id, platform_user_id)
);
CREATE INDEX contacts_account_interaction ON contacts (account_id, last_interaction_at DESC);
