// Package principal holds who is calling: the [Principal] an authentication
// stage found, how it was found ([Method]), the verified token [Claims] it
// came from, and typed accessors that carry it in a request context
// ([With], [From], [SubjectFrom]).
//
// It is deliberately small so that a package which only reads the caller,
// such as authz or a handler, imports it without the authenticators,
// verifiers and stores of authn. The answer to a caller that is not
// identified lives here too: [ErrNoCredentials] and [BearerChallenge].
package principal
