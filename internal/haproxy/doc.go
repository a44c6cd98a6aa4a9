// Package haproxy renders, validates and supervises the HAProxy instance that
// serves one load balancer inside a network namespace: one process serves every
// listener of the load balancer, with a frontend per listener
// ("fe-<listener-id>") and a backend per pool ("be-<pool-id>"). A listener
// sends its traffic to its default pool, or, without one, answers 503 (http) or
// closes the connection (tcp). Pools may be shared by listeners of one mode.
//
// # Configuration
//
// A Spec holds only typed, validated values (netip.Addr, ints, enum constants,
// UUIDs). Render turns it into haproxy.cfg deterministically, and still refuses
// any string that could break the configuration grammar (whitespace, quotes,
// '#', '$', backslash, control characters), so no user text can add a line.
//
// # Slot model
//
// Servers are named by slot ("s001", "s002", ...), never by member id. Slots
// are per pool: each backend always has Pool.Slots servers: occupied slots
// carry a member, free slots are placeholders (0.0.0.0:1, disabled =
// maintenance) with the same check settings. AssignSlots keeps members in their
// previous slots and puts new ones in the lowest free slot, so a member add,
// remove, weight, address or admin change is a change to one slot that the
// runtime API can make without a reload. When the slots run out the count grows
// to the next multiple of SlotStep, which is a structural change. A few server
// keywords have no runtime command (backup, and a monitor address or port,
// which cannot be cleared once set): a slot gaining or losing one is a reload.
// Manager records the applied Spec (with each member's slot) in Paths.StateFile
// beside the configuration; LoadState reads it back after an agent restart.
//
// # Runtime versus reload
//
// Plan compares the applied Spec with the desired one. If they differ only in
// slot contents (members and pool admin state), it returns runtime API commands
// ("set server be/sNNN addr|state", "set weight") for the backends that
// changed. Everything else — a listener or pool added, removed or changed
// (address, port, protocol, TLS, timeouts, default pool, method, persistence,
// monitor), slot count, backup flags, monitor addresses, global settings —
// needs a reload, which carries each backend's member health over.
// Manager.Apply does the whole cycle: render, "haproxy -c" on a candidate file,
// atomic swap keeping haproxy.cfg.last-good, then start, runtime commands
// (falling back to a reload if HAProxy refuses one) or a hitless reload through
// the master CLI.
//
// # Processes
//
// HAProxy runs as a daemonised master-worker ("-W -D -p pidfile -S master.sock"),
// so it survives the agent. Manager keeps no state of its own: it finds an
// instance through the pid file, checks /proc/<pid>/cmdline for our -f and -p
// arguments before trusting or signalling the pid, and checks both sockets
// answer; a new Manager therefore adopts running instances without restarting
// them.
package haproxy
