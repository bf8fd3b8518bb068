package main

import (
	"context"
	"errors"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/errs"
)

// User is a row of the users table.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	EmailKey     string    `json:"-" gorm:"column:email_key"` // canonicalEmail(Email)
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	Role         string    `json:"role"`
	TOTPSecret   string    `json:"-" gorm:"column:totp_secret"`
	TOTPEnabled  bool      `json:"totp_enabled" gorm:"column:totp_enabled"`
	TOTPLastStep int64     `json:"-" gorm:"column:totp_last_step"`
	CreatedAt    time.Time `json:"created_at"`
}

// Subject is the user's ID as a token subject.
func (u *User) Subject() string { return strconv.FormatInt(u.ID, 10) }

// Note is a row of the notes table.
type Note struct {
	ID        int64     `json:"id"`
	OwnerID   int64     `json:"owner_id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var (
	errEmailTaken = errs.New(errs.KindConflict, "email_taken", "An account with this email already exists.")
	errNoNote     = errs.New(errs.KindNotFound, "note_not_found", "There is no such note.")
	errNoUser     = errs.New(errs.KindNotFound, "user_not_found", "There is no such user.")
)

// store is the app's data access, on dbkit's GORM handle.
type store struct {
	db *dbkit.DB
}

// gorm returns the request's handle: the transaction the dbkit middleware
// opened, or the pool, bounded by ctx either way.
func (s *store) gorm(ctx context.Context) *gorm.DB {
	if tx := dbkit.From(ctx); tx != nil {
		return tx
	}
	return s.db.WithContext(ctx)
}

// mapErr turns a database error into its problem (404, 409, 422, 503, ...).
// A nil error stays a nil error interface, not a typed nil.
func (s *store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	return s.db.MapError(err)
}

// createUser inserts u with the role the caller set. There is no "first
// user becomes admin": on an empty database that is a race any visitor can
// win, so the admin is named by COVET_ADMIN_EMAIL instead.
func (s *store) createUser(ctx context.Context, u *User) error {
	u.CreatedAt = time.Now().UTC()
	err := s.gorm(ctx).Create(u).Error
	if err != nil {
		if e := dbkit.Classify(err); e != nil && e.Class == dbkit.ClassUnique {
			return errEmailTaken.WithCause(err)
		}
		return s.mapErr(err)
	}
	return nil
}

// userByEmail finds an account by its canonical email (canonicalEmail).
func (s *store) userByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.gorm(ctx).Where("email_key = ?", email).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.mapErr(err)
	}
	return &u, nil
}

func (s *store) userByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := s.gorm(ctx).Take(&u, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, s.mapErr(err)
	}
	return &u, nil
}

func (s *store) users(ctx context.Context, limit, offset int) ([]User, error) {
	var out []User
	if err := s.gorm(ctx).Order("id").Limit(limit).Offset(offset).Find(&out).Error; err != nil {
		return nil, s.mapErr(err)
	}
	return out, nil
}

// promote gives the account with this canonical email the admin role.
func (s *store) promote(ctx context.Context, key string) (int64, error) {
	res := s.db.WithContext(ctx).Model(&User{}).Where("email_key = ? AND role <> ?", key, "admin").Update("role", "admin")
	return res.RowsAffected, s.mapErr(res.Error)
}

func (s *store) setPasswordHash(ctx context.Context, id int64, hash string) error {
	return s.mapErr(s.gorm(ctx).Model(&User{}).Where("id = ?", id).Update("password_hash", hash).Error)
}

func (s *store) setTOTP(ctx context.Context, id int64, secret string, enabled bool) error {
	return s.mapErr(s.gorm(ctx).Model(&User{}).Where("id = ?", id).
		Updates(map[string]any{"totp_secret": secret, "totp_enabled": enabled}).Error)
}

// useTOTPStep records step as the user's last accepted one when it is later
// than the one stored: a compare-and-swap in one UPDATE, so two instances
// (or two requests) can never both accept the same code.
func (s *store) useTOTPStep(ctx context.Context, id, step int64) (bool, error) {
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ? AND totp_last_step < ?", id, step).Update("totp_last_step", step)
	if res.Error != nil {
		return false, s.mapErr(res.Error)
	}
	return res.RowsAffected == 1, nil
}

func (s *store) notes(ctx context.Context, owner int64, order clause.OrderBy, limit, offset int) ([]Note, error) {
	out := []Note{}
	q := s.gorm(ctx).Where("owner_id = ?", owner).Clauses(order).Limit(limit).Offset(offset)
	if err := q.Find(&out).Error; err != nil {
		return nil, s.mapErr(err)
	}
	return out, nil
}

func (s *store) note(ctx context.Context, id int64) (*Note, error) {
	var n Note
	err := s.gorm(ctx).Take(&n, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoNote
	}
	if err != nil {
		return nil, s.mapErr(err)
	}
	return &n, nil
}

func (s *store) createNote(ctx context.Context, n *Note) error {
	now := time.Now().UTC()
	n.CreatedAt, n.UpdatedAt = now, now
	return s.mapErr(s.gorm(ctx).Create(n).Error)
}

func (s *store) updateNote(ctx context.Context, n *Note) error {
	n.UpdatedAt = time.Now().UTC()
	return s.mapErr(s.gorm(ctx).Model(n).Updates(map[string]any{"title": n.Title, "body": n.Body, "updated_at": n.UpdatedAt}).Error)
}

func (s *store) deleteNote(ctx context.Context, id int64) error {
	return s.mapErr(s.gorm(ctx).Delete(&Note{}, id).Error)
}
