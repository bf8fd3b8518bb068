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
	if text, ok := englishFixed[f.Rule]; ok {
		return n + text
	}
	if text, ok := englishParam[f.Rule]; ok {
		return n + text + p
	}
	if qualifier, ok := englishSized[f.Rule]; ok {
		return n + " must be " + sized(f, p, qualifier)
	}
	if f.Rule == "oneof" {
		return n + " must be one of: " + strings.Join(strings.Fields(p), ", ")
	}
	return n + " is not valid (" + f.Rule + ")"
}

// englishFixed holds, by rule, the messages that end after the field's
// name.
var englishFixed = byRule([][2]string{
	{"required required_if required_unless required_with required_with_all required_without required_without_all", " is required"},
	{"excluded_if excluded_unless excluded_with excluded_with_all excluded_without excluded_without_all", " must not be given here"},
	{"isdefault", " must not be given"},
	{"unique", " must not contain duplicates"},
	{"email", " must be a valid email address"},
	{"url http_url https_url", " must be a valid URL"},
	{"uri", " must be a valid URI"},
	{"uuid uuid3 uuid4 uuid5 uuid_rfc4122 uuid4_rfc4122", " must be a valid UUID"},
	{"ulid", " must be a valid ULID"},
	{"alpha", " must contain only letters"},
	{"alphanum alphaunicode alphanumunicode", " must contain only letters and digits"},
	{"ascii printascii", " must contain only ASCII characters"},
	{"numeric number", " must be numeric"},
	{"hexadecimal", " must be hexadecimal"},
	{"boolean", " must be a boolean"},
	{"lowercase", " must be lowercase"},
	{"uppercase", " must be uppercase"},
	{"ip ip_addr", " must be a valid IP address"},
	{"ipv4 ip4_addr", " must be a valid IPv4 address"},
	{"ipv6 ip6_addr", " must be a valid IPv6 address"},
	{"cidr cidrv4 cidrv6", " must be a valid CIDR prefix"},
	{"hostname hostname_rfc1123 fqdn", " must be a valid host name"},
	{"e164", " must be a phone number in E.164 format"},
	{"timezone", " must be a valid time zone"},
	{"json", " must be valid JSON"},
	{"jwt", " must be a valid JWT"},
	{"base64 base64url base64rawurl", " must be valid base64"},
	{"iso3166_1_alpha2 iso3166_1_alpha3 iso3166_1_alpha_numeric country_code", " must be a valid country code"},
	{"bcp47_language_tag", " must be a valid language tag"},
	{"iso4217", " must be a valid currency code"},
	{"semver", " must be a semantic version"},
	{"latitude", " must be a latitude"},
	{"longitude", " must be a longitude"},
	{"hexcolor rgb rgba hsl hsla iscolor", " must be a color"},
})

// englishParam holds, by rule, the messages that end with the rule's
// parameter.
var englishParam = byRule([][2]string{
	{"eq eqfield", " must be equal to "},
	{"ne", " must not be equal to "},
	{"nefield", " must differ from "},
	{"gtfield", " must be greater than "},
	{"gtefield", " must be at least "},
	{"ltfield", " must be less than "},
	{"ltefield", " must be at most "},
	{"contains", " must contain "},
	{"excludes", " must not contain "},
	{"startswith", " must start with "},
	{"endswith", " must end with "},
	{"datetime", " must be a date/time in the format "},
})

// englishSized holds the qualifier of each size or bound rule (see sized).
var englishSized = byRule([][2]string{
	{"len", "exactly "},
	{"min gte", "at least "},
	{"max lte", "at most "},
	{"gt", "more than "},
	{"lt", "less than "},
})

// byRule turns rows of (space-separated rules, text) into a map by rule.
func byRule(rows [][2]string) map[string]string {
	m := make(map[string]string)
	for _, row := range rows {
		for _, rule := range strings.Fields(row[0]) {
			m[rule] = row[1]
		}
	}
	return m
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
