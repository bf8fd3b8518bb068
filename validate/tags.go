package validate

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var durationType = reflect.TypeFor[time.Duration]()

// checkTag checks the numeric parameters of the size and comparison rules
// in a validate tag against the type they apply to. validator/v10 parses
// those parameters only when a rule runs, and panics on a malformed one;
// this finds them at start-up. Unknown rule names are found by probing
// (see Validator.probe).
func checkTag(tag string, t reflect.Type) error {
	if tag == "" || tag == "-" {
		return nil
	}
	inKeys := false
	for _, part := range strings.Split(tag, ",") {
		switch part {
		case "dive":
			t = deref(t)
			switch t.Kind() {
			case reflect.Slice, reflect.Array, reflect.Map:
				t = t.Elem()
			default:
				return errors.New(`"dive" on a field that is not a slice, array or map`)
			}
			continue
		case "keys":
			inKeys = true
			continue
		case "endkeys":
			inKeys = false
			continue
		}
		if inKeys {
			continue
		}
		for _, alt := range strings.Split(part, "|") {
			name, param, hasParam := strings.Cut(alt, "=")
			if !hasParam {
				continue
			}
			if err := checkParam(name, param, deref(t)); err != nil {
				return err
			}
		}
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// checkParam checks one rule's parameter the way validator/v10 will read it.
func checkParam(rule, param string, t reflect.Type) error {
	switch rule {
	case "min", "max", "len", "eq", "ne", "gt", "gte", "lt", "lte":
	default:
		return nil
	}
	var err error
	switch t.Kind() {
	case reflect.String:
		if rule == "eq" || rule == "ne" {
			return nil
		}
		_, err = strconv.ParseInt(param, 0, 64)
	case reflect.Slice, reflect.Array, reflect.Map:
		_, err = strconv.ParseInt(param, 0, 64)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t == durationType {
			if _, derr := time.ParseDuration(param); derr == nil {
				return nil
			}
		}
		_, err = strconv.ParseInt(param, 0, 64)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		_, err = strconv.ParseUint(param, 0, 64)
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(param, 64)
	case reflect.Bool:
		if rule == "eq" || rule == "ne" {
			_, err = strconv.ParseBool(param)
		}
	}
	if err != nil {
		return errors.New("rule " + strconv.Quote(rule) + " has a malformed parameter " + strconv.Quote(param) + " for a " + t.String())
	}
	return nil
}
