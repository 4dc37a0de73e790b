// Package deps pins the third-party modules the project builds on, so that go.mod lists them
// before every package uses them. It is removed once each module has a real importer.
package deps

import (
	_ "github.com/emiago/sipgo"
	_ "github.com/gorilla/websocket"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/pion/rtp"
	_ "github.com/pion/sdp/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/oauth2/clientcredentials"
)
