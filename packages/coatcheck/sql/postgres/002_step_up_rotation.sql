-- coatcheck sessions for PostgreSQL, schema version 2: step-up level and time (S40) and periodic
-- rotation with a grace period (S21). Apply after 001_init.sql, in one transaction
-- (psql --single-transaction -f 002_step_up_rotation.sql); every statement is idempotent.

ALTER TABLE coatcheck_sessions
  ADD COLUMN IF NOT EXISTS aal integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS step_up_at bigint,
  ADD COLUMN IF NOT EXISTS rotated_at bigint,
  ADD COLUMN IF NOT EXISTS successor text;

-- Sessions signed in before version 2 were password logins.
UPDATE coatcheck_sessions SET aal = 1 WHERE aal = 0 AND user_id IS NOT NULL AND step_up_at IS NULL;

INSERT INTO coatcheck_schema (name, version) VALUES ('coatcheck_sessions', 2)
  ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
