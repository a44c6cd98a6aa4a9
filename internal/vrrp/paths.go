package vrrp

import "path/filepath"

// Paths locate one keepalived instance's files. All live in Dir, which the
// agent creates root-only (keepalived's script security refuses a notify
// script in a directory others can write).
type Paths struct {
	// Dir holds everything below.
	Dir string
	// Config is the live keepalived.conf.
	Config string
	// PidFile is the parent process's pid file (-p).
	PidFile string
	// VRRPPidFile is the VRRP child's pid file (-r).
	VRRPPidFile string
	// CheckersPidFile is the checker child's pid file (-c); no checker runs
	// (--vrrp), but keepalived must not fall back to the shared default.
	CheckersPidFile string
	// NotifyScript is the script keepalived runs to read its transitions
	// from NotifyFIFO (which keepalived creates).
	NotifyScript string
	NotifyFIFO   string
	// StateFile holds the last state the notify script recorded;
	// LeftFile() the state it went to when it last left MASTER.
	StateFile string
	// Log receives keepalived's console log (the previous run's is Log+".1").
	Log string
}

// DefaultPaths returns the agent's layout for a load balancer:
// <stateDir>/loadbalancer/<poolID>/keepalived/, beside the HAProxy files.
func DefaultPaths(stateDir, poolID string) Paths {
	return PathsIn(filepath.Join(stateDir, "loadbalancer", poolID, "keepalived"))
}

// PathsIn returns the standard file names inside dir.
func PathsIn(dir string) Paths {
	return Paths{
		Dir:             dir,
		Config:          filepath.Join(dir, "keepalived.conf"),
		PidFile:         filepath.Join(dir, "keepalived.pid"),
		VRRPPidFile:     filepath.Join(dir, "vrrp.pid"),
		CheckersPidFile: filepath.Join(dir, "checkers.pid"),
		NotifyScript:    filepath.Join(dir, "notify.sh"),
		NotifyFIFO:      filepath.Join(dir, "notify.fifo"),
		StateFile:       filepath.Join(dir, "state"),
		Log:             filepath.Join(dir, "keepalived.log"),
	}
}

// leftSuffix names the record of the last departure from MASTER, beside
// the state file.
const leftSuffix = ".left"

// LeftFile is where the notify script records the state a departure from
// MASTER went to.
func (p Paths) LeftFile() string { return p.StateFile + leftSuffix }

func (p Paths) pidFiles() []string { return []string{p.PidFile, p.VRRPPidFile, p.CheckersPidFile} }
