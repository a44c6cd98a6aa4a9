package model

import "time"

// Kinds of the built-in identity service (package identity): Keystone's
// users, projects, roles and their assignments, tokens and application
// credentials. Identity objects belong to no tenant (TenantID is empty):
// the APIs never list them; only the identity endpoint does, by its own
// rules.
const (
	KindProject    Kind = "identity_project"
	KindUser       Kind = "identity_user"
	KindRole       Kind = "identity_role"
	KindAssignment Kind = "identity_assignment"
	KindToken      Kind = "identity_token"
	KindAppCred    Kind = "identity_appcred"
)

// DefaultDomainID is the one domain: Keystone's "default".
const DefaultDomainID = "default"

// Project is a Keystone project, the owner of load balancers.
type Project struct {
	Meta
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
}

// User is a Keystone user. PasswordHash is a bcrypt hash; the password
// itself is never stored.
type User struct {
	Meta
	Name             string `json:"name"`
	Enabled          bool   `json:"enabled"`
	PasswordHash     string `json:"password_hash,omitempty"`
	DefaultProjectID string `json:"default_project_id,omitempty"`
}

// Role is a role name with Keystone's id for it.
type Role struct {
	Meta
	Name string `json:"name"`
}

// Assignment grants a user a role on a project. Its id is derived from the
// three (AssignmentID), so that granting twice is one object.
type Assignment struct {
	Meta
	UserID    string `json:"user_id"`
	ProjectID string `json:"project_id"`
	RoleID    string `json:"role_id"`
}

// AssignmentID is the id of the assignment of role to user on project.
func AssignmentID(userID, projectID, roleID string) string {
	return userID + "." + projectID + "." + roleID
}

// Token is an issued token, stored under the hex SHA-256 of the token (the
// token itself is never stored): a server that did not issue it can
// validate it, and a stolen store holds no usable token. Roles are the
// names at issue time, implied roles included, as Keystone's fernet token
// validation would answer within the token's life.
type Token struct {
	Meta
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id,omitempty"`
	Roles     []string  `json:"roles,omitempty"`
	Methods   []string  `json:"methods"`
	AuditID   string    `json:"audit_id"`
	ExpiresAt time.Time `json:"expires_at"`
	// AppCredID is set for a token issued to an application credential:
	// deleting the credential revokes its tokens.
	AppCredID string `json:"app_cred_id,omitempty"`
}

// AppCred is an application credential: a secret (stored as a bcrypt hash)
// that logs in as its user on one project with a fixed set of roles.
type AppCred struct {
	Meta
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	UserID      string     `json:"user_id"`
	ProjectID   string     `json:"project_id"`
	RoleIDs     []string   `json:"role_ids"`
	SecretHash  string     `json:"secret_hash"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}
