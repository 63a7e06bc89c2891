-- The dashboard's sign-in sessions (src/web/session.rs). The cookie holds a random id; only its
-- SHA-256 (hex) is stored, so a copy of the database does not sign anybody in. `token` is the
-- user's GitHub access token, kept here and never sent to the browser; `csrf` is the token of
-- the session's forms. Times are unix milliseconds; a row past `expires_at` is never honoured
-- and is deleted when the next session is created.
-- Keep in step with ../postgres/0022_web_sessions.sql (a test compares them).

CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    login      TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    token      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_csrf ON web_sessions (csrf);
