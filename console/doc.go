// Package console is the operator's view: the admin HTTP API, the live WebSocket feed, the web
// console page and the Prometheus metrics.
package console
