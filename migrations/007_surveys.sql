-- Satisfaction surveys (issue #6, DESIGN §4 and §9, SURVEYS.md): the definition versions
-- answers were given under, one response per respondent per occasion, answers normalised.
-- The wording lives in surveys/*.yaml; the database keeps what answers mean.

-- Every definition version ever used, with a fingerprint of its meaning (ids, points, levels,
-- classifications): a file edited so that the meaning changes is refused, not silently applied.
CREATE TABLE survey_definitions (
  id            text NOT NULL,
  version       integer NOT NULL CHECK (version > 0),
  family        text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('dossier', 'periodic')),
  meaning_hash  text NOT NULL,
  body          jsonb NOT NULL,          -- the definition as first used (national wording)
  first_used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);

-- One response per respondent per occasion of a family: occasion = the dossier code (kind
-- 'dossier') or the survey period such as '2026-Q3' (kind 'period'). The respondent is a keyed
-- HMAC of the platform user id: never the id itself.
CREATE TABLE survey_responses (
  id                 bigserial PRIMARY KEY,
  unit_id            text NOT NULL REFERENCES units(id) ON DELETE CASCADE,
  definition_id      text NOT NULL,
  definition_version integer NOT NULL,
  family             text NOT NULL,
  occasion_kind      text NOT NULL CHECK (occasion_kind IN ('dossier', 'period')),
  occasion           text NOT NULL CHECK (length(occasion) BETWEEN 1 AND 100),
  respondent         text NOT NULL CHECK (respondent ~ '^[0-9a-f]{64}$'),
  channel            text NOT NULL CHECK (channel IN ('messenger', 'zalo', 'web', 'api', 'cli')),
  procedure_code     text,
  field              text,                 -- lĩnh vực of the procedure, when known
  status             text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'completed', 'cancelled')),
  current_question   text,                 -- the next question to ask (resumption); NULL = none left
  -- Written when the overall question is answered / when the response completes, so that the
  -- quarterly figures of a province read one row per response (answers stay the record).
  overall_level      text CHECK (overall_level IN ('very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very_dissatisfied')),
  overall_satisfied  boolean,
  index_points       smallint[],           -- TT 01/2018 points by index number (1-based), NULL where none
  -- Điều 15 averages over dossiers: of several completed responses on one dossier, the latest counts.
  dossier_counted    boolean NOT NULL DEFAULT true,
  started_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  completed_at       timestamptz,
  cancelled_at       timestamptz,
  FOREIGN KEY (definition_id, definition_version) REFERENCES survey_definitions (id, version),
  CONSTRAINT survey_responses_one_per_occasion UNIQUE (respondent, unit_id, family, occasion),
  CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
  CHECK ((overall_level IS NULL) = (overall_satisfied IS NULL))
);
-- Reports and exports: completed responses by completion time (keyset order of the exports),
-- with what the province's quarterly table needs, readable from the index alone.
CREATE INDEX survey_responses_completed ON survey_responses (completed_at, id)
  INCLUDE (unit_id, family, channel, overall_level, overall_satisfied, dossier_counted)
  WHERE status = 'completed';
CREATE INDEX survey_responses_unit_completed ON survey_responses (unit_id, completed_at) WHERE status = 'completed';
-- Resumption: a respondent's unfinished response.
CREATE INDEX survey_responses_in_progress ON survey_responses (respondent, updated_at DESC) WHERE status = 'in_progress';
-- Finding the other responses on the same dossier.
CREATE INDEX survey_responses_occasion ON survey_responses (unit_id, family, occasion);

-- One row per (response, question). The classification is copied from the definition at answer
-- time: value (points / 1–5 / 1|0), satisfied (Rất hài lòng or Hài lòng; a criterion's positive
-- answer), level; kind, role, element and index say what the question was, so reports group
-- without reading definitions. A comment is stored with its digits masked.
CREATE TABLE survey_answers (
  response_id  bigint NOT NULL REFERENCES survey_responses(id) ON DELETE CASCADE,
  question_id  text NOT NULL,
  position     smallint NOT NULL,          -- the question's place in its definition
  kind         text NOT NULL CHECK (kind IN ('index', 'satisfaction', 'criterion', 'comment')),
  role         text CHECK (role IN ('overall', 'element')),
  element_id   text,
  index_no     smallint CHECK (index_no BETWEEN 1 AND 9),
  option_id    text,
  value        smallint,
  satisfied    boolean,
  level        text CHECK (level IN ('very_satisfied', 'satisfied', 'neutral', 'dissatisfied', 'very_dissatisfied')),
  skipped      boolean NOT NULL DEFAULT false,
  comment      text CHECK (length(comment) <= 2000),
  answered_at  timestamptz NOT NULL,
  PRIMARY KEY (response_id, question_id),
  CHECK (NOT skipped OR (option_id IS NULL AND comment IS NULL AND value IS NULL AND satisfied IS NULL AND level IS NULL)),
  CHECK (skipped OR option_id IS NOT NULL OR comment IS NOT NULL)
);
