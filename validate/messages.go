package validate

import (
	"reflect"
	"strings"
)

// Failure describes one failed rule, for a MessageFunc.
type Failure struct {
	// Field is the client's name for the field ("items[2].name" in a body,
	// "limit" in a query).
	Field string
	// Pointer is the field's RFC 6901 JSON pointer; empty outside bodies.
	Pointer string
	// Rule is the rule's tag as written ("required", "max", "slug").
	Rule string
	// Param is the rule's parameter ("10" for max=10), possibly empty.
	Param string
	// Kind and Type are those of the field's value.
	Kind reflect.Kind
	Type reflect.Type
}

// message returns the message for f: MessageFunc, then Messages, then
// English.
func (v *Validator) message(f Failure) string {
	if v.messageFunc != nil {
		if m := v.messageFunc(f); m != "" {
			return m
		}
	}
	if tmpl, ok := v.messages[f.Rule]; ok {
		return expand(tmpl, f)
	}
	return English(f)
}

// expand replaces "{field}" and "{param}" in tmpl.
func expand(tmpl string, f Failure) string {
	s := strings.ReplaceAll(tmpl, "{field}", f.Field)
	return strings.ReplaceAll(s, "{param}", f.Param)
}

// English returns the default English message for a failed rule, such as
// "name must be at least 3 characters long". Rules it does not know get
// "{field} is not valid" (with the rule named).
func English(f Failure) string {
	n, p := f.Field, f.Param
	if n == "" {
		n = "value"
	}
	switch f.Rule {
	case "required", "required_if", "required_unless", "required_with", "required_with_all", "required_without", "required_without_all":
		return n + " is required"
	case "excluded_if", "excluded_unless", "excluded_with", "excluded_with_all", "excluded_without", "excluded_without_all":
		return n + " must not be given here"
	case "isdefault":
		return n + " must not be given"
	case "len":
		return n + " must be " + sized(f, p, "exactly ")
	case "min":
		return n + " must be " + sized(f, p, "at least ")
	case "max":
		return n + " must be " + sized(f, p, "at most ")
	case "gte":
		return n + " must be " + sized(f, p, "at least ")
	case "lte":
		return n + " must be " + sized(f, p, "at most ")
	case "gt":
		return n + " must be " + sized(f, p, "more than ")
	case "lt":
		return n + " must be " + sized(f, p, "less than ")
	case "eq":
		return n + " must be equal to " + p
	case "ne":
		return n + " must not be equal to " + p
	case "oneof":
		return n + " must be one of: " + strings.Join(strings.Fields(p), ", ")
	case "eqfield":
		return n + " must be equal to " + p
	case "nefield":
		return n + " must differ from " + p
	case "gtfield", "gtefield", "ltfield", "ltefield":
		return n + " must be " + map[string]string{"gtfield": "greater than ", "gtefield": "at least ", "ltfield": "less than ", "ltefield": "at most "}[f.Rule] + p
	case "unique":
		return n + " must not contain duplicates"
	case "email":
		return n + " must be a valid email address"
	case "url", "http_url", "https_url":
		return n + " must be a valid URL"
	case "uri":
		return n + " must be a valid URI"
	case "uuid", "uuid3", "uuid4", "uuid5", "uuid_rfc4122", "uuid4_rfc4122":
		return n + " must be a valid UUID"
	case "ulid":
		return n + " must be a valid ULID"
	case "alpha":
		return n + " must contain only letters"
	case "alphanum":
		return n + " must contain only letters and digits"
	case "alphaunicode", "alphanumunicode":
		return n + " must contain only letters and digits"
	case "ascii", "printascii":
		return n + " must contain only ASCII characters"
	case "numeric", "number":
		return n + " must be numeric"
	case "hexadecimal":
		return n + " must be hexadecimal"
	case "boolean":
		return n + " must be a boolean"
	case "lowercase":
		return n + " must be lowercase"
	case "uppercase":
		return n + " must be uppercase"
	case "contains":
		return n + " must contain " + p
	case "excludes":
		return n + " must not contain " + p
	case "startswith":
		return n + " must start with " + p
	case "endswith":
		return n + " must end with " + p
	case "ip", "ip_addr":
		return n + " must be a valid IP address"
	case "ipv4", "ip4_addr":
		return n + " must be a valid IPv4 address"
	case "ipv6", "ip6_addr":
		return n + " must be a valid IPv6 address"
	case "cidr", "cidrv4", "cidrv6":
		return n + " must be a valid CIDR prefix"
	case "hostname", "hostname_rfc1123", "fqdn":
		return n + " must be a valid host name"
	case "e164":
		return n + " must be a phone number in E.164 format"
	case "datetime":
		return n + " must be a date/time in the format " + p
	case "timezone":
		return n + " must be a valid time zone"
	case "json":
		return n + " must be valid JSON"
	case "jwt":
		return n + " must be a valid JWT"
	case "base64", "base64url", "base64rawurl":
		return n + " must be valid base64"
	case "iso3166_1_alpha2", "iso3166_1_alpha3", "iso3166_1_alpha_numeric", "country_code":
		return n + " must be a valid country code"
	case "bcp47_language_tag":
		return n + " must be a valid language tag"
	case "iso4217":
		return n + " must be a valid currency code"
	case "semver":
		return n + " must be a semantic version"
	case "latitude":
		return n + " must be a latitude"
	case "longitude":
		return n + " must be a longitude"
	case "hexcolor", "rgb", "rgba", "hsl", "hsla", "iscolor":
		return n + " must be a color"
	}
	return n + " is not valid (" + f.Rule + ")"
}

// sized phrases a size or bound: characters for strings, items for
// collections, the plain number otherwise.
func sized(f Failure, p, qualifier string) string {
	switch f.Kind {
	case reflect.String:
		if p == "1" {
			return qualifier + "1 character long"
		}
		return qualifier + p + " characters long"
	case reflect.Slice, reflect.Array, reflect.Map:
		if p == "1" {
			return qualifier + "1 item"
		}
		return qualifier + p + " items"
	}
	if p == "" {
		switch qualifier {
		case "more than ":
			return "in the future"
		case "less than ":
			return "in the past"
		}
	}
	return qualifier + p
}
