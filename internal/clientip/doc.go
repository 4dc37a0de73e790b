// Package clientip names the client of an HTTP request for rate limits, lockouts and logs.
//
// The peer of the TCP connection is the client unless it is one of the operator's trusted
// reverse proxies (serve --trusted-proxies). A request from a trusted proxy is attributed to
// the address that proxy saw: the X-Forwarded-For and Forwarded (RFC 7239) headers are read
// from the right, skipping addresses that are themselves trusted proxies, and the first
// untrusted address is the client. Everything to the left of it was written by the client
// and is never believed. A request from anyone else is attributed to its peer, whatever
// headers it carries, so a client cannot forge its way out of a lockout or into someone
// else's.
package clientip
