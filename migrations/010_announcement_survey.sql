-- An announcement may invite its readers to the unit's periodic satisfaction survey (issue #6):
-- the survey definition id (e.g. 'sipas'); the message then carries a "Tham gia khảo sát"
-- button whose payload starts that survey (src/surveys/chat-payload.ts). NULL = no invitation.
ALTER TABLE announcements
  ADD COLUMN survey text CHECK (survey IS NULL OR survey ~ '^[a-z0-9][a-z0-9-]{0,62}$');

-- The comments behind the survey figures (admin drill-down, src/admin/surveys-router.ts): a
-- small partial index (about one answer in twenty has a comment) so counting and paging the
-- comments of a unit or a period does not read every answer. A non-null comment is only ever a
-- comment question's answer, never skipped (CHECK of survey_answers and SurveyRepository).
CREATE INDEX survey_answers_comments ON survey_answers (response_id) WHERE comment IS NOT NULL;
