package haproxy

import (
	"encoding/json"
	"fmt"
	"os"

	"lbaas/internal/proc"
)

// LoadState returns the Spec last applied by Manager.Apply for these paths
// (read from Paths.StateFile). Its members carry their slots: SlotMap of them is
// the previous assignment to feed AssignSlots after an agent restart.
func LoadState(paths Paths) (Spec, error) {
	b, err := os.ReadFile(paths.StateFile())
	if err != nil {
		return Spec{}, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return Spec{}, fmt.Errorf("state file %s: %w", paths.StateFile(), err)
	}
	return s, nil
}

func marshalState(s Spec) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	return proc.WriteFileAtomic(path, data, perm)
}
