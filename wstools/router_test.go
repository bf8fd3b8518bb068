package wstools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		typ, id string
		ok      bool
	}{
		{name: "minimal", in: `{"type":"chat.send"}`, typ: "chat.send", ok: true},
		{name: "with id and data", in: ` { "id" : "42", "data": {"type":"inner"}, "type" : "a:b/c-d_e@f" } `, typ: "a:b/c-d_e@f", id: "42", ok: true},
		{name: "nested arrays and strings", in: `{"x":[1,"]}",{"y":"\"}"}],"type":"t"}`, typ: "t", ok: true},
		{name: "escaped key", in: `{"\u0074ype":"t"}`, typ: "t", ok: true},
		{name: "escaped value", in: `{"type":"\u0074"}`, typ: "t", ok: true},
		{name: "numbers and literals", in: `{"a":-1.5e3,"b":true,"c":null,"type":"t","d":false}`, typ: "t", ok: true},
		{name: "empty", in: ``},
		{name: "not JSON", in: `hello`},
		{name: "truncated", in: `{"type":"t"`},
		{name: "trailing data", in: `{"type":"t"} {}`},
		{name: "array", in: `[{"type":"t"}]`},
		{name: "string", in: `"type"`},
		{name: "no type", in: `{"data":1}`},
		{name: "type null", in: `{"type":null}`},
		{name: "type object", in: `{"type":{"a":1}}`},
		{name: "empty type", in: `{"type":""}`},
		{name: "type too long", in: `{"type":"` + strings.Repeat("a", MaxTypeLength+1) + `"}`},
		{name: "type with space", in: `{"type":"a b"}`},
		{name: "type with escaped quote", in: `{"type":"a\"b"}`},
		{name: "duplicate type", in: `{"type":"a","type":"a"}`},
		{name: "type only in upper case", in: `{"Type":"a"}`},
		{name: "id not a string", in: `{"type":"a","id":7}`},
		{name: "duplicate id", in: `{"type":"a","id":"1","id":"2"}`},
		{name: "id too long", in: `{"type":"a","id":"` + strings.Repeat("i", MaxIDLength+1) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, id, err := decodeEnvelope([]byte(tt.in))
			if (err == nil) != tt.ok || typ != tt.typ && tt.ok || id != tt.id && tt.ok {
				t.Fatalf("decodeEnvelope(%q) = %q, %q, %v", tt.in, typ, id, err)
			}
		})
	}
}

func TestAppendFrameIsJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ, room string
		seq       uint64
		raw       string
	}{
		{"chat", "lobby", 1, `{"text":"hi \"there\" <b>"}`},
		{"chat", "", 0, `"x"`},
		{"n", "r", 18446744073709551615, ``},
	} {
		b := appendFrame(nil, tc.typ, tc.room, tc.seq, []byte(tc.raw))
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if f.Type != tc.typ || f.Room != tc.room || f.Seq != tc.seq {
			t.Fatalf("%s decoded as %+v", b, f)
		}
	}
}

func TestRouterHandlePanics(t *testing.T) {
	t.Parallel()
	h := func(context.Context, *Conn, Message) error { return nil }
	for name, reg := range map[string]func(rt *Router){
		"invalid type": func(rt *Router) { rt.Handle("bad type", h) },
		"nil handler":  func(rt *Router) { rt.Handle("ok", nil) },
		"twice":        func(rt *Router) { rt.Handle("ok", h); rt.Handle("ok", h) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			reg(NewRouter())
		})
	}
}

