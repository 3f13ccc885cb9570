package depguard

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/edgeinfra/edgeinfra"

// allowed lists, per library package, the non-standard import path prefixes
// it may depend on besides the module's own library packages.
var allowed = map[string][]string{
	"node":      nil,
	"cache":     nil,
	"health":    nil,
	"statesync": nil,
	"metrics":   {"github.com/DataDog/sketches-go/"},
}

func TestLibraryDependsOnStandardLibraryOnly(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for pkg, extra := range allowed {
		t.Run(pkg, func(t *testing.T) {
			cmd := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/"+pkg)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if ok(dep, extra) {
					continue
				}
				t.Errorf("package %s depends on %s; the library packages may import only the standard library (see README, Dependencies)", pkg, dep)
			}
		})
	}
}

func ok(dep string, extra []string) bool {
	for lib := range allowed {
		if dep == module+"/"+lib || strings.HasPrefix(dep, module+"/"+lib+"/internal") {
			return true
		}
	}
	if strings.HasPrefix(dep, module+"/internal/") {
		// Shared internal helpers are fine as long as they obey the same rule,
		// which go list -deps already checked transitively.
		return true
	}
	for _, p := range extra {
		if strings.HasPrefix(dep, p) || dep == strings.TrimSuffix(p, "/") {
			return true
		}
	}
	return false
}
