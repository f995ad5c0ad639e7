-- A unit's own phrasings of procedures: an officer attaches a question the bot could not answer
-- to the right procedure, and that phrasing answers directly from then on (for that unit only).
CREATE TABLE unit_aliases (
  id              bigserial PRIMARY KEY,
  unit_id         text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  procedure_code  text NOT NULL,
  -- The phrasing as citizens asked it (digits already masked by the question log).
  text            text NOT NULL,
  -- Folded, lower case, spaces collapsed: one alias per phrasing and unit.
  question_key    text NOT NULL,
  created_by      bigint REFERENCES staff_users(id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (unit_id, question_key)
);
CREATE INDEX unit_aliases_unit ON unit_aliases (unit_id, created_at);
