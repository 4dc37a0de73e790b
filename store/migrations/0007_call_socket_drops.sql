-- paybridge schema, version 7: how many datagrams the kernel dropped on a call's media socket
-- because its receive queue was full (the reader fell behind), recorded when the call ends: a
-- keypress lost under load is explained by it.

ALTER TABLE calls ADD COLUMN rtp_socket_drops INTEGER NOT NULL DEFAULT 0;
