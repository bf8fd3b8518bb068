package errs

import "net/http"

// Kind classifies an error. Kinds follow CovetPy's exception hierarchy where Go
// has a counterpart, plus the plain HTTP errors. A Kind is itself an error so
// that errors.Is(err, errs.KindNotFound) reports whether any *Error in err's
// chain has that kind.
type Kind uint8

// The kinds. KindInternal is the zero value: an error of unknown origin is an
// internal error.
const (
	KindInternal             Kind = iota // 500: a bug or an unexpected failure
	KindConfiguration                    // invalid or insecure settings, refused at construction
	KindMiddleware                       // a stage failed in a way that is not the caller's fault
	KindValidation                       // 422: the request was understood but its content is invalid
	KindBadRequest                       // 400: malformed syntax, bad headers, unparsable input
	KindAuthentication                   // 401: the caller is not authenticated
	KindAuthorization                    // 403: the caller is known and may not do this
	KindSecurity                         // 400/403: a request refused for security reasons
	KindNotFound                         // 404
	KindMethodNotAllowed                 // 405
	KindConflict                         // 409
	KindGone                             // 410
	KindPreconditionFailed               // 412
	KindPayloadTooLarge                  // 413
	KindUnsupportedMediaType             // 415
	KindRateLimit                        // 429
	KindDatabase                         // 500: a database failure that is not the caller's fault
	KindNetwork                          // 502: an upstream could not be reached
	KindSerialization                    // 500: encoding a response failed
	KindServiceUnavailable               // 503: try again later
	KindTimeout                          // 504: a deadline passed
	kindCount
)

type kindInfo struct {
	name   string
	status int
	code   string
}

var kinds = [kindCount]kindInfo{
	KindInternal:             {"internal", http.StatusInternalServerError, "internal_error"},
	KindConfiguration:        {"configuration", http.StatusInternalServerError, "configuration_error"},
	KindMiddleware:           {"middleware", http.StatusInternalServerError, "middleware_error"},
	KindValidation:           {"validation", http.StatusUnprocessableEntity, "validation_failed"},
	KindBadRequest:           {"bad_request", http.StatusBadRequest, "bad_request"},
	KindAuthentication:       {"authentication", http.StatusUnauthorized, "unauthenticated"},
	KindAuthorization:        {"authorization", http.StatusForbidden, "forbidden"},
	KindSecurity:             {"security", http.StatusBadRequest, "request_refused"},
	KindNotFound:             {"not_found", http.StatusNotFound, "not_found"},
	KindMethodNotAllowed:     {"method_not_allowed", http.StatusMethodNotAllowed, "method_not_allowed"},
	KindConflict:             {"conflict", http.StatusConflict, "conflict"},
	KindGone:                 {"gone", http.StatusGone, "gone"},
	KindPreconditionFailed:   {"precondition_failed", http.StatusPreconditionFailed, "precondition_failed"},
	KindPayloadTooLarge:      {"payload_too_large", http.StatusRequestEntityTooLarge, "payload_too_large"},
	KindUnsupportedMediaType: {"unsupported_media_type", http.StatusUnsupportedMediaType, "unsupported_media_type"},
	KindRateLimit:            {"rate_limit", http.StatusTooManyRequests, "rate_limited"},
	KindDatabase:             {"database", http.StatusInternalServerError, "database_error"},
	KindNetwork:              {"network", http.StatusBadGateway, "upstream_unreachable"},
	KindSerialization:        {"serialization", http.StatusInternalServerError, "serialization_error"},
	KindServiceUnavailable:   {"service_unavailable", http.StatusServiceUnavailable, "service_unavailable"},
	KindTimeout:              {"timeout", http.StatusGatewayTimeout, "timeout"},
}

func (k Kind) info() kindInfo {
	if k >= kindCount {
		return kinds[KindInternal]
	}
	return kinds[k]
}

// String returns the kind's stable name, such as "rate_limit".
func (k Kind) String() string { return k.info().name }

// Error makes a Kind usable as an errors.Is target.
func (k Kind) Error() string { return k.info().name }

// Status is the HTTP status an error of this kind gets unless it sets its own.
func (k Kind) Status() int { return k.info().status }

// Code is the machine code an error of this kind gets unless it sets its own.
func (k Kind) Code() string { return k.info().code }
