-- Create users
--
-- Revision ID: a1b2c3d4e5f6
-- Revises:
-- Create Date: 2026-11-24 09:00:00.000000
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade
CREATE TABLE users (
    id          serial PRIMARY KEY,
    email       varchar(255) NOT NULL UNIQUE,
    created_at  timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- migrate:downgrade
DROP TABLE users;
