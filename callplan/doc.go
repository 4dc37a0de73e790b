// Package callplan is the XML call-plan language of paybridge: the model a plan parses into
// (Plan, its Steps and their attributes with every default filled in), the parser with
// file:line:col diagnostics, the validator (what it accepts, the engine runs), test
// expressions, $(…) templates, response locators, and the vocabulary of the bundled prompt
// pack (the words the engine says, DefaultPrompts). docs/callplan.md is the language's
// reference.
//
// The package runs nothing: package engine runs a Plan. What a plan's steps need at run time
// that is a rule of the language lives here, as methods of the model, so that the validator
// and the engine apply one rule:
//
//   - APIRequest.NewRequest: every variable escaped for where it goes in the request;
//   - APIRequest.OriginVars: the variables that decide where a request goes, which both refuse
//     to take from untrusted data;
//   - APIResponse.Values: locators and data types;
//   - PayStep.PromptFor and the Say steps' Prompts: the prompts a step plays.
//
// `paybridge validate` and the prompts package need only this package; connectors and
// amounts come from package payment.
package callplan
