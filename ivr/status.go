package ivr

// SIP response codes are sipgo's named constants (sip.StatusOK, sip.StatusNotAcceptableHere,
// …). The one paybridge sends that sipgo names after HTTP instead (RFC 3261 §21.4.17):
const statusUnsupportedURIScheme = 416 // sipgo: StatusRequestedRangeNotSatisfiable
