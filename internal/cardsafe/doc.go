// Package cardsafe holds what every HTTP endpoint of paybridge that handles card data shares,
// on either side of the wire: the payment page and the sandbox provider receive card bodies,
// the gateway's card wire sends them. It imports only the standard library, pan and its own
// regs, so neither side imports the other through it.
//
//   - [Wipe] zeroes a buffer that held card digits, with pan.Zero (a no-op only in the control
//     build of the core-image test, tag paybridge_keepcards, which says so on every start).
//   - [ClearRegisters] zeroes the calling thread's vector and scratch registers (package regs;
//     pan.Zero, and so Wipe, does it too): a thread that goes idle keeps the pieces of a card
//     its last copy left there, and a core image holds every thread's registers.
//   - [Listener] and [ConnContext] let a server handler zero net/http's read buffer of its
//     connection once it has read a card body ([ReadBody], [BodyRead]): net/http reads each
//     request, body included, into a bufio.Reader it returns to a pool unzeroed.
//   - [ReadRecorder] is the net.Conn that remembers which buffers its reads filled; the
//     gateway's card wire reads provider answers through one too.
//   - [FormValue] and [FormDigits] URL-decode the fields of a card form (the payment page's,
//     the Stripe-shaped token request the sandbox receives) from the body bytes, without a
//     copy or a string.
//
// docs/gateway.md, "Card data in memory", lists every copy of a card and who zeroes it.
package cardsafe
