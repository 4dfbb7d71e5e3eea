//go:build !unix

package engine

import (
	"errors"
	"os"
)

// tryLock creates path exclusively. Without flock, a lock file that a crashed command left behind stays until
// it is deleted by hand; the DirLockedError names the file and its holder.
func tryLock(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}

func unlock(path string, f *os.File) error {
	err := f.Close()
	if rerr := os.Remove(path); err == nil {
		err = rerr
	}
	return err
}
