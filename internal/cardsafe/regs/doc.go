// Package regs clears the calling thread's registers that copying, comparing or scanning
// bytes leaves pieces of card data in.
//
// memmove, memclr, bytes.Index and their kind load the bytes they work on into the CPU's
// vector registers (X0–X15, their 256-bit Y and 512-bit Z forms, Z16–Z31 with AVX-512) and,
// for short copies, into general-purpose registers — a card request of 129 to 256 bytes goes
// through X0–X15 whole. Registers keep their last values until other code overwrites them, and
// a thread that goes idle after handling a card keeps them for as long as it sleeps. Whatever
// reads the thread's registers then sees them: a core dump writes every thread's registers
// into the image (the NT_PRSTATUS, NT_FPREGSET and NT_X86_XSTATE notes), and so does a
// debugger.
//
// [Clear] zeroes them on the calling thread: on amd64 the general-purpose registers Go code
// may use freely, and X0–X15 with PXOR (SSE2), all of Y0–Y15 with VZEROALL when the CPU and
// the OS support AVX, and Z16–Z31 too with AVX-512. On other architectures it does nothing.
// pan.Zero calls it after zeroing a buffer, so every place that wipes card digits also clears
// the registers that carried them, on the thread that carried them.
package regs
