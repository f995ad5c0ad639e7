-- Core tables: units (communes), the question log and hand-off requests.
-- Later capabilities (channel accounts, broadcasts, surveys, dossiers) add their own migrations.

CREATE TABLE units (
  id           text PRIMARY KEY,              -- slug, e.g. 'xa-tan-phu'
  name         text NOT NULL,                 -- 'UBND xã Tân Phú'
  province     text,
  address      text,
  phone        text,
  email        text,
  hours        text,
  portal_url   text,
  website      text,
  -- Restrict the catalogue to these codes; NULL = the whole national catalogue.
  procedure_codes text[],
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- What citizens asked (digits masked) and what the bot did: the officers' list of questions
-- the bot could not answer comes from here.
CREATE TABLE queries (
  id          bigserial PRIMARY KEY,
  unit_id     text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  channel     text NOT NULL CHECK (channel IN ('web', 'messenger', 'zalo', 'cli')),
  text        text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('answered', 'choices', 'none', 'handoff')),
  confidence  real,
  top_code    text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queries_unit_time ON queries (unit_id, created_at DESC);
CREATE INDEX queries_unit_outcome ON queries (unit_id, outcome, created_at DESC);

-- A citizen asking for an officer. user_ref is the platform user id needed to reply; it is
-- never logged and is visible only to the unit's officers.
CREATE TABLE handoffs (
  id          bigserial PRIMARY KEY,
  unit_id     text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  channel     text NOT NULL,
  user_ref    text NOT NULL,
  text        text NOT NULL,
  status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
  handled_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handoffs_unit_status ON handoffs (unit_id, status, created_at DESC);
