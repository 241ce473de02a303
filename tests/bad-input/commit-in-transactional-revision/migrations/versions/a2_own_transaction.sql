-- Its own transaction
--
-- Revision ID: a2
-- Revises: a1
-- Create Date: 2026-12-01 10:01:00.000000

-- migrate:upgrade
DO $$
BEGIN
  PERFORM 1;
END
$$;
CREATE TABLE c1 (id integer);
COMMIT;

-- migrate:downgrade
DROP TABLE c1;
