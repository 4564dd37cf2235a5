-- Up Migration
-- Token rotation and revocation look tokens up by these columns: a refresh retires the token
-- whose next_token_id is the presented one, and deleting a refresh token cascades to the access
-- tokens minted with it. Without these indexes each of those is a sequential scan.
CREATE INDEX refresh_tokens_next ON refresh_tokens (next_token_id) WHERE next_token_id IS NOT NULL;
CREATE INDEX access_tokens_refresh ON access_tokens (refresh_token_id) WHERE refresh_token_id IS NOT NULL;

-- Down Migration
DROP INDEX access_tokens_refresh;
DROP INDEX refresh_tokens_next;
