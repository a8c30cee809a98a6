-- coatcheck sessions for PostgreSQL, schema version 3: the device key of a session bound with
-- Device Bound Session Credentials (DBSC) and its outstanding challenges. Apply after
-- 002_step_up_rotation.sql, in one transaction; every statement is idempotent.

ALTER TABLE coatcheck_sessions
  ADD COLUMN IF NOT EXISTS device_key text,
  ADD COLUMN IF NOT EXISTS device_challenge text;

INSERT INTO coatcheck_schema (name, version) VALUES ('coatcheck_sessions', 3)
  ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
