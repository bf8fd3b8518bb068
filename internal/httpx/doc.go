// Package httpx is the HTTP plumbing several stages share: the one
// ResponseWriter wrapper, the RFC 9110 token check, the origin parser.
//
// It is internal so that the stages can change it together; users of the
// module meet its Writer only through the stages that hand it to their
// handlers.
package httpx
