-- Add user email column
--
-- Revision ID: 1975ea83b712
-- Revises: 27c6a30d7c24
-- Create Date: 2026-11-23 10:15:02.123456
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade
ALTER TABLE dapp.transactions ADD COLUMN user_email varchar(255);

-- migrate:downgrade
ALTER TABLE dapp.transactions DROP COLUMN user_email;
