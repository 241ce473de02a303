-- msg
--
-- Revision ID: a1
-- Revises:

-- migrate:upgrade
SELECT 'ÿþ';
