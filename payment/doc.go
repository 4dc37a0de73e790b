// Package payment is the contract between a call plan and a payment provider: what a payment
// is (an Amount in minor units, a Card whose digits stay in pan.SecureBuffers, a Request and
// its Result, provider sessions, payment links), the connector a plan declares
// (ConnectorSpec) with the one rule set that decides whether it can be opened
// (CheckConnector), and the interfaces a provider's connector implements (Connector,
// Connectors, LinkSender).
//
// The language (package callplan) parses and validates <Connector> elements and amounts with
// it; the engine pays through its interfaces; the gateway implements them. So the gateway needs
// neither the parser nor the engine, and `paybridge validate` applies the very rules the
// gateway applies when it opens a connector: a plan that validates opens.
package payment
