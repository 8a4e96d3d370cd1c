package promote

import (
	"errors"
	"io/fs"
	"testing"
)

func TestUsageErrorNamesOptions(t *testing.T) {
	err := Publish{DryRun: true, NoPush: true}.validate()
	var usage *UsageError
	if !errors.As(err, &usage) {
		t.Fatalf("validate = %v, want a *UsageError", err)
	}
	if got, want := err.Error(), "DryRun and NoPush exclude each other"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	flag := func(o Option) string { return "<" + string(o) + ">" }
	if got, want := usage.Describe(flag), "<DryRun> and <NoPush> exclude each other"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}

	wrapped := usageError("%s: %w", OptMessage, fs.ErrNotExist)
	if !errors.Is(wrapped, fs.ErrNotExist) {
		t.Error("a UsageError does not unwrap to its cause")
	}
	if got, want := wrapped.Describe(flag), "<Message>: file does not exist"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}
