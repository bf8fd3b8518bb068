// Package password hashes and checks passwords: Argon2id with OWASP
// parameters in PHC strings for new hashes, bcrypt verification (with a
// bounded stored cost) for legacy ones, and [Hasher.NeedsRehash] to move
// accounts forward at their next login.
//
// A [Hasher] refuses passwords over [MaxSize] before any hashing, bounds
// how many hashes run at once and how many wait ([ErrBusy], 503, beyond
// that), and gives every account kind the same answer time: verify an
// unknown account against "" and it costs what a real one does.
package password
