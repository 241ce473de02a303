-- Create posts
--
-- Revision ID: b2c3d4e5f6a1
-- Revises: a1b2c3d4e5f6
-- Create Date: 2026-11-24 09:05:00.000000
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade
CREATE TABLE posts (
    id         serial PRIMARY KEY,
    user_id    integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      varchar(200) NOT NULL,
    body       text NOT NULL DEFAULT ''
);

-- migrate:downgrade
DROP TABLE posts;
