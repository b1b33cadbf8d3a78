package simulator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// forEachLine calls fn with each line of the file at path (1-based number,
// content without the trailing "\n" or "\r\n"). A final newline does not start
// an extra line. fn may return errStop to end early.
func forEachLine(path string, fn func(number int, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	if err := forEachReaderLine(f, fn); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// forEachReaderLine is forEachLine over a reader.
func forEachReaderLine(rd io.Reader, fn func(number int, line []byte) error) error {
	r := bufio.NewReaderSize(rd, 1<<20)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read line %d: %w", n, err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if ferr := fn(n, line); ferr != nil {
			if errors.Is(ferr, errStop) {
				return nil
			}
			return ferr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

var errStop = errors.New("stop")
