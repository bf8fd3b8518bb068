package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/ratelimit"
)

// canonicalEmail is the one form of an email address the app checks
// uniqueness, looks up and limits logins by (the users.email_key column):
// surrounding white space removed, compatibility forms folded (a full-width
// letter is its ASCII twin, a precomposed accent and a combining one are the
// same letter), lower case. Accents are kept: "josé@x" and "jose@x" are
// different mailboxes, and folding them together would let one claim the
// other's account (or the admin address). Every database compares the key
// byte for byte (the MySQL column is utf8mb4_bin), so SQLite, PostgreSQL and
// MariaDB agree on what one account is, and so does the login limiter:
// "José@x", "jose\u0301@x" and "josé@x " are one account and one budget
// everywhere. (MariaDB's default collation made some of these one account
// while the limiter saw several; PostgreSQL made them several.)
func canonicalEmail(s string) string {
	return norm.NFC.String(strings.ToLower(norm.NFKC.String(strings.TrimSpace(s))))
}

// displayEmail is the address as stored and shown: trimmed, NFC, lower
// case, accents kept.
func displayEmail(s string) string {
	return norm.NFC.String(strings.ToLower(strings.TrimSpace(s)))
}

// Login throttling, after OWASP ASVS 5.0 V6.3 (anti-automation without
// malicious lockout). Only failures are counted: a user who logs in
// correctly spends nothing. Two budgets, both keyed by the canonical
// account (canonicalEmail):
//
//   - per client and account (clientip.Prefix: the address, or its /64):
//     10 failures per 15 minutes. This stops one attacker guessing one
//     account, and touches nobody else.
//   - per account, from anywhere: 100 failures per hour. This caps a
//     distributed guess. One client cannot reach it (its own budget stops
//     it at 40 an hour), so an attacker alone cannot lock the owner out;
//     the owner, from their own address, keeps their own budget.
//
// A login is refused while either budget is spent. The check and the count
// are two steps, so concurrent failures may overshoot a budget by the
// number of requests in flight; that is the price of not charging
// successes.
var (
	loginPerClient  = ratelimit.Policy{Name: "client_account", Algorithm: ratelimit.SlidingWindow, Limit: 10, Period: 15 * time.Minute}
	loginPerAccount = ratelimit.Policy{Name: "account", Algorithm: ratelimit.SlidingWindow, Limit: 100, Period: time.Hour}
)

// loginKeys returns the per-client and per-account budget keys.
func loginKeys(r *http.Request, account string) (client, acct string) {
	return clientip.Prefix(clientip.FromRequest(r)).String() + "|" + account, account
}

// loginBlocked reports whether either budget of the account is spent,
// with the Retry-After value.
func (a *app) loginBlocked(ctx context.Context, r *http.Request, account string) (string, bool, error) {
	ck, ak := loginKeys(r, account)
	for _, c := range []struct {
		l   *ratelimit.Limiter
		key string
	}{{a.loginClientLimit, ck}, {a.loginLimit, ak}} {
		res, err := c.l.Allow(ctx, c.key, 0)
		if err != nil {
			return "", false, err
		}
		if res.Remaining < 1 {
			return strconv.Itoa(int(res.ResetAfter.Seconds() + 0.999)), true, nil
		}
	}
	return "", false, nil
}

// loginFailed charges one failure to both budgets of the account.
func (a *app) loginFailed(ctx context.Context, r *http.Request, account string) {
	ck, ak := loginKeys(r, account)
	_, _ = a.loginClientLimit.Allow(ctx, ck, 1)
	_, _ = a.loginLimit.Allow(ctx, ak, 1)
}

// bootstrapAdmin gives COVET_ADMIN_EMAIL's account the admin role at
// start, when it already exists (a new one gets it when it registers).
func (a *app) bootstrapAdmin(ctx context.Context) error {
	if a.cfg.AdminEmail == "" {
		return nil
	}
	n, err := a.store.promote(ctx, a.cfg.AdminEmail)
	if err == nil && n > 0 {
		a.log.Info("admin role given to COVET_ADMIN_EMAIL's account")
	}
	return err
}
