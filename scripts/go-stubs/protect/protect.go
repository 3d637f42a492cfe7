// Package protect stands in for suah.dev/protect, which the Go module proxy reachable here
// refuses. That module wraps OpenBSD's pledge(2) and unveil(2) and does nothing on other
// systems; this stand-in does nothing everywhere, so a Linux build behaves the same.
// Used only by scripts/build-vpns.sh for yggdrasil (vpn-configs/versions.toml, go_replace).
package protect

// Pledge would restrict the process to the given promises on OpenBSD; a no-op here.
func Pledge(promises string) error { return nil }

// Unveil would restrict file system access on OpenBSD; a no-op here.
func Unveil(path string, permissions string) error { return nil }

// UnveilBlock would forbid further Unveil calls on OpenBSD; a no-op here.
func UnveilBlock() error { return nil }
