-- coatcheck sessions for PostgreSQL, schema version 1.
--
-- The same tables PostgresStore creates on first use. Apply this file with your own migration tool
-- and construct the store with `createSchema: false`; the application's role then needs only
-- SELECT, INSERT, UPDATE and DELETE on coatcheck_sessions (and SELECT on coatcheck_schema).
-- Run it in one transaction (psql --single-transaction -f 001_init.sql); every statement is
-- idempotent. For another schema or table name, edit the names below and pass the same
-- `schema` / `table` options to the store; index names are the table name plus _user / _expires.

CREATE TABLE IF NOT EXISTS coatcheck_schema (
  name text PRIMARY KEY,
  version integer NOT NULL
);

CREATE TABLE IF NOT EXISTS coatcheck_sessions (
  handle text PRIMARY KEY,
  secret_hash text NOT NULL,
  user_id text,
  created_at bigint NOT NULL,
  auth_at bigint,
  last_seen_at bigint NOT NULL,
  idle_expires_at bigint NOT NULL,
  absolute_expires_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  version integer NOT NULL,
  device jsonb NOT NULL,
  cookie_max_age_ms bigint,
  csrf_secret text,
  data jsonb NOT NULL
);

-- Device lists and "log out everywhere": O(that user's sessions), never a scan.
CREATE INDEX IF NOT EXISTS coatcheck_sessions_user ON coatcheck_sessions (user_id) WHERE user_id IS NOT NULL;
-- The pruner's range delete.
CREATE INDEX IF NOT EXISTS coatcheck_sessions_expires ON coatcheck_sessions (expires_at);

INSERT INTO coatcheck_schema (name, version) VALUES ('coatcheck_sessions', 1)
  ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
