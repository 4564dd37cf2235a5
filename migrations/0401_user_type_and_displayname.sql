-- Up Migration
-- Shared-secret registration (Synapse's protocol) may set a user type ("bot", "support") and an
-- initial display name; application-service users are recorded with the service that created
-- them so that the service's exclusive namespace can be audited later.
ALTER TABLE users ADD COLUMN user_type TEXT;
ALTER TABLE users ADD COLUMN displayname TEXT;
ALTER TABLE users ADD COLUMN appservice_id TEXT;

-- Down Migration
ALTER TABLE users DROP COLUMN appservice_id;
ALTER TABLE users DROP COLUMN displayname;
ALTER TABLE users DROP COLUMN user_type;
