package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// deriveKey derives a 32-byte key for one purpose from the app secret, so
// one COVET_SECRET_KEY serves sessions, signing and encryption without any
// two of them sharing key material, and every instance derives the same keys.
func deriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, []byte("covet-fullstack"), purpose, 32)
	if err != nil {
		panic(err) // only for lengths over 255*32
	}
	return k
}

// sealer encrypts small secrets at rest (TOTP secrets) with AES-256-GCM.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// seal returns base64(nonce || ciphertext), bound to the row it belongs to.
func (s *sealer) seal(plaintext, binding string) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(binding)))
}

func (s *sealer) open(sealed, binding string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("sealed value is malformed")
	}
	out, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(binding))
	if err != nil {
		return "", errors.New("sealed value does not open")
	}
	return string(out), nil
}
