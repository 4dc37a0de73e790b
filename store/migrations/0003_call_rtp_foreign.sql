-- paybridge schema, version 3: how many datagrams a call's media port dropped because they came
-- from an address other than the caller's media address (RTP injection attempts), recorded
-- when the call ends.

ALTER TABLE calls ADD COLUMN rtp_foreign INTEGER NOT NULL DEFAULT 0;