// FuzzDecodeEnvelope checks the envelope scanner against encoding/json: it
// never panics, accepts only valid JSON objects, and what it reads from
// valid UTF-8 is what encoding/json reads.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"type":"chat.send","id":"1","data":{"text":"hi"}}`,
		`{"\u0074ype":"t","x":[1,{"y":"}"}]}`,
		`{"type":"a","type":"b"}`,
		`{"Type":"a"}`,
		`[]`, `{`, `"`, `{"type":"t"} x`, "{\"type\":\"\xff\"}",
		`{"a":{"b":{"c":[[[[]]]]}},"type":"deep","id":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		typ, id, err := decodeEnvelope(in)
		if err != nil || !utf8.Valid(in) {
			// Conn closes a connection that sends invalid UTF-8 before
			// decoding (see TestConn's "invalid UTF-8" case), so such input
			// only has to be read without a panic; encoding/json would
			// turn its bad bytes into U+FFFD where the scanner keeps them.
			return
		}
		if !json.Valid(in) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		if !validName(typ, MaxTypeLength) || len(id) > MaxIDLength {
			t.Fatalf("accepted type %q id %q", typ, id)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(in, &m); err != nil {
			t.Fatalf("accepted %q that is not an object: %v", in, err)
		}
		var gotType string
		if err := json.Unmarshal(m["type"], &gotType); err != nil || gotType != typ {
			t.Fatalf("%q: type %q, encoding/json reads %q (%v)", in, typ, gotType, err)
		}
		if raw, ok := m["id"]; ok {
			var gotID string
			if err := json.Unmarshal(raw, &gotID); err != nil || gotID != id {
				t.Fatalf("%q: id %q, encoding/json reads %q (%v)", in, id, gotID, err)
			}
		} else if id != "" {
			t.Fatalf("%q: id %q without an id member", in, id)
		}
		// A frame built from what was read is valid JSON.
		if !json.Valid(appendFrame(nil, typ, "room", 1, bytes.TrimSpace(in))) {
			t.Fatalf("frame from %q is not JSON", in)
		}
	})
}

// FuzzBrokerEnvelope checks that broker messages (which come from the
// network) never panic the decoder, and that encoding round-trips.
func FuzzBrokerEnvelope(f *testing.F) {
	var id [16]byte
	f.Add(encodeEnvelope(id, "chat", []byte(`{"a":1}`)), "chat", []byte(`{"a":1}`))
	f.Add([]byte{1, 2, 3}, "x", []byte(`null`))
	f.Add([]byte{}, "", []byte{})
	f.Add(encodeEnvelope(id, "chat", []byte("\"\xff\"")), "chat", []byte("\"\xff\""))
	f.Fuzz(func(t *testing.T, msg []byte, typ string, data []byte) {
		if _, gotTyp, gotData, ok := decodeEnvelopeMsg(msg); ok {
			if !validName(gotTyp, MaxTypeLength) || !json.Valid(gotData) || !utf8.Valid(gotData) {
				t.Fatalf("accepted type %q data %q", gotTyp, gotData)
			}
		}
		if !validName(typ, MaxTypeLength) || !json.Valid(data) || !utf8.Valid(data) {
			return
		}
		id[0]++
		origin, gotTyp, gotData, ok := decodeEnvelopeMsg(encodeEnvelope(id, typ, data))
		if !ok || origin != id || gotTyp != typ || !bytes.Equal(gotData, data) {
			t.Fatalf("round trip of %q %q: %v %q %q", typ, data, ok, gotTyp, gotData)
		}
	})
}

// envelopeView is how a handler typically decodes a message: the fields
// the router read, and one of its own.
type envelopeView struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
	Room string  `json:"room"`
}

func TestMessageDecodeIsStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		room string // want, when ok
		ok   bool
	}{
		{name: "plain", in: `{"type":"join","room":"lobby"}`, room: "lobby", ok: true},
		{name: "other case ignored", in: `{"type":"join","Type":"admin","ROOM":"staff-only"}`, ok: true},
		{name: "other case only", in: `{"type":"join","Room":"staff-only"}`, ok: true},
		{name: "duplicate member", in: `{"type":"join","room":"lobby","room":"staff-only"}`},
		{name: "duplicate through escape", in: `{"type":"join","room":"lobby","r\u006fom":"staff-only"}`},
		{name: "duplicate nested", in: `{"type":"join","room":"lobby","data":{"a":1,"a":2}}`},
		{name: "wrong type", in: `{"type":"join","room":7}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, _, err := decodeEnvelope([]byte(tc.in))
			if err != nil {
				t.Fatalf("envelope: %v", err)
			}
			var v envelopeView
			err = Message{Type: typ, Raw: []byte(tc.in)}.Decode(&v)
			if tc.ok != (err == nil) {
				t.Fatalf("Decode = %v, want ok %v", err, tc.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidMessage) {
					t.Fatalf("Decode = %v, want ErrInvalidMessage", err)
				}
				return
			}
			if v.Type != typ || v.Room != tc.room {
				t.Fatalf("routed as %q, decoded as %+v", typ, v)
			}
		})
	}
}

// FuzzEnvelopeAgreesWithDecode holds the router's reading of a message's
// type and id to what a handler decodes from the same bytes.
func FuzzEnvelopeAgreesWithDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","room":"lobby"}`,
		`{"type":"join","Type":"admin","ROOM":"staff-only"}`,
		`{"\u0074ype":"t","id":"1"}`,
		`{"type":"a","type":"b"}`,
		`{"TYPE":"a","type":"b","Id":"x","id":"y"}`,
		`{"id":"\ud800","type":"t"}`,
		`{"type":"t","data":{"type":"u"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // the connection refuses such frames before routing
		}
		typ, id, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		m := Message{Type: typ, ID: id, Raw: b}
		var v envelopeView
		if err := m.Decode(&v); err == nil {
			if v.Type != typ {
				t.Fatalf("%s: routed as %q, decoded type %q", b, typ, v.Type)
			}
			if (v.ID == nil && id != "") || (v.ID != nil && *v.ID != id) {
				t.Fatalf("%s: routed with id %q, decoded id %v", b, id, v.ID)
			}
		}
		var generic map[string]any
		if err := m.Decode(&generic); err == nil {
			if generic["type"] != typ {
				t.Fatalf("%s: routed as %q, decoded type %v", b, typ, generic["type"])
			}
			if got, ok := generic["id"]; ok && got != id || !ok && id != "" {
				t.Fatalf("%s: routed with id %q, decoded id %v", b, id, got)
			}
		}
	})
}

// BenchmarkMessageDecode compares Message.Decode with the encoding/json
// decoding it replaced, on a typical chat message.
func BenchmarkMessageDecode(b *testing.B) {
	raw := []byte(`{"type":"chat.say","id":"17","room":"lobby","text":"hello there, how is everyone doing today?"}`)
	type say struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	b.Run("strict", func(b *testing.B) {
		m := Message{Type: "chat.say", Raw: raw}
		b.ReportAllocs()
		for b.Loop() {
			var v say
			if err := m.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v say
			if err := json.Unmarshal(raw, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
