package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/errs"
)

func testPolicy() Policy {
	return Policy{Roles: map[string]Role{
		"reader":  {Permissions: []string{"notes:read", "comments:read"}},
		"editor":  {Inherits: []string{"reader"}, Permissions: []string{"notes:write"}},
		"auditor": {Permissions: []string{"*:read"}},
		"admin":   {Inherits: []string{"editor"}, Permissions: []string{"notes:*", "users:*"}},
		"root":    {Permissions: []string{"*"}},
		"nobody":  {},
	}}
}

func TestRBACAllowed(t *testing.T) {
	t.Parallel()
	r := MustRBAC(testPolicy())
	cases := []struct {
		roles []string
		perm  string
		want  bool
	}{
		{[]string{"reader"}, "notes:read", true},
		{[]string{"reader"}, "notes:write", false},
		{[]string{"editor"}, "notes:read", true}, // inherited
		{[]string{"editor"}, "notes:write", true},
		{[]string{"editor"}, "notes:delete", false},
		{[]string{"admin"}, "notes:delete", true}, // notes:*
		{[]string{"admin"}, "notes:*", true},
		{[]string{"editor"}, "notes:*", false}, // notes:write does not cover notes:*
		{[]string{"admin"}, "comments:read", true},
		{[]string{"admin"}, "comments:delete", false},
		{[]string{"auditor"}, "billing:read", true}, // *:read
		{[]string{"auditor"}, "billing:write", false},
		{[]string{"auditor"}, "billing:*", false},
		{[]string{"root"}, "anything:at-all", true},
		{[]string{"root"}, "*", true},
		{[]string{"nobody"}, "notes:read", false},
		{[]string{"ghost"}, "notes:read", false}, // unknown role
		{nil, "notes:read", false},
		{[]string{"reader", "admin"}, "users:create", true},
		{[]string{"reader"}, "notes", false},        // malformed
		{[]string{"reader"}, "", false},             // malformed
		{[]string{"reader"}, "notes:read:x", false}, // not a grant
		{[]string{"Reader"}, "notes:read", false},   // role names are case-sensitive
		{[]string{"reader"}, "Notes:read", false},   // so are permissions
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.roles, "+")+"/"+tc.perm, func(t *testing.T) {
			if got := r.Allowed(tc.roles, tc.perm); got != tc.want {
				t.Fatalf("Allowed = %v, want %v", got, tc.want)
			}
			c, err := r.Compile(tc.perm)
			if err != nil {
				return // malformed permissions do not compile
			}
			if got := c.Allows(tc.roles); got != tc.want {
				t.Fatalf("compiled Allows = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRBACFlattened(t *testing.T) {
	t.Parallel()
	r := MustRBAC(testPolicy())
	got := strings.Join(r.Permissions("admin"), ",")
	want := "comments:read,notes:*,notes:read,notes:write,users:*"
	if got != want {
		t.Fatalf("admin permissions = %s, want %s", got, want)
	}
	if !r.HasRole([]string{"admin"}, "reader") || r.HasRole([]string{"reader"}, "admin") {
		t.Fatal("HasRole does not follow inheritance")
	}
	if r.Permissions("ghost") != nil {
		t.Fatal("unknown role has permissions")
	}
}

func TestRBACRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		p    Policy
		msg  string
	}{
		{"self cycle", Policy{Roles: map[string]Role{"a": {Inherits: []string{"a"}}}}, "cycle"},
		{"long cycle", Policy{Roles: map[string]Role{"a": {Inherits: []string{"b"}}, "b": {Inherits: []string{"c"}}, "c": {Inherits: []string{"a"}}}}, "cycle"},
		{"unknown parent", Policy{Roles: map[string]Role{"a": {Inherits: []string{"ghost"}}}}, "unknown role"},
		{"permission without action", Policy{Roles: map[string]Role{"a": {Permissions: []string{"notes"}}}}, "resource:action"},
		{"empty resource", Policy{Roles: map[string]Role{"a": {Permissions: []string{":read"}}}}, "resource:action"},
		{"three parts", Policy{Roles: map[string]Role{"a": {Permissions: []string{"a:b:c"}}}}, "resource:action"},
		{"partial wildcard", Policy{Roles: map[string]Role{"a": {Permissions: []string{"no*:read"}}}}, "resource:action"},
		{"space in permission", Policy{Roles: map[string]Role{"a": {Permissions: []string{"notes:read all"}}}}, "resource:action"},
		{"bad role name", Policy{Roles: map[string]Role{"a b": {}}}, "role name"},
		{"empty role name", Policy{Roles: map[string]Role{"": {}}}, "role name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRBAC(tc.p)
			if !errors.Is(err, errs.KindConfiguration) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want a configuration error mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	good := `{"roles":{"reader":{"permissions":["notes:read"]},"editor":{"inherits":["reader"],"permissions":["notes:write"]}}}`
	p, err := ParsePolicy(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRBAC(p)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allowed([]string{"editor"}, "notes:read") {
		t.Fatal("inheritance lost in JSON")
	}
	bad := []struct{ name, doc string }{
		{"empty", ""},
		{"not JSON", "roles: {}"},
		{"unknown field", `{"roles":{},"extra":1}`},
		{"unknown role field", `{"roles":{"a":{"permisions":["x:y"]}}}`},
		{"no roles", `{}`},
		{"trailing data", good + `{}`},
		{"wrong type", `{"roles":{"a":{"permissions":"notes:read"}}}`},
		{"too large", `{"roles":{"a":{"permissions":["` + strings.Repeat("x", MaxPolicySize) + `"]}}}`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParsePolicy(strings.NewReader(tc.doc)); !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
		})
	}
}

func TestParsePolicyYAML(t *testing.T) {
	t.Parallel()
	good := "roles:\n  reader: {permissions: [\"notes:read\"]}\n  editor:\n    inherits: [reader]\n    permissions:\n      - \"notes:write\"\n"
	p, err := ParsePolicyYAML(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRBAC(p)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allowed([]string{"editor"}, "notes:read") || r.Allowed([]string{"reader"}, "notes:write") {
		t.Fatal("YAML policy not decoded as written")
	}
	// A billion-laughs document: each alias level multiplies the size by
	// nine, to 9^9 strings at the last.
	laughs := "roles:\n  l0: {permissions: &a [\"x:y\",\"x:y\",\"x:y\",\"x:y\",\"x:y\",\"x:y\",\"x:y\",\"x:y\",\"x:y\"]}\n"
	prev := "a"
	for i, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += "  l" + strconv.Itoa(i+1) + ": {permissions: &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]}\n"
		prev = n
	}
	bad := []struct{ name, doc string }{
		{"empty", ""},
		{"not a mapping", "- reader\n"},
		{"unknown field", "roles: {}\nextra: 1\n"},
		{"unknown role field", "roles:\n  a: {permisions: [\"x:y\"]}\n"},
		{"no roles", "{}\n"},
		{"repeated key", "roles:\n  a: {permissions: [\"x:y\"]}\n  a: {permissions: [\"*\"]}\n"},
		{"two documents", good + "---\nroles: {}\n"},
		{"wrong type", "roles:\n  a: {permissions: \"notes:read\"}\n"},
		{"tabs", "roles:\n\ta: {}\n"},
		{"alias explosion", laughs},
		{"too large", "roles: {a: {permissions: [\"" + strings.Repeat("x", MaxPolicySize) + "\"]}}\n"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParsePolicyYAML(strings.NewReader(tc.doc)); !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
		})
	}
}

func TestLoadPolicyFileByExtension(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yml := filepath.Join(dir, "policy.yaml")
	js := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(yml, []byte("roles:\n  reader: {permissions: [\"notes:read\"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(js, []byte(`{"roles":{"reader":{"permissions":["notes:read"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{yml, js} {
		p, err := LoadPolicyFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got := p.Roles["reader"].Permissions; len(got) != 1 || got[0] != "notes:read" {
			t.Fatalf("%s: reader has %q", path, got)
		}
	}
	// YAML content in a .json file is refused, not guessed at.
	if err := os.WriteFile(js, []byte("roles: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicyFile(js); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("YAML in a .json file: %v", err)
	}
	if _, err := LoadPolicyFile(filepath.Join(dir, "missing.yml")); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("missing file: %v", err)
	}
}

// withPrincipal is a stand-in for the authn stage.
func withPrincipal(p *principal.Principal, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p != nil {
			r = r.WithContext(principal.With(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })

func decode(t *testing.T, body []byte) (code string) {
	t.Helper()
	var p struct{ Code string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not problem+json: %s", body)
	}
	return p.Code
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	a, err := New(Options{Decider: MustRBAC(testPolicy()), Realm: "api"})
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]string{"1": "alice", "2": "bob"}
	loader := func(r *http.Request) (Resource, error) {
		id := r.URL.Query().Get("id")
		owner, found := notes[id]
		if !found {
			return Resource{}, ErrNotFound
		}
		return Resource{ID: "notes/" + id, Owner: owner, Value: id}, nil
	}
	alice := &principal.Principal{Subject: "alice", Roles: []string{"reader"}, Scopes: []string{"notes:read"}}
	bob := &principal.Principal{Subject: "bob", Roles: []string{"editor"}}
	admin := &principal.Principal{Subject: "root", Roles: []string{"admin"}}
	showResource := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := ResourceFrom(r.Context())
		_, _ = w.Write([]byte("note " + res.Value.(string)))
	})
	cases := []struct {
		name      string
		mw        func(http.Handler) http.Handler
		p         *principal.Principal
		target    string
		h         http.Handler
		status    int
		code      string
		challenge string
	}{
		{"require: allowed", a.Require("notes:read"), alice, "/", ok, 200, "", ""},
		{"require: inherited", a.Require("notes:read", "notes:write"), bob, "/", ok, 200, "", ""},
		{"require: one of two missing", a.Require("notes:read", "notes:write"), alice, "/", ok, 403, "forbidden", ""},
		{"require: anonymous", a.Require("notes:read"), nil, "/", ok, 401, "unauthenticated", `Bearer realm="api"`},
		{"require: wildcard grant", a.Require("notes:delete"), admin, "/", ok, 200, "", ""},
		{"role: direct", a.RequireRole("reader"), alice, "/", ok, 200, "", ""},
		{"role: inherited", a.RequireRole("reader"), admin, "/", ok, 200, "", ""},
		{"role: missing", a.RequireRole("admin"), bob, "/", ok, 403, "forbidden", ""},
		{"role: held but not in the policy", a.RequireRole("ops"), &principal.Principal{Subject: "o", Roles: []string{"ops"}}, "/", ok, 200, "", ""},
		{"role: anonymous", a.RequireRole("admin"), nil, "/", ok, 401, "unauthenticated", ""},
		{"scope: granted", a.RequireScope("notes:read"), alice, "/", ok, 200, "", ""},
		{"scope: missing", a.RequireScope("notes:read", "notes:write"), alice, "/", ok, 403, "insufficient_scope", `Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant the required scope.", scope="notes:read notes:write"`},
		{"owner: own note", a.RequireOwner(loader, "notes:*"), alice, "/?id=1", showResource, 200, "", ""},
		{"owner: someone else's note", a.RequireOwner(loader, "notes:*"), alice, "/?id=2", showResource, 403, "forbidden", ""},
		{"owner: editor is not a bypass", a.RequireOwner(loader, "notes:*"), bob, "/?id=1", showResource, 403, "forbidden", ""},
		{"owner: admin bypass", a.RequireOwner(loader, "notes:*"), admin, "/?id=2", showResource, 200, "", ""},
		{"owner: missing stays 404", a.RequireOwner(loader, "notes:*"), alice, "/?id=9", showResource, 404, "not_found", ""},
		{"owner: missing is 404 for admins", a.RequireOwner(loader, "notes:*"), admin, "/?id=9", showResource, 404, "not_found", ""},
		{"owner: anonymous", a.RequireOwner(loader), nil, "/?id=1", showResource, 401, "unauthenticated", ""},
		{"owner: no bypass configured", a.RequireOwner(loader), admin, "/?id=1", showResource, 403, "forbidden", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			withPrincipal(tc.p, tc.mw(tc.h)).ServeHTTP(w, httptest.NewRequest("GET", tc.target, nil))
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.code != "" {
				if got := decode(t, w.Body.Bytes()); got != tc.code {
					t.Fatalf("code = %q, want %q", got, tc.code)
				}
			}
			if tc.challenge != "" && w.Header().Get("WWW-Authenticate") != tc.challenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", w.Header().Get("WWW-Authenticate"), tc.challenge)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	a, _ := New(Options{Decider: MustRBAC(testPolicy())})
	ctx := principal.With(context.Background(), &principal.Principal{Subject: "a", Roles: []string{"reader"}})
	if err := a.Check(ctx, "notes:read"); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(ctx, "notes:write"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("err = %v", err)
	}
	if err := a.Check(context.Background(), "notes:read"); !errors.Is(err, principal.ErrNoCredentials) {
		t.Fatalf("anonymous err = %v", err)
	}
}

func TestCustomDecider(t *testing.T) {
	t.Parallel()
	var asked []string
	d := DeciderFunc(func(_ context.Context, p *principal.Principal, perm string) (bool, error) {
		asked = append(asked, p.Subject+" "+perm)
		switch perm {
		case "fail:now":
			return false, errors.New("engine down")
		case "notes:read":
			return true, nil
		}
		return false, nil
	})
	a, err := New(Options{Decider: d})
	if err != nil {
		t.Fatal(err)
	}
	p := &principal.Principal{Subject: "carol", Roles: []string{"reader"}}
	for _, tc := range []struct {
		perm   string
		status int
	}{{"notes:read", 200}, {"notes:write", 403}, {"fail:now", 503}} {
		w := httptest.NewRecorder()
		withPrincipal(p, a.Require(tc.perm)(ok)).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.perm, w.Code, tc.status)
		}
	}
	if len(asked) != 3 || asked[0] != "carol notes:read" {
		t.Fatalf("decider asked %v", asked)
	}
	// RequireRole falls back to the principal's own roles.
	w := httptest.NewRecorder()
	withPrincipal(p, a.RequireRole("reader")(ok)).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 200 {
		t.Fatalf("RequireRole with a custom decider: %d", w.Code)
	}
}

func TestNewAndBuildersRefuse(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("New without decider: %v", err)
	}
	if _, err := New(Options{Decider: MustRBAC(testPolicy()), Realm: "a\nb"}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("New with bad realm: %v", err)
	}
	a, _ := New(Options{Decider: MustRBAC(testPolicy())})
	for name, build := range map[string]func(){
		"Require()":          func() { a.Require() },
		"Require(malformed)": func() { a.Require("notes") },
		"RequireRole()":      func() { a.RequireRole() },
		"RequireScope()":     func() { a.RequireScope() },
		"RequireOwner(nil)":  func() { a.RequireOwner(nil) },
		"RequireOwner(bad)":  func() { a.RequireOwner(func(*http.Request) (Resource, error) { return Resource{}, nil }, "x") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("did not panic")
				}
			}()
			build()
		})
	}
}

