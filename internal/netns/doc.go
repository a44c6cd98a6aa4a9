// Package netns builds the agent's data plane on one machine: named network
// namespaces compatible with `ip netns`, running code and processes inside
// them, a local network fabric of Linux bridges joined by veth pairs, and
// floating-IP NAT in a router namespace.
//
// Everything here talks to the kernel through netlink (vishvananda/netlink,
// google/nftables) instead of shelling out, and every operation is
// idempotent so that a level-triggered reconciler can call it on every pass.
// All functions need root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
package netns
