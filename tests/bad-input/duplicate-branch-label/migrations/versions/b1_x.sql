-- msg
--
-- Revision ID: b1
-- Revises: 
-- Branch Labels: lib
-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
