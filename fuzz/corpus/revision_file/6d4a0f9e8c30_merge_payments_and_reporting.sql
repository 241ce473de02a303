-- Merge payments and reporting
--
-- Revision ID: 6d4a0f9e8c30
-- Revises: 4b2e8d7c6a10, 5c3f9e8d7b20
-- Create Date: 2026-11-24 08:30:00.000000
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade

-- migrate:downgrade
