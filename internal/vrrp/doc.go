// Package vrrp moves a load balancer's VIP between its two VMs with
// keepalived (VRRPv3, unicast), so that failover needs neither the controller
// nor the agent.
//
// # What triggers a switch, and how fast
//
// Both VMs run keepalived with state BACKUP and nopreempt; the active VM has
// priority 254, the standby 253 (PriorityActive, PriorityStandby: the
// smallest skew), so the active wins the first election. The standby takes
// the VIP when:
//
//   - the active stops advertising (node, namespace or keepalived dead):
//     after the master-down interval, 3 adverts plus skew (the failover
//     benchmark, bench/REPORT-failover.md, measures each trigger);
//   - the active's HAProxy dies: vrrp_track_process matches HAProxy's full
//     command line (unique per instance through its -p/-S/-f paths) and is
//     told by the kernel's process-events connector within milliseconds;
//     the active goes to FAULT, drops the VIP and sends a priority-0 advert,
//     so the standby takes over after its skew time only;
//   - vip0 goes away or down, or loses the VM's own address (track_src_ip):
//     FAULT, and a resignation as above;
//   - optionally the agent writes a non-zero number into Config.TrackFile
//     (for an HAProxy that hangs without dying; the agent's probe speed).
//
// keepalived 2.2.7 accepts a fractional advert_int with VRRPv3 (centisecond
// field) but only whole-second vrrp_script intervals, hence process tracking
// rather than a script. The new MASTER sends its gratuitous ARPs at once
// (vrrp_garp_master_delay 0: no delayed second set by default).
//
// # Why nopreempt
//
// A returning former active (reboot, restarted keepalived, HAProxy back)
// would otherwise take the VIP back and cause a second interruption for no
// gain. With nopreempt it stays BACKUP until the current MASTER fails.
// Priorities still break ties when both start together.
//
// # Processes and files
//
// Manager starts "keepalived -n -P -l -G -D -s <namespace> -f -p -r -c" (see
// Manager.Args) from the host network namespace in a new session:
// keepalived opens the process-events connector, which exists only in the
// initial network namespace, and then enters the VM's namespace itself
// through /run/netns/<name> (where netns.Ensure puts it). -n keeps it in the
// foreground of its own session so its console log reaches the instance's
// log file (there is no syslog); it still outlives the agent. Every instance
// has its own pid files: keepalived refuses to start while any of its pid
// files names a live process, so before a start Manager removes every pid
// file that does not name a live keepalived of ours (/proc/<pid>/cmdline
// with our -f and -p), and stops an orphaned VRRP child of a killed parent.
// A fresh Manager adopts a running instance from the pid file; a changed
// configuration is checked with "keepalived -t" and applied with SIGHUP;
// Stop sends SIGTERM to our pid only.
//
// State comes from a notify script (bash: it records each state keepalived
// enters with the time, and each departure from MASTER, atomically in
// Paths.StateFile and Paths.LeftFile(); Recorded reads them) and, as
// ground truth for traffic, from whether the VIP is on the interface.
//
// # Known limit: split brain
//
// If the two VMs lose sight of each other while both stay up (a partition of
// the VIP network between them only), both become MASTER and both answer ARP
// for the VIP; neighbours follow whichever GARP they saw last. When the
// partition heals the lower priority drops back (higher_prio_send_advert
// and lower-priority GARPs make neighbours follow the winner). Mechanisms
// that could prevent it, not implemented:
//
//   - a second heartbeat path over the pool network: a small checker on the
//     standby writes the track file so it stays in FAULT while the active is
//     provably alive over that path (only a failure of both paths elects);
//   - a quorum witness (the agent or a third node) consulted before taking
//     over, accepting slower failover when the witness is unreachable;
//   - fencing: the new MASTER asks the fabric to cut the old active's port.
package vrrp
