package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/covetgo/covet/errs"
)

// MaxPolicySize is the largest policy document ParsePolicy reads.
const MaxPolicySize = 1 << 20

// Policy is an RBAC configuration: role name → role. It is what a JSON
// policy file decodes to:
//
//	{"roles": {
//	  "reader": {"permissions": ["notes:read"]},
//	  "editor": {"inherits": ["reader"], "permissions": ["notes:write"]},
//	  "admin":  {"inherits": ["editor"], "permissions": ["notes:*", "users:*"]}
//	}}
type Policy struct {
	Roles map[string]Role `json:"roles"`
}

// Role grants permissions directly and through the roles it inherits.
type Role struct {
	Inherits    []string `json:"inherits,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// ParsePolicy decodes a JSON policy document from r: at most MaxPolicySize
// bytes, unknown fields and trailing data refused. It only decodes; NewRBAC
// validates the roles and permissions. (YAML is not read: convert it to JSON.)
func ParsePolicy(r io.Reader) (Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPolicySize+1))
	if err != nil {
		return Policy{}, errs.Configf("authz: reading policy: %v", err)
	}
	if len(data) > MaxPolicySize {
		return Policy{}, errs.Configf("authz: policy is larger than %d bytes", MaxPolicySize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, errs.Configf("authz: decoding policy: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Policy{}, errs.Configf("authz: policy has data after the JSON object")
	}
	if p.Roles == nil {
		return Policy{}, errs.Configf("authz: policy has no \"roles\" object")
	}
	return p, nil
}

// LoadPolicyFile reads and decodes a JSON policy file (see ParsePolicy).
func LoadPolicyFile(path string) (Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return Policy{}, errs.Configf("authz: opening policy: %v", err)
	}
	defer f.Close()
	return ParsePolicy(f)
}
