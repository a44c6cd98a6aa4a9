//go:build race

package probe

// The race runtime sleeps one second at exit (GORACE atexit_sleep_ms, which
// HAProxy's cleared environment cannot turn off), so the test binary used
// as the check command needs a longer check window.
const checkWindow = "3000ms"
