// Package oidcbrowser holds a browser test of the OIDC login's return
// paths: every Location that authn's OIDC Callback answers with for the
// redirect corpus (pinned by authn's TestOIDCReturnLocations) is followed by
// headless Chromium, which must stay on the application's origin. It lives
// in the examples module so the root module does not carry a browser driver.
package oidcbrowser
