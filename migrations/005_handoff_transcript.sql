-- The conversation so far (digits masked, the last lines only) for the officer who takes over,
-- and who marked the request answered or closed.
ALTER TABLE handoffs ADD COLUMN transcript jsonb NOT NULL DEFAULT '[]'::jsonb;
