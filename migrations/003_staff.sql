-- Staff of the admin web (admins, officers, reporters), their API tokens, and the audit log.
-- Passwords and tokens are stored only as hashes; the audit log never holds citizens' data.

CREATE TABLE staff_users (
  id                   bigserial PRIMARY KEY,
  username             text NOT NULL UNIQUE CHECK (username = lower(username) AND length(username) BETWEEN 1 AND 64),
  password_hash        text NOT NULL,                 -- scrypt$N$r$p$salt$hash
  role                 text NOT NULL CHECK (role IN ('admin', 'officer', 'reporter')),
  -- NULL = the whole deployment (province-wide); otherwise bound to one unit.
  unit_id              text REFERENCES units(id) ON DELETE RESTRICT,
  must_change_password boolean NOT NULL DEFAULT true,
  disabled             boolean NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL DEFAULT now(),
  last_login_at        timestamptz
);

-- Bearer tokens for /api routes. Only the sha256 of the token is kept; the token is shown once.
CREATE TABLE api_tokens (
  id           bigserial PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
  name         text NOT NULL,
  token_hash   text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Who did what, when. actor is a staff user id (NULL for anonymous, e.g. a failed sign-in);
-- target and detail name staff, units and objects, never a citizen's personal data.
CREATE TABLE audit_log (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  actor     bigint REFERENCES staff_users(id) ON DELETE SET NULL,
  action    text NOT NULL,
  unit_id   text REFERENCES units(id) ON DELETE SET NULL,
  target    text,
  detail    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_time ON audit_log (at DESC);
CREATE INDEX audit_log_unit_time ON audit_log (unit_id, at DESC);
