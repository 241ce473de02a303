-- msg
--
-- Revises:

-- migrate:upgrade
SELECT 1;
