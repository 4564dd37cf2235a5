-- Up Migration
-- The web fallback pages (spec: UIA Fallback) post forms. Each session gets a random anti-CSRF
-- token the first time one of its pages is served; a form post must carry it back. Kept in the
-- session row (not derived from an instance secret) so any instance can check it.
ALTER TABLE uia_sessions ADD COLUMN fallback_csrf TEXT;

-- Down Migration
ALTER TABLE uia_sessions DROP COLUMN fallback_csrf;
