package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

// readOnlyEnv names the directory the child runs readOnlyScenario in.
const readOnlyEnv = "FILESTORE_TEST_READONLY"

// nobody is the unprivileged user the scenario runs as when the tests run
// as root (for whom directory permissions are not enforced).
const nobody = 65534

// readOnlyScenario runs in dir, which it owns: a store saves, its
// directory turns read-only, saves fail and change nothing, the directory
// turns writable again and saves work; and a store cannot be opened in a
// read-only directory.
func readOnlyScenario(dir string) error {
	path := filepath.Join(dir, "state.json")
	st, err := Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Save(context.Background(), breaker.Record{Name: "orders", State: breaker.ForcedOpen, Manual: true}); err != nil {
		return fmt.Errorf("first save: %w", err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		return err
	}
	defer os.Chmod(dir, 0o755)
	_, err = st.Save(context.Background(), breaker.Record{Name: "payments", State: breaker.Open, Remaining: time.Minute})
	if !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("save into a read-only directory: %v, want a permission error", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		return fmt.Errorf("the file changed: %s", after)
	}
	recs, err := st.Load(context.Background())
	if err != nil || len(recs) != 1 || recs[0].Name != "orders" {
		return fmt.Errorf("after a failed save the store holds %+v (%v), want only orders", recs, err)
	}
	if other, err := Open(filepath.Join(dir, "other.json")); err == nil {
		other.Close()
		return errors.New("Open in a read-only directory succeeded")
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if _, err := st.Save(context.Background(), breaker.Record{Name: "payments", State: breaker.Open, Remaining: time.Minute}); err != nil {
		return fmt.Errorf("save after the directory is writable again: %w", err)
	}
	return nil
}

func TestReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		if err := readOnlyScenario(t.TempDir()); err != nil {
			t.Fatal(err)
		}
		return
	}
	// As root, permissions are not enforced: run the scenario in a child
	// process as nobody, from a copy of this test binary nobody may run.
	top, err := os.MkdirTemp("", "filestore-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(top)
	bin := filepath.Join(top, "filestore.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), readOnlyEnv+"="+dir)
	cmd.Dir = top
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if strings.TrimSpace(string(out)) != "PASS" || err != nil {
		t.Fatalf("the scenario as nobody: %v\n%s", err, out)
	}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
