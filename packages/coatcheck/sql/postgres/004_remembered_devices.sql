-- coatcheck sessions for PostgreSQL, schema version 4: remembered devices ("keep me signed in on
-- this device"). Apply after 002_step_up_rotation.sql, in one transaction
-- (psql --single-transaction -f 004_remembered_devices.sql); every statement is idempotent.

ALTER TABLE coatcheck_sessions ADD COLUMN IF NOT EXISTS remembered_device text;

CREATE TABLE IF NOT EXISTS coatcheck_sessions_remembered (
  id text PRIMARY KEY,
  user_id text NOT NULL,
  secret_hash text NOT NULL,
  previous_secret_hash text,
  rotated_at bigint NOT NULL,
  created_at bigint NOT NULL,
  last_used_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  device jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS coatcheck_sessions_remembered_user ON coatcheck_sessions_remembered (user_id);
CREATE INDEX IF NOT EXISTS coatcheck_sessions_remembered_expires ON coatcheck_sessions_remembered (expires_at);

INSERT INTO coatcheck_schema (name, version) VALUES ('coatcheck_sessions', 4)
  ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
