-- Dossiers received at the one-stop desk (issue #7, DESIGN §4): the dossier as on the receipt
-- (Giấy tiếp nhận hồ sơ và hẹn trả kết quả), its status history, the chat contacts linked to it
-- for the result-ready notice, the spreadsheet imports and their per-unit column mapping, and the
-- idempotency keys of the API. The phone number given at the desk is never stored: only a keyed,
-- salted hash of its last 4 digits, which the citizen types to look the dossier up in chat.

CREATE TABLE dossiers (
  id              bigserial PRIMARY KEY,
  unit_id         text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  -- As printed on the receipt (NFC, trimmed), e.g. 000.00.01.H56-240101-0001; opaque.
  code            text NOT NULL CHECK (length(code) BETWEEN 1 AND 100),
  -- The look-up key: the code without white space, upper case (what a citizen types matches
  -- whatever its case and spacing; dots and dashes stay significant).
  code_key        text NOT NULL CHECK (code_key <> '' AND code_key = upper(code_key) AND code_key !~ '\s'),
  procedure_code  text CHECK (length(procedure_code) BETWEEN 1 AND 50),
  procedure_name  text CHECK (length(procedure_name) BETWEEN 1 AND 500),
  received_at     timestamptz NOT NULL,
  due_at          timestamptz,             -- NULL: no promised date (answered on the spot)
  status          text NOT NULL CHECK (status IN ('received', 'processing', 'needs_supplement', 'result_ready', 'returned', 'rejected', 'withdrawn')),
  status_at       timestamptz NOT NULL,    -- when the current status began (the source's time)
  missing         text CHECK (length(missing) <= 1000),   -- what to supplement (needs_supplement)
  pickup_place    text CHECK (length(pickup_place) <= 300),
  -- Derived from the history for the reports: first reached result_ready or returned (NULL
  -- again if sent back to an open status), returned, rejected or withdrawn.
  resolved_at     timestamptz,
  returned_at     timestamptz,
  closed_at       timestamptz,
  -- v1$<salt hex>$<hmac hex>: HMAC of a keyed digest of the last 4 phone digits; never digits.
  verifier        text CHECK (verifier ~ '^v1\$[0-9a-f]{32}\$[0-9a-f]{64}$'),
  -- The event time of the newest write applied: an older write (out of order) changes nothing.
  source_at       timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dossiers_unit_code UNIQUE (unit_id, code_key),
  CHECK (procedure_code IS NOT NULL OR procedure_name IS NOT NULL)
);
CREATE INDEX dossiers_unit_received ON dossiers (unit_id, received_at);
CREATE INDEX dossiers_unit_resolved ON dossiers (unit_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX dossiers_unit_status ON dossiers (unit_id, status, id DESC);

-- Spreadsheet imports: a preview (dry run) is kept here until the officer confirms it, then the
-- rows are applied in one transaction and dropped; the row stays as the record the history
-- events point to. Only previews without a single row error are kept.
CREATE TABLE dossier_imports (
  id           bigserial PRIMARY KEY,
  unit_id      text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),  -- sha256 of the form's token
  created_by   bigint REFERENCES staff_users(id) ON DELETE SET NULL,
  file_name    text CHECK (length(file_name) <= 255),
  status       text NOT NULL DEFAULT 'previewed' CHECK (status IN ('previewed', 'applied')),
  rows         jsonb,                      -- validated rows (verification already hashed); NULL once applied
  summary      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  applied_at   timestamptz,
  CHECK ((status = 'applied') = (applied_at IS NOT NULL))
);
CREATE INDEX dossier_imports_unit ON dossier_imports (unit_id, created_at DESC);

-- The status history: one row per change (and one for the creation, from_status NULL).
CREATE TABLE dossier_events (
  id           bigserial PRIMARY KEY,
  dossier_id   bigint NOT NULL REFERENCES dossiers(id) ON DELETE CASCADE,
  from_status  text,
  to_status    text NOT NULL,
  at           timestamptz NOT NULL,       -- when it happened, by the source's clock
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  source       text NOT NULL CHECK (source IN ('admin', 'import', 'api')),
  actor        bigint REFERENCES staff_users(id) ON DELETE SET NULL,   -- the officer or the token's owner
  import_id    bigint REFERENCES dossier_imports(id) ON DELETE SET NULL,
  note         text CHECK (length(note) <= 1000)
);
CREATE INDEX dossier_events_dossier ON dossier_events (dossier_id, at, id);
-- The notifier reads new result_ready / returned events in id order (an outbox).
CREATE INDEX dossier_events_outcome ON dossier_events (id) WHERE to_status IN ('result_ready', 'returned');

-- A chat contact linked to a dossier ("Nhận thông báo"). Unlinking keeps the row (unlinked_at)
-- so that a re-link never offers the evaluation or the result notice a second time.
CREATE TABLE dossier_links (
  dossier_id             bigint NOT NULL REFERENCES dossiers(id) ON DELETE CASCADE,
  contact_id             bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  linked_at              timestamptz NOT NULL DEFAULT now(),
  unlinked_at            timestamptz,
  notify_result          boolean NOT NULL DEFAULT true,    -- tell when the result is ready
  notify_changes         boolean NOT NULL DEFAULT false,   -- tell every status change
  result_notified_at     timestamptz,
  evaluation_offered_at  timestamptz,
  PRIMARY KEY (dossier_id, contact_id)
);
CREATE INDEX dossier_links_contact ON dossier_links (contact_id) WHERE unlinked_at IS NULL;

-- The column mapping of a unit's one-stop system export; absent = the default mapping.
CREATE TABLE dossier_import_mappings (
  unit_id     text PRIMARY KEY REFERENCES units(id) ON DELETE CASCADE,
  mapping     jsonb NOT NULL,
  updated_by  bigint REFERENCES staff_users(id) ON DELETE SET NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Idempotency keys of the API: a replay with the same key and body gets the stored response;
-- the same key with another body is refused. The key is claimed in the transaction that does
-- the work, so two concurrent replays wait for each other instead of both applying.
CREATE TABLE api_idempotency (
  unit_id       text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash  text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  status_code   smallint,
  response      text,                     -- the JSON body as sent, byte for byte
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (unit_id, key),
  CHECK ((status_code IS NULL) = (response IS NULL))
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