func TestAuditDecisions(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	rd, err := errs.NewRenderer(errs.Options{AuditLogger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := New(Options{Decider: MustRBAC(testPolicy()), AuditAllowed: true})
	p := &principal.Principal{Subject: "alice", Roles: []string{"reader"}}
	load := func(*http.Request) (Resource, error) { return Resource{ID: "notes/7", Owner: "bob"}, nil }
	rd.Handler(withPrincipal(p, a.Require("notes:read")(ok))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rd.Handler(withPrincipal(p, a.RequireOwner(load, "notes:*")(ok))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rd.Handler(withPrincipal(p, a.RequireRole("admin")(ok))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rd.Handler(withPrincipal(p, a.RequireScope("notes:write")(ok))).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	var decisions []map[string]any
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] == "authz.decision" {
			decisions = append(decisions, m)
		}
	}
	// One record per decision: errs.Write adds none for the denials.
	if len(decisions) != 4 || len(lines) != 4 {
		t.Fatalf("decisions = %v, all audit lines: %s", decisions, buf.String())
	}
	if d := decisions[0]; d["subject"] != "alice" || d["permission"] != "notes:read" || d["outcome"] != "allowed" {
		t.Fatalf("allowed decision = %v", d)
	}
	if d := decisions[1]; d["outcome"] != "denied" || d["resource"] != "notes/7" {
		t.Fatalf("denied decision = %v", d)
	}
}

// TestAuditPerRenderer serves two apps in one process: each decision is
// audited to the audit logger of the renderer its request carries, and an
// app whose renderer has none audits nothing.
func TestAuditPerRenderer(t *testing.T) {
	t.Parallel()
	var bufA bytes.Buffer
	rdA, err := errs.NewRenderer(errs.Options{AuditLogger: slog.New(slog.NewJSONHandler(&bufA, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rdB, err := errs.NewRenderer(errs.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := New(Options{Decider: MustRBAC(testPolicy()), AuditAllowed: true})
	p := &principal.Principal{Subject: "alice", Roles: []string{"reader"}}
	appA := rdA.Handler(withPrincipal(p, a.Require("notes:read")(ok)))
	appB := rdB.Handler(withPrincipal(p, a.Require("notes:read")(ok)))
	for range 3 {
		appA.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		appB.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}
	if n := bytes.Count(bufA.Bytes(), []byte(`"authz.decision"`)); n != 3 {
		t.Fatalf("app A audited %d decisions, want 3: %s", n, bufA.String())
	}
}
