// Package callplan is the XML call-plan language of paybridge: its model, parser, validator,
// expressions and the engine that runs a plan against a Channel, paying through a Connector.
//
// The package owns the interfaces it drives (Channel, Connector, LinkSender, Clock,
// EventSink); ivr and gateway return concrete types that satisfy them.
//
// A plan's HTTP steps (<ApiInteraction>) cannot be turned against the host they run on: a
// redirect to another origin is followed only on request (APIInteractionStep.Redirects), a URL
// whose origin comes from untrusted data is refused unless the step allows it (trust.go, with
// the same rule in the validator), and connections go only where the operator's Destinations
// allow, checked on the dialled address (httpdest.go).
package callplan
