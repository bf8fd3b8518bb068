package main

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authz"
	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/validate"
)

type noteBody struct {
	Title string `json:"title" validate:"required,min=1,max=200"`
	Body  string `json:"body" validate:"max=65536"`
}

// Pointers tell "absent" (the default applies) from "limit=0" (refused).
type notesQuery struct {
	Limit  *int   `query:"limit" validate:"omitempty,min=1,max=100"`
	Offset *int   `query:"offset" validate:"omitempty,min=0,max=1000000"`
	Sort   string `query:"sort" validate:"omitempty,oneof=created_at -created_at title -title"`
}

type pageQuery struct {
	Limit  *int `query:"limit" validate:"omitempty,min=1,max=100"`
	Offset *int `query:"offset" validate:"omitempty,min=0,max=1000000"`
}

// page returns the limit and offset, with def as the default limit.
func page(limit, offset *int, def int) (int, int) {
	l, o := def, 0
	if limit != nil {
		l = *limit
	}
	if offset != nil {
		o = *offset
	}
	return l, o
}

func (a *app) listNotes(w http.ResponseWriter, r *http.Request) error {
	q, err := a.notesQuery.Bind(r)
	if err != nil {
		return err
	}
	limit, offset := page(q.Limit, q.Offset, 20)
	if q.Sort == "" {
		q.Sort = "-created_at"
	}
	order, err := a.sortBy.OrderBy(q.Sort)
	if err != nil {
		return err
	}
	owner, _ := strconv.ParseInt(authn.SubjectFrom(r.Context()), 10, 64)
	notes, err := a.store.notes(r.Context(), owner, dbkit.OrderBy(order), limit, offset)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": notes, "limit": limit, "offset": offset, "sort": q.Sort})
}

func (a *app) createNote(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[noteBody](a.validator, w, r)
	if err != nil {
		return err
	}
	body, err := a.html.Sanitize(in.Body)
	if err != nil {
		return err
	}
	owner, _ := strconv.ParseInt(authn.SubjectFrom(r.Context()), 10, 64)
	n := &Note{OwnerID: owner, Title: in.Title, Body: body}
	if err := a.store.createNote(r.Context(), n); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/notes/"+strconv.FormatInt(n.ID, 10))
	return writeJSON(w, http.StatusCreated, n)
}

// loadNote is the ownership loader: the note the route addresses and its
// owner. A malformed or unknown ID is a 404 either way.
func (a *app) loadNote(r *http.Request) (authz.Resource, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return authz.Resource{}, errNoNote
	}
	n, err := a.store.note(r.Context(), id)
	if err != nil {
		return authz.Resource{}, err
	}
	return authz.Resource{ID: "notes/" + strconv.FormatInt(id, 10), Owner: strconv.FormatInt(n.OwnerID, 10), Value: n}, nil
}

func noteOf(r *http.Request) *Note {
	res, _ := authz.ResourceFrom(r.Context())
	return res.Value.(*Note)
}

func (a *app) getNote(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, noteOf(r))
}

func (a *app) updateNote(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[noteBody](a.validator, w, r)
	if err != nil {
		return err
	}
	body, err := a.html.Sanitize(in.Body)
	if err != nil {
		return err
	}
	n := noteOf(r)
	n.Title, n.Body = in.Title, body
	if err := a.store.updateNote(r.Context(), n); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (a *app) deleteNote(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.deleteNote(r.Context(), noteOf(r).ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *app) adminUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := a.pageQuery.Bind(r)
	if err != nil {
		return err
	}
	limit, offset := page(q.Limit, q.Offset, 50)
	users, err := a.store.users(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": users, "limit": limit, "offset": offset})
}
