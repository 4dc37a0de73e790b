package callplan

// fieldErrorTypes are the error types each Pay field can produce: the combinations the
// bundled default prompts must cover (input-timeout applies to every field).
var fieldErrorTypes = map[string][]string{
	FieldCardNumber:     {ErrTypeInputTimeout, ErrTypeInvalidCardNumber, ErrTypeInvalidCardType},
	FieldExpirationDate: {ErrTypeInputTimeout, ErrTypeInvalidDate},
	FieldSecurityCode:   {ErrTypeInputTimeout, ErrTypeInvalidSecurityCode},
	FieldPostalCode:     {ErrTypeInputTimeout, ErrTypeInvalidPostalCode},
}
