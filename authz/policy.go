package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/covetgo/covet/errs"
)

// MaxPolicySize is the largest policy document ParsePolicy reads.
const MaxPolicySize = 1 << 20

// Policy is an RBAC configuration: role name → role. It is what a JSON
// or YAML policy file decodes to:
//
//	{"roles": {
//	  "reader": {"permissions": ["notes:read"]},
//	  "editor": {"inherits": ["reader"], "permissions": ["notes:write"]},
//	  "admin":  {"inherits": ["editor"], "permissions": ["notes:*", "users:*"]}
//	}}
//
// or
//
//	roles:
//	  reader: {permissions: ["notes:read"]}
//	  editor:
//	    inherits: [reader]
//	    permissions: ["notes:write"]
type Policy struct {
	Roles map[string]Role `json:"roles" yaml:"roles"`
}

// Role grants permissions directly and through the roles it inherits.
type Role struct {
	Inherits    []string `json:"inherits,omitempty" yaml:"inherits,omitempty"`
	Permissions []string `json:"permissions,omitempty" yaml:"permissions,omitempty"`
}

// ParsePolicy decodes a JSON policy document from r: at most MaxPolicySize
// bytes, unknown fields and trailing data refused. It only decodes; NewRBAC
// validates the roles and permissions.
func ParsePolicy(r io.Reader) (Policy, error) {
	data, err := readPolicy(r)
	if err != nil {
		return Policy{}, err
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
	return checkDecoded(p)
}

// ParsePolicyYAML decodes a YAML policy document from r, with the same
// limits as ParsePolicy: at most MaxPolicySize bytes, one document, unknown
// fields and repeated keys refused. Aliases that would expand the document
// far beyond its size are refused by the decoder.
func ParsePolicyYAML(r io.Reader) (Policy, error) {
	data, err := readPolicy(r)
	if err != nil {
		return Policy{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return Policy{}, errs.Configf("authz: policy is empty")
		}
		return Policy{}, errs.Configf("authz: decoding policy: %v", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return Policy{}, errs.Configf("authz: policy has more than one YAML document")
	}
	return checkDecoded(p)
}

func readPolicy(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPolicySize+1))
	if err != nil {
		return nil, errs.Configf("authz: reading policy: %v", err)
	}
	if len(data) > MaxPolicySize {
		return nil, errs.Configf("authz: policy is larger than %d bytes", MaxPolicySize)
	}
	return data, nil
}

func checkDecoded(p Policy) (Policy, error) {
	if p.Roles == nil {
		return Policy{}, errs.Configf("authz: policy has no \"roles\" object")
	}
	return p, nil
}

// LoadPolicyFile reads and decodes a policy file: YAML when its name ends
// in .yaml or .yml (see ParsePolicyYAML), JSON otherwise (see ParsePolicy).
func LoadPolicyFile(path string) (Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return Policy{}, errs.Configf("authz: opening policy: %v", err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return ParsePolicyYAML(f)
	}
	return ParsePolicy(f)
}
