package validate

import "github.com/covetgo/covet/errs"

// The errors the binders return, refined with the field, pointer or byte
// offset concerned. errors.Is(err, validate.ErrUnknownField) matches a
// refined copy too; errs.Write renders them as problem+json.
var (
	// ErrUnsupportedMediaType (415): the body is not application/json or a
	// +json type, or its charset is not UTF-8.
	ErrUnsupportedMediaType = errs.New(errs.KindUnsupportedMediaType, "unsupported_media_type", "The request body must be JSON (application/json).")
	// ErrTooLarge (413): the body is over the binder's limit.
	ErrTooLarge = errs.New(errs.KindPayloadTooLarge, "payload_too_large", "The request body is too large.")
	// ErrEmptyBody (400): the body is empty or only whitespace.
	ErrEmptyBody = errs.New(errs.KindBadRequest, "empty_body", "The request body is empty.")
	// ErrSyntax (400): the body is not well-formed JSON.
	ErrSyntax = errs.New(errs.KindBadRequest, "invalid_json", "The request body is not valid JSON.")
	// ErrTrailingData (400): something follows the JSON value.
	ErrTrailingData = errs.New(errs.KindBadRequest, "trailing_data", "The request body has data after the JSON value.")
	// ErrInvalidUTF8 (400): a string is not valid UTF-8.
	ErrInvalidUTF8 = errs.New(errs.KindBadRequest, "invalid_utf8", "The request body has text that is not valid UTF-8.")
	// ErrTooDeep (400): objects and arrays are nested deeper than allowed.
	ErrTooDeep = errs.New(errs.KindBadRequest, "too_deep", "The request body is nested too deeply.")
	// ErrTooManyElements (400): the body holds more array elements and
	// object members than allowed.
	ErrTooManyElements = errs.New(errs.KindBadRequest, "too_many_elements", "The request body has too many elements.")
	// ErrUnknownField (400): an object has a member the type does not know.
	ErrUnknownField = errs.New(errs.KindBadRequest, "unknown_field", "The request body has an unknown field.")
	// ErrDuplicateField (400): an object has the same member twice.
	ErrDuplicateField = errs.New(errs.KindBadRequest, "duplicate_field", "The request body has a duplicate field.")
	// ErrType (400): a value has the wrong JSON type or is out of range.
	ErrType = errs.New(errs.KindBadRequest, "invalid_type", "The request body has a value of the wrong type.")
	// ErrNotObject (400): the body is not the JSON object the type needs.
	ErrNotObject = errs.New(errs.KindBadRequest, "not_an_object", "The request body must be a JSON object.")
	// ErrInvalid (422): the input decoded but broke the type's rules; the
	// field errors say which.
	ErrInvalid = errs.New(errs.KindValidation, "validation_failed", "The request is not valid.")
	// ErrParam (400): a query or path value cannot be converted to its
	// field's type, or the query string is malformed.
	ErrParam = errs.New(errs.KindBadRequest, "invalid_parameter", "A request parameter is malformed.")
	// ErrUnknownParam (400): the query string has a parameter the type does
	// not know.
	ErrUnknownParam = errs.New(errs.KindBadRequest, "unknown_parameter", "The query string has an unknown parameter.")
	// ErrRepeatedParam (400): a parameter that takes one value is given
	// more than once.
	ErrRepeatedParam = errs.New(errs.KindBadRequest, "repeated_parameter", "A query parameter is given more than once.")
	// ErrTooManyParams (400): the query string is longer or has more
	// parameters than allowed.
	ErrTooManyParams = errs.New(errs.KindBadRequest, "too_many_parameters", "The query string is too long.")
)
