// Package probe implements health probes that HAProxy cannot do by itself,
// starting with PING as a real ICMP echo (not a TCP connect): Ping for Go
// callers and RunPingCheck as an HAProxy "external-check command".
package probe
