package model

import "errors"

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

// NotFoundError is answered with 404.
type NotFoundError struct {
	Type    string
	Message string
}

func (e *NotFoundError) Error() string { return e.Message }

// ConflictError is answered with 409.
type ConflictError struct {
	Type    string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// ForbiddenError is answered with 403: the object exists but belongs to
// another project (Octavia's convention; Neutron answers 404 instead).
type ForbiddenError struct {
	Message string
}

func (e *ForbiddenError) Error() string { return e.Message }
