package payment

import "errors"

// ErrAmount: an amount or currency is malformed. (The message keeps the prefix plan authors
// see in $(Pay.ConnectorError) and validate's messages.)
var ErrAmount = errors.New("callplan: bad amount")
