-- msg
--
-- Revision ID: a1
-- Revises:

SELECT 1;
