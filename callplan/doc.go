// Package callplan is the XML call-plan language of paybridge: its model, parser, validator,
// expressions and the engine that runs a plan against a Channel, paying through a Connector.
//
// The package owns the interfaces it drives (Channel, Connector, LinkSender, Clock,
// EventSink); ivr and gateway return concrete types that satisfy them.
package callplan
