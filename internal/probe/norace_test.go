//go:build !race

package probe

// checkWindow is both "inter" and "timeout connect" of the HAProxy test:
// HAProxy kills an external check after min(inter, timeout connect).
const checkWindow = "1500ms"
