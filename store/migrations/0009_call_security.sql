-- paybridge schema, version 9: how each call was protected on the wire — the SIP transport its
-- signalling came on (UDP, TCP or TLS) and its media's SRTP crypto suite ('' for plain RTP) —
-- and how many SRTP packets of its media failed authentication (a wrong key, tampering),
-- recorded when the call ends.

ALTER TABLE calls ADD COLUMN sip_transport    TEXT    NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN srtp             TEXT    NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN srtp_auth_failed INTEGER NOT NULL DEFAULT 0;
