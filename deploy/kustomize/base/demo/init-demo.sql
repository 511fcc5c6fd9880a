-- Run once by the postgres image's entrypoint when it initializes an empty data directory.
-- The backend owns its database (PostgreSQL 15+: the owner may create tables in schema public)
-- and creates and seeds its table itself. No password: pg_hba.conf admits it by certificate only.
CREATE ROLE backend LOGIN;
CREATE DATABASE demo OWNER backend;
